"""Developer tools run by hand (and by the tests that keep their outputs current); never imported by the server."""
