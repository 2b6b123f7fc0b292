"""Watch streams: a Channels AsyncHttpConsumer streaming newline-delimited watch events over
chunked HTTP, fed by the per-process event pump.

Order of a stream (reference/kube-clients.md §6):
1. subscribe to the pump first (position P), so nothing committed later can be missed;
2. initial state when asked (RV unset/"0", or sendInitialEvents=true): a consistent list at
   revision S ≥ P as synthetic ADDED events, then for watch-list a BOOKMARK annotated
   `k8s.io/initial-events-end`;
3. otherwise resume after RV N: events N < rev ≤ P from the log (410 when N is compacted);
4. live events from the queue, skipping anything at or below the last revision sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings

from kube import errors
from kube.decoding import reject_nul_in_request
from kube.registry import ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage import backend
from kube.storage.pump import OVERFLOW, LogEvent, Subscription, get_pump

from . import options, table
from .errors import status_headers, translate
from .fanout import INITIAL_EVENTS_END, merged_watch, watch_start
from .handlers.watch import FannedWatch, WatchPlan
from .handlers.watch import prepare as prepare_watch
from .negotiation import TABLE_CONTENT_TYPE
from .pipeline import Target, fan_out_for, resolve_request, without_position

log = logging.getLogger(__name__)

BOOKMARK_INTERVAL = 10.0
#: Queued by a watch's own timer: time for a bookmark, or the deadline.
TICK = object()
#: Events queued together leave as one write, up to this many (a backlog of a slow client is not
#: copied into one huge buffer).
MAX_EVENTS_PER_WRITE = 256


def is_watch_request(scope: dict[str, Any]) -> bool:
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return False
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return q.get("watch", [""])[-1].lower() in ("true", "1")


class WatchConsumer(AsyncHttpConsumer):
    task: asyncio.Task[None] | None = None

    async def handle(self, body: bytes) -> None:
        try:
            plan = await self.prepare()
        except Exception as e:  # a Status, as the API views answer the same refusal (never a bare 500)
            err = translate(e)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in status_headers(err)]
            await self.send_response(err.code, orjson.dumps(err.status()), headers=headers)
            return
        content_type = TABLE_CONTENT_TYPE if plan.table else "application/json"
        await self.send_headers(
            status=200,
            headers=[
                (b"Content-Type", content_type.encode()),
                (b"Cache-Control", b"no-cache, private"),
            ],
        )
        await self.send_body(b"", more_body=True)  # flush headers: clients wait for them
        stream = self.stream(plan) if plan.fanned is None else self.stream_fanned(plan, plan.fanned)
        self.task = asyncio.get_running_loop().create_task(stream)

    async def http_request(self, message: dict[str, Any]) -> None:
        """Unlike the base class, return after starting the stream instead of closing the consumer:
        the dispatch loop must stay free to receive `http.disconnect` (client gone, or our own
        final chunk sent), which cancels the stream."""
        if "body" in message:
            self.body.append(message["body"])
        if message.get("more_body"):
            return
        await self.handle(b"".join(self.body))
        if self.task is None:
            await self.disconnect()
            raise StopConsumer()

    async def disconnect(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def prepare(self) -> WatchPlan:
        """The request through the pipeline (kube.endpoints.pipeline), as the API views resolve
        theirs, then the watch verb's handler: one thread hop for all of it."""
        path = self.scope["path"]  # already percent-decoded (ASGI): decoding it again would turn %2500 into NUL
        query_string = self.scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for k, v in self.scope.get("headers", []):
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value  # as Django joins them
        reject_nul_in_request(path=path, query_string=query_string, headers=headers.items())
        return await database_sync_to_async(_resolve_watch)(path, query_string, headers)

    # --- streaming ----------------------------------------------------------------------------------
    async def stream(self, plan: WatchPlan) -> None:
        info: ResourceInfo = plan.info
        lo: options.ListOptions = plan.lo
        pump = get_pump()
        sub = await pump.subscribe(plan.scope)
        self._columns_sent = False
        try:
            await self._stream(plan, info, lo, sub)
        except asyncio.CancelledError:
            return
        except errors.StatusError as e:
            await self.send_body(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n", more_body=True)
        except Exception as e:
            log.exception("watch stream failed")
            err = errors.InternalError(f"an internal error occurred: {type(e).__name__}")
            await self.send_body(orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n", more_body=True)
        finally:
            pump.unsubscribe(sub)
        try:
            await self.send_body(b"", more_body=False)
        except Exception:  # the client went away
            pass

    async def stream_fanned(self, plan: WatchPlan, fanned: FannedWatch) -> None:
        """The parts' streams merged (kube.endpoints.fanout), until the deadline."""
        lo, info = plan.lo, plan.info
        timeout = lo.timeout_seconds or settings.KUBE_WATCH_DEFAULT_TIMEOUT * (1 + random.random())
        deadline = asyncio.get_running_loop().time() + timeout

        def bookmark(rv: str, initial_end: bool) -> dict[str, Any]:
            meta: dict[str, Any] = {"resourceVersion": rv}
            if initial_end:
                meta["annotations"] = {INITIAL_EVENTS_END: "true"}
            return {"kind": info.kind, "apiVersion": info.group_version, "metadata": meta}

        try:
            async for lines in merged_watch(
                fanned.fan,
                fanned.start,
                path=fanned.path,
                query_string=fanned.query_string,
                headers=fanned.headers,
                bookmark=bookmark if lo.allow_bookmarks and not plan.table else None,
                deadline=deadline,
            ):
                await self.send_body(b"".join(lines), more_body=True)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("merged watch stream failed")
            err = errors.InternalError("an internal error occurred while merging the stream")
            await self.send_body(orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n", more_body=True)
        try:
            await self.send_body(b"", more_body=False)
        except Exception:  # the client went away
            pass

    async def _stream(
        self, plan: WatchPlan, info: ResourceInfo, lo: options.ListOptions, sub: Subscription
    ) -> None:
        timeout = (
            lo.timeout_seconds if lo.timeout_seconds else settings.KUBE_WATCH_DEFAULT_TIMEOUT * (1 + random.random())
        )
        deadline = asyncio.get_running_loop().time() + timeout
        rv = lo.resource_version
        initial = lo.send_initial_events if lo.send_initial_events is not None else rv in ("", "0")
        if initial:
            ctx = RequestContext(cluster=plan.cluster)
            result = await database_sync_to_async(STORE.list)(
                info, ctx, plan.namespace, label_q=lo.label_q, field_q=lo.field_q
            )
            for obj in result.items:
                await self.emit(plan, "ADDED", obj)
            last = result.revision
            if lo.send_initial_events:
                if rv not in ("", "0") and int(rv) > last:
                    last = int(rv)
                await self.bookmark(info, last, initial_end=True)
        else:
            last = int(rv)
            compacted = await database_sync_to_async(backend.compacted_revision)()
            if last < compacted:
                raise errors.Expired(f"too old resource version: {last} ({compacted})")
            while last < sub.start_position:
                events = await database_sync_to_async(backend.events_between)(plan.scope, last, sub.start_position)
                if not events:
                    break
                for ev in events:
                    await self.emit_event(
                        plan,
                        LogEvent(
                            ev.revision,
                            ev.cluster,
                            ev.group,
                            ev.resource,
                            ev.namespace,
                            ev.name,
                            ev.type,
                            ev.object,
                            ev.prev_labels,
                            ev.prev_object,
                        ),
                    )
                    last = ev.revision
            if last < sub.start_position:
                last = sub.start_position
            compacted = await database_sync_to_async(backend.compacted_revision)()
            if int(rv) < compacted:
                raise errors.Expired(f"too old resource version: {rv} ({compacted})")
        await self._live(plan, info, lo, sub, deadline, last)

    async def _live(
        self,
        plan: WatchPlan,
        info: ResourceInfo,
        lo: options.ListOptions,
        sub: Subscription,
        deadline: float,
        last: int,
    ) -> None:
        """Live events until the deadline or an overflow.

        Why this shape: a fan-out to a thousand watchers runs this loop a thousand times per event,
        so an event costs one queue wake-up here and nothing more — no timer per event. One timer
        per watch puts TICK into the queue at the next bookmark or the deadline; events already
        queued together leave as one write."""
        loop = asyncio.get_running_loop()
        queue = sub.queue
        last_sent = loop.time()

        def next_tick() -> asyncio.TimerHandle:
            when = min(deadline, last_sent + BOOKMARK_INTERVAL) if lo.allow_bookmarks else deadline
            return loop.call_at(when, queue.put_nowait, TICK)

        timer = next_tick()
        try:
            while True:
                item = await queue.get()
                chunks: list[bytes] = []
                ticked = False
                while True:
                    if item is OVERFLOW:
                        if chunks:
                            await self.send_body(b"".join(chunks), more_body=True)
                        return
                    if item is TICK:
                        ticked = True
                    elif item.revision > last:
                        line = self.event_line(plan, item)
                        if line:
                            chunks.append(line)
                        last = item.revision
                    if queue.empty() or len(chunks) >= MAX_EVENTS_PER_WRITE:
                        break
                    item = queue.get_nowait()
                if chunks:
                    await self.send_body(b"".join(chunks), more_body=True)
                    last_sent = loop.time()
                if ticked:
                    now = loop.time()
                    if now >= deadline:
                        return
                    if lo.allow_bookmarks and now >= last_sent + BOOKMARK_INTERVAL:
                        last = max(last, get_pump().position)
                        await self.bookmark(info, last)
                        last_sent = now
                    timer = next_tick()
        finally:
            timer.cancel()

    async def emit_event(self, plan: WatchPlan, ev: LogEvent) -> None:
        line = self.event_line(plan, ev)
        if line:
            await self.send_body(line, more_body=True)

    def event_line(self, plan: WatchPlan, ev: LogEvent) -> bytes:
        """The watch-event line `ev` becomes on this stream (b"" when the stream's selectors filter
        it out): a label transition under a selector turns into ADDED, or into DELETED carrying
        the object as it was before (the last version this stream was allowed to see; the new one
        may be what the selector exists to keep out, e.g. an object a consumer stopped sharing),
        at the event's revision, as the apiserver's watch cache does."""
        info: ResourceInfo = plan.info
        lo: options.ListOptions = plan.lo
        obj = ev.object
        type_ = ev.type
        new_match = self._matches(info, lo, obj, obj.get("metadata", {}).get("labels"))
        if type_ == "MODIFIED" and not lo.label_selector.empty:
            old_match = self._matches(info, lo, ev.prev_object or obj, ev.prev_labels)
            if old_match and not new_match:
                return self._left_line(plan, ev)
            if new_match and not old_match:
                type_ = "ADDED"
        if not new_match:
            return b""
        if plan.table or obj.get("apiVersion") != info.group_version:
            return self.object_line(plan, type_, obj)
        return ev.encoded(type_)

    def _left_line(self, plan: WatchPlan, ev: LogEvent) -> bytes:
        """DELETED for an object leaving this stream's selector: the previous object the event log
        kept; for an event logged without one (before the log kept them), a tombstone naming the
        object and nothing of its content."""
        info: ResourceInfo = plan.info
        previous = ev.prev_object
        if previous is None:
            return self.object_line(plan, "DELETED", _tombstone(ev.object, ev.revision))
        if plan.table or previous.get("apiVersion") != info.group_version:
            return self.object_line(plan, "DELETED", previous)
        return ev.encoded("DELETED", previous=True)

    @staticmethod
    def _matches(info: ResourceInfo, lo: options.ListOptions, obj: dict[str, Any], labels: Any) -> bool:
        if not lo.label_selector.matches(labels or {}):
            return False
        if not lo.field_selector.empty and not lo.field_selector.matches(info.strategy.field_values(obj)):
            return False
        return True

    async def emit(self, plan: WatchPlan, type_: str, obj: dict[str, Any]) -> None:
        await self.send_body(self.object_line(plan, type_, obj), more_body=True)

    def object_line(self, plan: WatchPlan, type_: str, obj: dict[str, Any]) -> bytes:
        info: ResourceInfo = plan.info
        if obj.get("apiVersion") != info.group_version:
            obj = STORE.output(info, obj)
        if plan.table:
            obj = table.table(
                info,
                [obj],
                include_object=plan.include,
                resource_version=obj.get("metadata", {}).get("resourceVersion", ""),
                with_columns=not self._columns_sent,
            )
            self._columns_sent = True
        return orjson.dumps({"type": type_, "object": obj}) + b"\n"

    async def bookmark(self, info: ResourceInfo, revision: int, *, initial_end: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": info.kind, "apiVersion": info.group_version, "metadata": meta}
        await self.send_body(orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n", more_body=True)


def _tombstone(obj: dict[str, Any], revision: int) -> dict[str, Any]:
    """Identity only: apiVersion, kind, name, namespace, uid, the logical cluster annotation and
    the event's revision."""
    md = obj.get("metadata") or {}
    meta: dict[str, Any] = {k: md[k] for k in ("name", "namespace", "uid") if k in md}
    meta["resourceVersion"] = str(revision)
    cluster = (md.get("annotations") or {}).get(backend.CLUSTER_ANNOTATION or "")
    if cluster:
        meta["annotations"] = {backend.CLUSTER_ANNOTATION: cluster}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta}


def _resolve_watch(path: str, query_string: str, headers: dict[str, str]) -> WatchPlan:
    target = Target.of_url(path)
    req = resolve_request(method="GET", target=target, query_string=query_string, headers=headers, watch=True)
    fan = fan_out_for(target, req)
    if fan is None:
        return prepare_watch(req)
    start = watch_start(fan, resource_version=req.query.get("resourceVersion", ""))
    fanned = FannedWatch(fan, start, path=req.path, query_string=query_string, headers=req.headers)
    return dataclasses.replace(prepare_watch(without_position(req)), fanned=fanned)
