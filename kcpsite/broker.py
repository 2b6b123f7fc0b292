"""The embedded default's Celery broker: kombu's filesystem transport, made safe for several
consumer processes that may be killed at any moment.

Contract (what kombu's filesystem channel does not give, and a multi-process worker needs):

* **Atomic publishing.** A message is written whole into a staging folder on the same filesystem
  and renamed into the queue folder, so a consumer only ever sees complete messages (kombu's
  channel creates the file in the queue folder and then writes it: a consumer polling at that
  moment took an empty file, died on the JSON error, and the message was lost).
* **Exactly one consumer takes a message.** Taking is an atomic rename of the file out of the
  queue folder into the consumer's own claim folder; a consumer that loses the race skips the
  file (kombu's `shutil.move` into the temp dir copies across filesystems, so two consumers could
  both take it).
* **A taken message stays on disk until acknowledged.** Ack (and reject) delete the claimed file;
  a requeue writes the message back to the queue. A consumer killed mid-task (SIGKILL, OOM) leaves
  its claims behind; any other consumer returns them to the queue once it sees the owner is gone,
  so with late acks a killed worker's task runs again (DESIGN "a worker killed mid-task has its
  work redone").

A consumer's claim folder is `<broker>/claimed/<id>/`, holding an exclusive `flock` on
`<id>/.owner` for the life of the process; the kernel drops the lock when the process dies, so
"can I take the lock?" is the liveness test (no pid files, no clocks). The folder is created under
a hidden name, locked, then renamed into place, so nobody ever sees an unlocked live folder.
Messages that no consumer acknowledges (no_ack queues: remote-control replies) are deleted when
taken, as before."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

OWNER_FILE = ".owner"
#: How often (seconds) a consumer looks for claims of dead consumers while it polls.
RECOVER_EVERY = 2.0


def recover_abandoned_claims(claims_root: Path, queue_folder: Path, *, skip: Path | None = None) -> int:
    """Move every message claimed by a consumer that no longer runs back into `queue_folder`.

    Returns how many messages went back. Safe to run from any number of processes at once: the
    owner lock is taken before anything moves, and every move is an atomic rename."""
    restored = 0
    try:
        folders = [p for p in claims_root.iterdir() if not p.name.startswith(".") and p != skip]
    except FileNotFoundError:
        return 0
    for folder in folders:
        try:
            fd = os.open(folder / OWNER_FILE, os.O_RDWR)
        except (FileNotFoundError, NotADirectoryError):
            continue  # another recoverer finished it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            for message in folder.iterdir():
                if message.name == OWNER_FILE:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.rename(message, queue_folder / message.name)
                    restored += 1
            with contextlib.suppress(FileNotFoundError):
                (folder / OWNER_FILE).unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()
        finally:
            os.close(fd)
    if restored:
        log.warning("returned %d message(s) claimed by stopped consumers to the queue", restored)
    return restored


class Channel(filesystem.Channel):
    _claim_folder: Path | None = None
    _claim_lock_fd: int | None = None
    _claimed: dict[str, Path]
    _acked_queues: set[str]
    _next_recovery = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claimed = {}
        self._acked_queues = set()

    # ---- layout ----------------------------------------------------------------------------
    @property
    def _broker_root(self) -> Path:
        return Path(self.data_folder_in).parent

    @property
    def _claims_root(self) -> Path:
        return Path(self.transport_options.get("claims_folder") or self._broker_root / "claimed")

    def _own_claim_folder(self) -> Path:
        if self._claim_folder is None:
            root = self._claims_root
            root.mkdir(parents=True, exist_ok=True)
            name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
            hidden = root / f".{name}"
            hidden.mkdir()
            fd = os.open(hidden / OWNER_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(hidden, root / name)
            self._claim_lock_fd, self._claim_folder = fd, root / name
        return self._claim_folder

    # ---- publish ---------------------------------------------------------------------------
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staging = Path(self.transport_options.get("staging_folder") or self._broker_root / "staging")
        try:
            staging.mkdir(parents=True, exist_ok=True)
            tmp = staging / name
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, Path(self.data_folder_out) / name)
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out!r}") from exc

    # ---- consume ---------------------------------------------------------------------------
    def basic_consume(self, queue: Any, no_ack: Any, *args: Any, **kwargs: Any) -> Any:
        if not no_ack:
            self._acked_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue: Any, no_ack: Any = False, **kwargs: Any) -> Any:
        if not no_ack:
            self._acked_queues.add(queue)
        return super().basic_get(queue, no_ack, **kwargs)

    def _get(self, queue: Any) -> Any:  # type: ignore[override]
        queue_folder = Path(self.data_folder_in)
        claims = self._own_claim_folder()
        now = monotonic()
        if now >= self._next_recovery:
            self._next_recovery = now + RECOVER_EVERY
            recover_abandoned_claims(self._claims_root, queue_folder, skip=claims)
        wanted = f"{queue}.msg"  # names are "<ms>_<uuid>.<queue>.msg"
        for filename in sorted(os.listdir(queue_folder)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = claims / filename
            try:
                os.rename(queue_folder / filename, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                payload = loads(bytes_to_str(claimed.read_bytes()))
            except (OSError, ValueError) as exc:
                raise ChannelError(f"Cannot read message {claimed}") from exc
            tag = (payload.get("properties") or {}).get("delivery_tag")
            if queue in self._acked_queues and tag:
                self._claimed[tag] = claimed
            else:
                claimed.unlink(missing_ok=True)
            return payload
        raise Empty()

    # ---- settle ----------------------------------------------------------------------------
    def _forget(self, tag: str | None) -> None:
        path = self._claimed.pop(tag, None) if tag else None
        if path is not None:
            path.unlink(missing_ok=True)

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        self._forget(delivery_tag)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue)  # a requeue re-publishes through _restore
        self._forget(delivery_tag)

    def _restore(self, message: Any) -> None:
        """Back to the queue (requeue, or unacked messages at a graceful shutdown): a fresh copy
        is published first, then the claim goes, so a crash in between duplicates, never loses."""
        super()._restore(message)
        self._forget(message.delivery_tag)

    def close(self) -> None:
        super().close()  # restores unacknowledged messages
        if self._claim_folder is not None and not self._claimed:
            with contextlib.suppress(OSError):
                (self._claim_folder / OWNER_FILE).unlink()
                self._claim_folder.rmdir()
        if self._claim_lock_fd is not None:
            os.close(self._claim_lock_fd)
            self._claim_lock_fd = None


class Transport(filesystem.Transport):
    Channel = Channel
