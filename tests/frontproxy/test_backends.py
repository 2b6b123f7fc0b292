"""The running proxy follows the shard records (frontproxy.backends through the route syncer): a
shard registered while HAProxy runs is routed within seconds after a graceful reload that a
stream open across it survives; a removed shard's routes answer 503; a changed URL is followed;
heartbeats reload nothing; a syncer that died between writing the files and reloading reloads
when it is back. Real HAProxy (master-worker), echo backends, committed shard records."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from frontproxy.backends import proxy_config_refresh
from frontproxy.runtime import master_reload, worker_now
from frontproxy.selectors import shard_backends
from shards.models import ShardRecord
from shards.services import shard_heartbeat, shard_register_self

from .harness import HAPROXY, Echo, Proxy, entry, routed, wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class Stream:
    """A watch-like stream through the proxy (the echo's `/stream`: a chunk every 50 ms), read in a
    thread: every line, and whether it ended with the last chunk."""

    def __init__(self, proxy: Proxy, segment: str, seconds: float) -> None:
        self.lines: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.complete = False
        conn = proxy.connection(timeout=30)
        conn.request("GET", f"/clusters/{segment}/stream?seconds={seconds}")
        self.response = conn.getresponse()
        assert self.response.status == 200
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while line := self.response.readline():
                self.lines.append(json.loads(line))
            self.complete = self.response.isclosed() or self.response.read() == b""
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the stream did not end"
        assert self.error is None, self.error
        assert self.complete


def _status(proxy: Proxy, segment: str) -> int:
    return proxy.get(f"/clusters/{segment}/api")[0]


def _served_by(proxy: Proxy, segment: str) -> str | None:
    """The backend that answered /clusters/<segment>/api; None for the proxy's own 403 or 503."""
    status, doc, _ = proxy.get(f"/clusters/{segment}/api")
    return doc["backend"] if status == 200 else None


def test_a_shard_registered_while_running_is_routed_and_a_stream_survives_the_reload(
        make_proxy: Any, running: Any, tls: Any, echoes: dict[str, Echo]) -> None:
    entry("root", "root", shard="root")
    entry("2org", "root:org")
    entry("3late", "root:late", shard="shard-2")  # placed on a shard the proxy has no backend for yet
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: syncer.stats.full_replaces >= 1, 10, "the first full replace")
    assert syncer.stats.reloads == 0  # the records say what the configuration already has
    status, body, headers = proxy.get("/clusters/root:late/api")
    assert status == 503 and body["reason"] == "ServiceUnavailable" and headers["retry-after"] == "1", body

    stream = Stream(proxy, "root:org", seconds=4)
    wait_for(lambda: len(stream.lines) >= 5, 5, "the stream flowing")
    worker = worker_now(proxy.files.socket).pid
    late = Echo("shard-2", tls).start()
    try:
        began = time.monotonic()
        shard_register_self(name="shard-2", base_url=late.base_url)
        wait_for(lambda: _status(proxy, "root:late") == 200, 10, "the new shard routed")
        took = time.monotonic() - began
        assert routed(proxy, "root:late") == ("shard-2", "/clusters/3late/api")
        assert routed(proxy, "3late") == ("shard-2", "/clusters/3late/api")
        assert syncer.stats.reloads == 1 and worker_now(proxy.files.socket).pid != worker
        assert "shard-2 be_shard-2" in proxy.files.shards_map.read_text()
        # The routes the new worker started with, and the ones applied after the reload.
        assert routed(proxy, "root:org") == ("shard-1", "/clusters/2org/api")
        entry("4after", "root:after", shard="shard-2")
        wait_for(lambda: routed(proxy, "root:after"), 2, "a route added after the reload")

        # The stream opened before the reload went on in the old worker, chunk after chunk, to its end.
        during = len(stream.lines)
        stream.join(10)
        numbers = [line["n"] for line in stream.lines]
        assert numbers == list(range(len(numbers))) and len(numbers) > during, (during, numbers)
        assert {line["backend"] for line in stream.lines} == {"shard-1"}
        print(f"shard registered → routed through the proxy in {took:.2f}s; stream: {len(numbers)} chunks")

        # Heartbeats (an UPDATE of the record every 10 s) reload nothing: the route added after
        # them is applied, so their (absent) notification would have been seen first.
        for name in ("root", "shard-1", "shard-2"):
            assert shard_heartbeat(name=name)
        shard_register_self(name="shard-2", base_url=late.base_url)  # a restart registering the same URL
        entry("5beat", "root:beat", shard="shard-2")
        wait_for(lambda: routed(proxy, "root:beat"), 2, "a route after the heartbeats")
        assert syncer.stats.reloads == 1
    finally:
        late.kill()


