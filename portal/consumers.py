"""The portal's websocket: one per browser tab, live updates for what is on screen.

Fed by the same per-process event pump as API watches (kube.storage.pump), with the same
guarantees: a subscription starts at a revision the page was rendered at (`rv`), replays the
event log from there, then follows the pump, skipping anything at or below the last revision sent
(so nothing twice, nothing missed). When `rv` is older than the log's floor, or the subscriber
falls behind, the client is told EXPIRED and re-lists once.

Messages from the browser:
  {"op": "watch", "sid": S, "target": "objects", "path": P, "group": G, "version": V,
   "resource": R, "namespace": N, "rv": RV}
  {"op": "watch", "sid": S, "target": "children", "path": P, "rv": RV}
  {"op": "unwatch", "sid": S}
To the browser: {"sid": S, "type": "ADDED"|"MODIFIED"|"DELETED", "object": {...summary}},
{"sid": S, "type": "EXPIRED"}, {"sid": S, "type": "ERROR", "code": C, "message": M}.
Every subscription is authorized as the session's user like a watch; children of a workspace
are filtered to those the user may see (never a sibling's name).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from kube import errors
from kube.authz.identity import django_user_info
from kube.authz.user import UserInfo
from kube.decoding import json_decode
from kube.registry.authorized import AuthorizedClient
from kube.registry.changes import OVERFLOW, ListScope, changes_between, compaction_floor, get_pump
from workspaces.kinds import TENANCY
from workspaces.selectors import workspace_children_visible, workspace_get_for_user, workspace_summary

from .objects import api_resolve, object_summary

log = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 16


@dataclass
class Plan:
    scope: ListScope
    rv: int
    summarize: Callable[[dict[str, Any]], dict[str, str]]
    visible: set[str] | None  # names the user may see; None: all


def plan_subscription(user: UserInfo, msg: dict[str, Any]) -> Plan:
    """Authorize a subscription request and describe it (synchronous: database access)."""
    try:
        rv = int(str(msg.get("rv", "")))
    except ValueError:
        raise errors.BadRequest("rv must be a resourceVersion") from None
    ws = workspace_get_for_user(path=str(msg.get("path", "")), user=user)
    target = msg.get("target")
    if target == "children":
        visible = workspace_children_visible(user=user, cluster=ws.cluster)
        return Plan(
            ListScope(ws.cluster, TENANCY, "workspaces", ""),
            rv,
            lambda body: workspace_summary(body=body, parent_path=ws.path),
            visible,
        )
    if target == "objects":
        info = api_resolve(
            cluster=ws.cluster,
            group=str(msg.get("group", "")),
            version=str(msg.get("version", "")),
            resource=str(msg.get("resource", "")),
        )
        scope = AuthorizedClient(user=user, cluster=ws.cluster).watch(info, str(msg.get("namespace", "")))
        return Plan(scope, rv, object_summary, None)
    raise errors.BadRequest("target must be objects or children")


class PortalConsumer(AsyncJsonWebsocketConsumer):
    user: UserInfo | None = None

    async def connect(self) -> None:
        django_user = self.scope.get("user")
        if django_user is None or not django_user.is_authenticated or not self._same_origin():
            await self.close(code=4403)
            return
        self.user = await database_sync_to_async(django_user_info)(user=django_user)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        await self.accept()

    def _same_origin(self) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        origin = headers.get("origin", "")
        return not origin or urlsplit(origin).netloc == headers.get("host", "")

    async def disconnect(self, code: int) -> None:
        for task in getattr(self, "tasks", {}).values():
            task.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Decode a message with the API's JSON decoder: malformed JSON, or text holding a NUL
        (which no query could use), gets an ERROR message and the socket stays open; binary
        frames are not part of the protocol and are ignored."""
        if text_data is None:
            return
        try:
            content = json_decode(text_data)
        except errors.StatusError as e:
            await self.send_json({"type": "ERROR", "code": e.code, "message": e.message})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or self.user is None:
            return
        sid = str(content.get("sid", ""))[:64]
        op = content.get("op")
        if op == "unwatch":
            task = self.tasks.pop(sid, None)
            if task is not None:
                task.cancel()
            return
        if op != "watch" or not sid:
            return
        old = self.tasks.pop(sid, None)
        if old is not None:
            old.cancel()
        if len(self.tasks) >= MAX_SUBSCRIPTIONS:
            await self.send_json({"sid": sid, "type": "ERROR", "code": 429, "message": "too many subscriptions"})
            return
        try:
            plan = await database_sync_to_async(plan_subscription)(self.user, content)
        except errors.StatusError as e:
            await self.send_json({"sid": sid, "type": "ERROR", "code": e.code, "message": e.message})
            return
        except Exception:  # never a dead socket for one bad subscription
            log.exception("portal subscription could not be planned")
            await self.send_json({"sid": sid, "type": "ERROR", "code": 500, "message": "internal error"})
            return
        self.tasks[sid] = asyncio.get_running_loop().create_task(self.follow(sid, plan))

    async def follow(self, sid: str, plan: Plan) -> None:
        pump = get_pump()
        sub = await pump.subscribe(plan.scope)
        try:
            last = plan.rv
            if last < await database_sync_to_async(compaction_floor)():
                await self.send_json({"sid": sid, "type": "EXPIRED"})
                return
            while last < sub.start_position:
                events = await database_sync_to_async(changes_between)(plan.scope, last, sub.start_position)
                if not events:
                    break
                for ev in events:
                    await self.emit(sid, plan, ev.type, ev.object)
                    last = ev.revision
            last = max(last, sub.start_position)
            while True:
                item = await sub.queue.get()
                if item is OVERFLOW:
                    await self.send_json({"sid": sid, "type": "EXPIRED"})
                    return
                if item.revision <= last:
                    continue
                await self.emit(sid, plan, item.type, item.object)
                last = item.revision
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("portal subscription failed")
            with contextlib.suppress(Exception):
                await self.send_json({"sid": sid, "type": "EXPIRED"})
        finally:
            pump.unsubscribe(sub)

    async def emit(self, sid: str, plan: Plan, type_: str, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        if plan.visible is not None and name not in plan.visible:
            return
        await self.send_json({"sid": sid, "type": type_, "object": plan.summarize(obj)})
