"""A client for HAProxy's runtime API (the `stats socket`, level admin): one connection in
interactive mode (`prompt`), one command at a time, each answer read up to the next prompt.

Only what the route syncer needs: look up, add, set, delete one map entry, and replace a whole map atomically
(`prepare map`, `add map @<version>` with payloads, `commit map @<version>`). A payload travels
in one buffer of HAProxy's (tune.bufsize, 16 KiB by default), so a replacement is sent in chunks
of at most `PAYLOAD_BYTES`. Keys and values must not contain whitespace or `;` (the command line
is split on both): frontproxy.routes admits only such entries.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

from .routes import map_line

PROMPT = b"\n> "
#: Well below HAProxy's default 16 KiB buffer, which must hold the command and its payload.
PAYLOAD_BYTES = 8192


class RuntimeAPIError(OSError):
    """HAProxy refused a command, or its socket failed (gone, closed, timed out)."""


class RuntimeAPI:
    """One interactive connection to HAProxy's runtime API at `path`. Not thread-safe."""

    def __init__(self, path: Path, *, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def __enter__(self) -> RuntimeAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
                self._sock = sock
                self._exchange(b"prompt\n")
            except OSError as e:
                self.close()
                sock.close()
                raise RuntimeAPIError(f"HAProxy runtime API at {self.path}: {e}") from e
        return self._sock

    def _exchange(self, data: bytes) -> str:
        assert self._sock is not None
        try:
            self._sock.sendall(data)
            answer = b""
            while not answer.endswith(PROMPT):
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise RuntimeAPIError("HAProxy closed the runtime API connection")
                answer += chunk
        except OSError as e:
            self.close()
            raise RuntimeAPIError(f"HAProxy runtime API at {self.path}: {e}") from e
        return answer[: -len(PROMPT)].decode(errors="replace")

    def command(self, line: str, payload: str | None = None) -> str:
        """Run one command (with an optional payload of non-empty lines); its answer, stripped."""
        self._connect()
        if payload is None:
            return self._exchange(line.encode() + b"\n").strip()
        answer = self._exchange(f"{line} <<\n{payload}\n\n".encode())  # an empty line ends it
        # Each payload line is acknowledged with a continuation prompt ("+ ").
        return answer.replace("+ ", "").strip()

    # ---- maps --------------------------------------------------------------------------------
    def map_set(self, map_file: Path, key: str, value: str) -> None:
        """Point `key` at `value`, adding the entry when it is missing (never a duplicate)."""
        answer = self.command(f"set map {map_file} {key} {value}")
        if answer.lower().startswith("entry not found"):
            answer = self.command(f"add map {map_file} {key} {value}")
        if answer:
            raise RuntimeAPIError(f"set map {key}: {answer}")

    def map_add(self, map_file: Path, key: str, value: str) -> None:
        """Add an entry without looking for an existing one (constant time: the caller knows the key
        is absent, or a duplicate does not matter)."""
        answer = self.command(f"add map {map_file} {key} {value}")
        if answer:
            raise RuntimeAPIError(f"add map {key}: {answer}")

    def map_upsert(self, map_file: Path, key: str, value: str) -> None:
        """Point `key` at `value` in logarithmic time unless its value changes: a lookup, then an
        add when missing. HAProxy 2.6's `set map` and `del map` walk the whole map (about 55 ms
        at a million entries), so a changed value is the one slow case."""
        current = self.map_get(map_file, key)
        if current is None:
            self.map_add(map_file, key, value)
        elif current != value:
            self.map_set(map_file, key, value)

    def map_clear(self, map_file: Path) -> None:
        answer = self.command(f"clear map {map_file}")
        if answer:
            raise RuntimeAPIError(f"clear map: {answer}")

    def map_del(self, map_file: Path, key: str) -> None:
        answer = self.command(f"del map {map_file} {key}")
        if answer and not answer.lower().startswith("key not found"):
            raise RuntimeAPIError(f"del map {key}: {answer}")

    def map_get(self, map_file: Path, key: str) -> str | None:
        """The value `key` maps to now, or None (an exact lookup, as the frontend does)."""
        answer = self.command(f"get map {map_file} {key}")
        if "found=yes" not in answer:
            return None
        return answer.rsplit('value="', 1)[1].split('"', 1)[0]

    def map_replace(self, map_file: Path, entries: Iterable[tuple[str, str]]) -> int:
        """Replace the whole map atomically with `entries`; return how many were sent. Requests see
        the old map until the commit, then the new one; established connections are untouched."""
        answer = self.command(f"prepare map {map_file}")
        if not answer.startswith("New version created:"):
            raise RuntimeAPIError(f"prepare map: {answer}")
        version = answer.split(":", 1)[1].strip()
        count, size = 0, 0
        chunk: list[str] = []
        for key, value in entries:
            line = map_line(key, value)
            if size + len(line) > PAYLOAD_BYTES and chunk:
                self._add_payload(map_file, version, chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
            count += 1
        if chunk:
            self._add_payload(map_file, version, chunk)
        answer = self.command(f"commit map @{version} {map_file}")
        if answer:
            raise RuntimeAPIError(f"commit map @{version}: {answer}")
        return count

    def _add_payload(self, map_file: Path, version: str, lines: list[str]) -> None:
        answer = self.command(f"add map @{version} {map_file}", "".join(lines).rstrip("\n"))
        if answer:
            raise RuntimeAPIError(f"add map @{version}: {answer}")
