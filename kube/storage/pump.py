"""The per-process event pump: tails the event log and fans events out to in-process watchers.

Design (DESIGN.md "Watch"): the log is the only carrier of events. A LISTEN/NOTIFY doorbell
(rung by every write transaction, delivered on commit) wakes the pump; a one-second poll is the
safety net for a lost notification. Because revisions are dense and commit-ordered, reading
`revision > position` in order never skips a committed event, so every subscriber sees every
event after its start position exactly once, in order.

A subscriber's queue is bounded: one that falls too far behind is marked overflowed and gets an
OVERFLOW marker; its watch closes and the client resumes from its last resourceVersion.

A pump with no subscribers is dormant: it reads nothing (a serving process nobody watches through
pays nothing per write). The next subscriber first moves the position to the latest committed
revision — no one was there to receive what lies between — and its watch replays anything older
it asked for from the log itself, as for any start position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from channels.db import database_sync_to_async
from django.conf import settings
from psycopg.types.json import set_json_loads

from . import backend
from .backend import NOTIFY_CHANNEL, ListScope

log = logging.getLogger(__name__)

OVERFLOW = object()
POLL_SECONDS = 1.0
BATCH = 1000


@dataclass(eq=False)
class LogEvent:
    revision: int
    cluster: str
    group: str
    resource: str
    namespace: str
    name: str
    type: str
    object: dict[str, Any]
    prev_labels: dict[str, str] | None
    prev_object: dict[str, Any] | None = None
    _encoded: dict[tuple[str, bool], bytes] = field(default_factory=dict, repr=False)

    def encoded(self, type_: str, *, previous: bool = False) -> bytes:
        """The JSON watch-event line for this event as `type_` carrying the object (or, with
        `previous`, `prev_object`), encoded once for all watchers."""
        cached = self._encoded.get((type_, previous))
        if cached is None:
            obj = self.prev_object if previous else self.object
            cached = self._encoded[(type_, previous)] = orjson.dumps({"type": type_, "object": obj}) + b"\n"
        return cached


@dataclass(eq=False)
class Subscription:
    scope: ListScope
    start_position: int
    limit: int
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, event: LogEvent) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= self.limit:
            self.overflowed = True
            self.queue.put_nowait(OVERFLOW)
            return
        self.queue.put_nowait(event)


def conninfo() -> str:
    db = settings.DATABASES["default"]
    parts = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


class EventPump:
    def __init__(self) -> None:
        self.position = 0
        self._subs: dict[tuple[str, str], set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._wake = asyncio.Event()
        self._dormant = False
        #: Event-log reads made (observability; the dormant state is tested by it).
        self.fetches = 0

    async def ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self._started.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def subscribe(self, scope: ListScope) -> Subscription:
        await self.ensure_started()
        if self._dormant and not self._subs:
            committed = await database_sync_to_async(backend.current_revision)()
            # Checked again after the wait: once anyone subscribed, the pump reads on from where it
            # is, and skipping ahead could take events from that subscriber.
            if not self._subs:
                self.position = max(self.position, committed)
        sub = Subscription(scope=scope, start_position=self.position, limit=settings.KUBE_WATCH_QUEUE_SIZE)
        self._subs.setdefault((scope.group, scope.resource), set()).add(sub)
        self._dormant = False
        self._wake.set()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get((sub.scope.group, sub.scope.resource))
        if subs is not None:
            subs.discard(sub)
            if not subs:
                self._subs.pop((sub.scope.group, sub.scope.resource), None)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    async def _run(self) -> None:
        while True:
            try:
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception:  # database restart or network trouble: reconnect and carry on
                log.exception("event pump failed; reconnecting")
                await asyncio.sleep(1.0)

    async def _pump(self) -> None:
        async with (
            await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as conn,
            await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as listen_conn,
        ):
            set_json_loads(orjson.loads, conn)
            await listen_conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            if not self._started.is_set():
                cur = await conn.execute("SELECT value FROM kube_revision WHERE id = 1")
                row = await cur.fetchone()
                self.position = int(row[0]) if row else 0
                self._started.set()
            listener = asyncio.get_running_loop().create_task(self._listen(listen_conn))
            try:
                while True:
                    # Cleared before reading, not after: a doorbell rung while the read is under way
                    # (a commit it did not see) must bring another read at once, not after the poll.
                    self._wake.clear()
                    if self._subs:
                        fetched = await self._fetch(conn)
                        if fetched >= BATCH:
                            continue
                    else:
                        self._dormant = True
                    try:
                        await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                    except TimeoutError:
                        pass
                    if listener.done():
                        listener.result()
            finally:
                listener.cancel()

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for _ in conn.notifies():
            self._wake.set()

    async def _fetch(self, conn: psycopg.AsyncConnection[Any]) -> int:
        self.fetches += 1
        cur = await conn.execute(
            'SELECT revision, cluster, "group", resource, namespace, name, type, object, prev_labels, prev_object '
            "FROM kube_event WHERE revision > %s ORDER BY revision LIMIT %s",
            (self.position, BATCH),
        )
        rows = await cur.fetchall()
        for row in rows:
            event = LogEvent(*row)
            if event.revision != self.position + 1 and self.position:
                # Dense revisions are the contract; a gap means compaction overtook a stalled pump.
                log.warning("event log gap: %s -> %s; closing every watch", self.position, event.revision)
                for subs in self._subs.values():
                    for sub in subs:
                        sub.overflowed = True
                        sub.queue.put_nowait(OVERFLOW)
            self.position = event.revision
            self._dispatch(event)
        return len(rows)

    def _dispatch(self, event: LogEvent) -> None:
        subs = self._subs.get((event.group, event.resource))
        if not subs:
            return
        for sub in tuple(subs):
            scope = sub.scope
            if scope.cluster != "*" and scope.cluster != event.cluster:
                continue
            if scope.namespace and scope.namespace != event.namespace:
                continue
            sub.offer(event)


_pumps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventPump] = weakref.WeakKeyDictionary()


def get_pump() -> EventPump:
    """The pump of the running event loop: one per server process (daphne runs one loop)."""
    loop = asyncio.get_running_loop()
    pump = _pumps.get(loop)
    if pump is None:
        pump = _pumps[loop] = EventPump()
    return pump