def test_a_removed_shard_answers_503_and_a_moved_one_is_followed(make_proxy: Any, running: Any, tls: Any,
                                                                echoes: dict[str, Echo]) -> None:
    entry("root", "root", shard="root")
    entry("2org", "root:org")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: routed(proxy, "root:org"), 10, "routed")

    ShardRecord.objects.filter(name="shard-1").delete()
    wait_for(lambda: _status(proxy, "root:org") == 503, 10, "the removed shard's routes answer 503")
    status, body, headers = proxy.get("/clusters/2org/api")
    assert status == 503 and body["kind"] == "Status" and headers["retry-after"] == "1", body
    assert "shard-1" not in proxy.files.shards_map.read_text() and "be_shard-1" not in proxy.files.config.read_text()
    assert routed(proxy, "root") == ("root", "/clusters/root/api")
    assert syncer.stats.reloads == 1

    # A record that cannot be a backend is left out; the others are still followed.
    shard_register_self(name="shard-9", base_url="http://127.0.0.1:1")
    moved = Echo("shard-1-moved", tls).start()
    try:
        shard_register_self(name="shard-1", base_url=moved.base_url)
        wait_for(lambda: _served_by(proxy, "root:org") == "shard-1-moved", 10, "the shard back, at its new URL")
        assert "shard-9" not in proxy.files.config.read_text()
        echo_url = echoes["shard-1"].base_url
        shard_register_self(name="shard-1", base_url=echo_url)  # its URL changes back
        wait_for(lambda: _served_by(proxy, "root:org") == "shard-1", 10, "the URL followed")
    finally:
        moved.kill()
    assert not syncer.stats.last_error.startswith("backends: configuration"), syncer.stats.errors


def test_the_root_record_missing_changes_nothing(make_proxy: Any, running: Any) -> None:
    entry("root", "root", shard="root")
    entry("2org", "root:org")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: routed(proxy, "root:org"), 10, "routed")
    config = proxy.files.config.read_text()
    ShardRecord.objects.filter(name="root").delete()
    wait_for(lambda: "the root shard 'root' is not among the shards" in syncer.stats.last_error, 10, "refused")
    assert proxy.files.config.read_text() == config and syncer.stats.reloads == 0
    assert routed(proxy, "root") == ("root", "/clusters/root/api")


def test_files_written_but_not_reloaded_are_reloaded_by_the_next_syncer(make_proxy: Any, running: Any, tls: Any,
                                                                        echoes: dict[str, Echo]) -> None:
    """A syncer that died between rewriting the configuration and reloading: the running worker
    predates the file, so the next syncer reloads at its start."""
    entry("root", "root", shard="root")
    entry("3late", "root:late", shard="shard-2")
    proxy: Proxy = make_proxy({})
    late = Echo("shard-2", tls).start()
    try:
        started = worker_now(proxy.files.socket).started
        wait_for(lambda: time.time() >= started + 1.05, 3, "a second after the worker's start")
        for echo in [*echoes.values(), late]:
            shard_register_self(name=echo.name, base_url=echo.base_url)
        assert proxy_config_refresh(files=proxy.files, shards=shard_backends(), haproxy=HAPROXY)
        assert _status(proxy, "root:late") in (403, 503)  # the old worker: no route yet, no backend
        syncer = running(proxy).syncer
        wait_for(lambda: _served_by(proxy, "root:late") == "shard-2", 10, "reloaded and routed")
        assert syncer.stats.reloads == 1
    finally:
        late.kill()


def test_a_reload_by_someone_else_gets_the_map_pushed_again(make_proxy: Any, running: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """HAProxy started again (an operator's reload, the supervisor's restart) reads routes.map,
    which lags the runtime map by up to FILE_MIN_INTERVAL; here held back for a minute. The syncer
    sees the new worker within PROBE_EVERY and pushes the map (writing the file first)."""
    monkeypatch.setattr("frontproxy.syncer.FILE_MIN_INTERVAL", 60.0)
    entry("root", "root", shard="root")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: syncer.stats.full_replaces >= 1, 10, "the first full replace")
    entry("6fresh", "root:fresh")
    wait_for(lambda: routed(proxy, "root:fresh"), 2, "routed at runtime")
    assert "root:fresh" not in proxy.files.routes_map.read_text()  # the file lags
    replaces = syncer.stats.full_replaces
    master_reload(proxy.files.master_socket)
    wait_for(lambda: syncer.stats.full_replaces > replaces, 5, "the map pushed into the new worker")
    assert routed(proxy, "root:fresh") == ("shard-1", "/clusters/6fresh/api")
    assert "root:fresh shard-1/6fresh" in proxy.files.routes_map.read_text()
