"""Watch streams through the real ASGI application (router → Channels consumer → event pump →
PostgreSQL), in process: synthetic ADDED, resume after a revision, watch-list with the
initial-events-end bookmark, bookmarks, 410 Expired, timeouts, selectors and Table events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)

CM = "/api/v1/namespaces/default/configmaps"


class Watch:
    """Runs one watch request against kcpsite.asgi in a background event loop."""

    def __init__(
        self,
        path: str,
        token: str,
        accept: str = "application/json",
        prefix: str = "/clusters/root",
        headers: dict[str, str] | None = None,
    ) -> None:
        """`prefix` + `path` is the URL path watched (a virtual workspace's `/services/...` prefix);
        `headers` are sent besides Accept and Authorization."""
        self.prefix = prefix
        self.extra_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.path, _, self.query = path.partition("?")
        self.token = token
        self.accept = accept
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.finished = threading.Event()
        self.started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._disconnect: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.started.wait(30), "watch did not start"

    def _run(self) -> None:
        from django.db import connections

        from kcpsite.asgi import application

        async def main() -> None:
            self._disconnect = asyncio.Event()
            sent_request = False

            async def receive() -> dict[str, Any]:
                nonlocal sent_request
                if not sent_request:
                    sent_request = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                assert self._disconnect is not None
                await self._disconnect.wait()
                return {"type": "http.disconnect"}

            async def send(msg: dict[str, Any]) -> None:
                if msg["type"] == "http.response.start":
                    self.status = msg["status"]
                    self.headers = {k.decode().lower(): v.decode() for k, v in msg.get("headers", [])}
                    self.started.set()
                elif msg["type"] == "http.response.body":
                    self.chunks.append(msg.get("body", b""))
                    if not msg.get("more_body"):
                        self.finished.set()
                        assert self._disconnect is not None
                        self._disconnect.set()

            headers = [(b"accept", self.accept.encode()), *self.extra_headers]
            if self.token:
                headers.append((b"authorization", f"Bearer {self.token}".encode()))
            scope = {
                "type": "http",
                "method": "GET",
                "path": self.prefix + self.path,
                "query_string": self.query.encode(),
                "headers": headers,
            }
            await application(scope, receive, send)
            from kube.storage.pump import get_pump

            await get_pump().stop()

        try:
            self._loop.run_until_complete(main())
        finally:
            self.finished.set()
            self.started.set()
            connections.close_all()

    def events(self) -> list[dict[str, Any]]:
        data = b"".join(self.chunks)
        return [json.loads(line) for line in data.split(b"\n") if line.strip()]

    def wait_for(self, pred: Any, timeout: float = 10) -> list[dict[str, Any]]:
        end = time.time() + timeout
        while time.time() < end:
            evs = self.events()
            if pred(evs):
                return evs
            time.sleep(0.05)
        raise AssertionError(f"watch saw {self.events()}")

    def close(self) -> None:
        if self._disconnect is not None:
            self._loop.call_soon_threadsafe(self._disconnect.set)
        self._thread.join(10)


def names(evs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"].get("metadata", {}).get("name", "")) for e in evs]


def cm(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {}}


@pytest.fixture
def tapi(transactional_db: Any, client: Client) -> Api:
    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    bootstrap_root()
    return Api(client, token_issue(user_name="admin", groups=["system:masters"]))


def test_unset_resource_version_sends_current_state_then_changes(tapi: Api) -> None:
    tapi.post(CM, cm("a"))
    w = Watch(CM + "?watch=true", tapi.token)
    try:
        w.wait_for(lambda e: names(e) == [("ADDED", "a")])
        tapi.patch(f"{CM}/a", {"data": {"x": "1"}})
        tapi.delete(f"{CM}/a")
        evs = w.wait_for(lambda e: len(e) == 3)
        assert names(evs) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        assert rvs == sorted(rvs) and len(set(rvs)) == 3
    finally:
        w.close()


def test_resume_after_a_revision_replays_only_later_events(tapi: Api) -> None:
    first = tapi.post(CM, cm("r1")).json()
    tapi.post(CM, cm("r2"))
    tapi.patch(f"{CM}/r1", {"data": {"k": "v"}})
    w = Watch(f"{CM}?watch=1&resourceVersion={first['metadata']['resourceVersion']}", tapi.token)
    try:
        evs = w.wait_for(lambda e: len(e) >= 2)
        assert names(evs) == [("ADDED", "r2"), ("MODIFIED", "r1")]
    finally:
        w.close()


def test_watch_list_ends_initial_events_with_a_bookmark(tapi: Api) -> None:
    tapi.post(CM, cm("i1"))
    q = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    w = Watch(f"{CM}?{q}", tapi.token)
    try:
        evs = w.wait_for(lambda e: any(x["type"] == "BOOKMARK" for x in e))
        assert evs[0]["type"] == "ADDED" and evs[0]["object"]["metadata"]["name"] == "i1"
        bm = next(e for e in evs if e["type"] == "BOOKMARK")["object"]
        assert bm["kind"] == "ConfigMap" and bm["apiVersion"] == "v1"
        assert bm["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        tapi.post(CM, cm("i2"))
        w.wait_for(lambda e: ("ADDED", "i2") in names(e))
    finally:
        w.close()


def test_watch_list_parameters_are_validated(tapi: Api) -> None:
    w = Watch(f"{CM}?watch=true&sendInitialEvents=true", tapi.token)
    w.finished.wait(10)
    assert w.status == 422
    body = json.loads(b"".join(w.chunks))
    assert body["kind"] == "Status" and body["reason"] == "Invalid"


def test_too_old_resource_version_is_expired(tapi: Api) -> None:
    from kube.storage.backend import compact

    obj = tapi.post(CM, cm("old")).json()
    tapi.post(CM, cm("newer"))
    compact(older_than_seconds=-1)
    w = Watch(f"{CM}?watch=true&resourceVersion={int(obj['metadata']['resourceVersion']) - 1}", tapi.token)
    assert w.finished.wait(10)
    evs = w.events()
    assert evs[-1]["type"] == "ERROR"
    assert evs[-1]["object"]["code"] == 410 and evs[-1]["object"]["reason"] == "Expired"


def test_timeout_seconds_closes_the_stream(tapi: Api) -> None:
    t = time.time()
    w = Watch(f"{CM}?watch=true&timeoutSeconds=1", tapi.token)
    assert w.finished.wait(10)
    assert time.time() - t < 8


def test_periodic_bookmarks(tapi: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from kube.endpoints import watch

    monkeypatch.setattr(watch, "BOOKMARK_INTERVAL", 0.2)
    tapi.post(CM, cm("b1"))
    w = Watch(f"{CM}?watch=true&allowWatchBookmarks=true&resourceVersion=0", tapi.token)
    try:
        evs = w.wait_for(lambda e: any(x["type"] == "BOOKMARK" for x in e), timeout=10)
        bm = next(e for e in evs if e["type"] == "BOOKMARK")["object"]
        assert int(bm["metadata"]["resourceVersion"]) >= int(evs[0]["object"]["metadata"]["resourceVersion"])
    finally:
        w.close()


def test_label_selector_turns_transitions_into_added_and_deleted(tapi: Api) -> None:
    tapi.post(CM, cm("s1", labels={"app": "x"}))
    w = Watch(f"{CM}?watch=true&labelSelector=app%3Dx", tapi.token)
    try:
        w.wait_for(lambda e: names(e) == [("ADDED", "s1")])
        tapi.patch(f"{CM}/s1", {"metadata": {"labels": {"app": "y"}}})
        tapi.post(CM, cm("other", labels={"app": "y"}))
        tapi.patch(f"{CM}/other", {"metadata": {"labels": {"app": "x"}}})
        evs = w.wait_for(lambda e: len(e) >= 3)
        assert names(evs) == [("ADDED", "s1"), ("DELETED", "s1"), ("ADDED", "other")]
    finally:
        w.close()


def test_leaving_a_label_selector_sends_the_previous_object(tapi: Api) -> None:
    """As the apiserver's watch cache: DELETED carries the object as the selector last saw it, at
    the event's revision (never the content that made it leave), live and replayed from the log.
    The log keeps a previous object only for writes that moved labels."""
    from kube.storage.models import Event

    first = tapi.post(CM, {**cm("p1", labels={"app": "x"}), "data": {"v": "seen"}}).json()
    assert tapi.patch(f"{CM}/p1", {"data": {"v": "still seen"}}).status_code == 200
    live = Watch(f"{CM}?watch=true&labelSelector=app%3Dx", tapi.token)
    try:
        live.wait_for(lambda e: names(e) == [("ADDED", "p1")])
        left = tapi.patch(f"{CM}/p1", {"metadata": {"labels": {"app": "y"}}, "data": {"v": "hidden"}}).json()
        resumed = Watch(f"{CM}?watch=true&labelSelector=app%3Dx&resourceVersion={first['metadata']['resourceVersion']}",
                        tapi.token)
        try:
            for w in (live, resumed):
                evs = w.wait_for(lambda e: any(x["type"] == "DELETED" for x in e))
                deleted = next(e["object"] for e in evs if e["type"] == "DELETED")
                assert deleted["data"] == {"v": "still seen"} and deleted["metadata"]["labels"] == {"app": "x"}
                assert deleted["metadata"]["resourceVersion"] == left["metadata"]["resourceVersion"]
                assert b"hidden" not in b"".join(w.chunks)
        finally:
            resumed.close()
    finally:
        live.close()
    logged = dict(Event.objects.filter(name="p1", type="MODIFIED").values_list("revision", "prev_object"))
    assert [p is None for _, p in sorted(logged.items())] == [True, False]


def test_field_selector_on_name(tapi: Api) -> None:
    w = Watch(f"{CM}?watch=true&fieldSelector=metadata.name%3Done", tapi.token)
    try:
        tapi.post(CM, cm("two"))
        tapi.post(CM, cm("one"))
        evs = w.wait_for(lambda e: len(e) >= 1)
        time.sleep(0.3)
        assert names(w.events()) == [("ADDED", "one")]
        assert names(evs) == [("ADDED", "one")]
    finally:
        w.close()


def test_table_watch_events(tapi: Api) -> None:
    tapi.post(CM, cm("t1"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    w = Watch(f"{CM}?watch=true&resourceVersion=0", tapi.token, accept=accept)
    try:
        evs = w.wait_for(lambda e: len(e) >= 1)
        table = evs[0]["object"]
        assert table["kind"] == "Table" and table["rows"][0]["cells"][0] == "t1"
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    finally:
        w.close()


def test_watch_needs_a_token(tapi: Api) -> None:
    w = Watch(f"{CM}?watch=true", "")
    w.finished.wait(10)
    assert w.status == 401
    w2 = Watch(f"{CM}?watch=true", "wrong")
    w2.finished.wait(10)
    assert w2.status == 401


def test_many_watchers_each_see_every_event_once(tapi: Api) -> None:
    watchers = [Watch(f"{CM}?watch=true&resourceVersion=0", tapi.token) for _ in range(20)]
    try:
        for i in range(15):
            tapi.post(CM, cm(f"m{i}"))
        for w in watchers:
            evs = w.wait_for(lambda e: len(e) >= 15)
            assert names(evs) == [("ADDED", f"m{i}") for i in range(15)]
    finally:
        for w in watchers:
            w.close()
