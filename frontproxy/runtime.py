"""A client for HAProxy's runtime API (the `stats socket`, level admin): one connection in
interactive mode (`prompt`), one command at a time, each answer read up to the next prompt.

Only what the route syncer needs: look up, add, set, delete one map entry, and replace a whole map atomically
(`prepare map`, `add map @<version>` with payloads, `commit map @<version>`); which worker answers
(`show info`); and a reload through the master CLI (master-worker mode). A payload travels
in one buffer of HAProxy's (tune.bufsize, 16 KiB by default), so a replacement is sent in chunks
of at most `PAYLOAD_BYTES`. Keys and values must not contain whitespace or `;` (the command line
is split on both): frontproxy.routes admits only such entries.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .routes import map_line

PROMPT = b"\n> "
#: Well below HAProxy's default 16 KiB buffer, which must hold the command and its payload.
PAYLOAD_BYTES = 8192


class RuntimeAPIError(OSError):
    """HAProxy refused a command, or its socket failed (gone, closed, timed out)."""


@dataclass(frozen=True)
class Worker:
    """The HAProxy process answering a runtime API connection: its pid and start time (whole
    seconds since the epoch). A restart or a reload answers with another pid."""

    pid: int
    started: int


def worker_now(path: Path, *, timeout: float = 5.0) -> Worker:
    """The worker that answers a new connection to the socket at `path` now. (A connection opened
    earlier stays with the worker that accepted it, even after a reload: that worker lives on
    until its last stream ends.)"""
    with RuntimeAPI(path, timeout=timeout) as api:
        return api.worker()


def master_reload(master_socket: Path, *, timeout: float = 5.0) -> None:
    """Ask HAProxy's master (master-worker mode, `-W -S <master_socket>`) to reload: it re-executes
    itself on the configuration file and forks a new worker; the old worker stops accepting and
    exits once its established streams end. HAProxy 2.6 answers nothing and closes the
    connection; whether the reload worked shows as a new worker on the runtime API (`worker_now`)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(master_socket))
        sock.sendall(b"reload\n")
        while sock.recv(4096):
            pass
    except OSError as e:
        raise RuntimeAPIError(f"HAProxy master CLI at {master_socket}: {e}") from e
    finally:
        sock.close()


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

    def worker(self) -> Worker:
        """The process this connection talks to (`show info`)."""
        fields = dict(line.split(": ", 1) for line in self.command("show info").splitlines() if ": " in line)
        try:
            return Worker(pid=int(fields["Pid"]), started=int(fields.get("Start_time_sec", "0")))
        except (KeyError, ValueError) as e:
            raise RuntimeAPIError(f"show info: no Pid in the answer ({e!r})") from e

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
