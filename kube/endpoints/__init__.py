"""HTTP surface of the Kubernetes API: DRF views for requests, a Channels consumer for watches."""
