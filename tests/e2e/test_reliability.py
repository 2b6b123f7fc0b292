"""DESIGN "Reliability" against a stack of this module's own (its own embedded PostgreSQL, which
these tests crash and restart, and its own workers, which they kill):

* no acknowledged write is lost across a PostgreSQL crash; a request that fails meanwhile gets a
  503 Status with Retry-After;
* a watch carries on across a PostgreSQL restart without losing or repeating an event (or ends,
  and resuming from its last resourceVersion does);
* a SIGKILLed PostgreSQL postmaster is started again by the launcher: /readyz answers 503 while it
  is down and ok once it is back, writes, watches and reconciliation resume, nothing acknowledged
  is lost, and no other process of the stack is restarted;
* a worker killed mid-task has its work redone: every Celery worker SIGKILLed, repeatedly, while
  workspaces are being created, and they all become Ready;
* broker loss delays reconciliation but loses nothing: queued messages deleted, workspaces still
  become Ready (the periodic resync);
* a noisy tenant gets 429 + Retry-After while others are served (the real kubectl included);
* concurrent writers on one object: exactly one wins per resourceVersion."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcpsite.launcher import Stack
from tests.conftest import free_port
from tests.e2e.test_core import uniq, wait_for
from tests.stack_api import StackApi

pytestmark = pytest.mark.e2e

WORKSPACES = "/apis/tenancy.kcp.io/v1alpha1/workspaces"
TENANT_QPS, TENANT_BURST = 50, 100


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Always on an embedded PostgreSQL in its own data dir, even when DATABASE_URL names a server:
    the tests stop and start that database."""
    s = Stack(tmp_path_factory.mktemp("kcp-reliability"), free_port(), None,
              {"KCP_SERVERS": "1", "KCP_WORKERS": "2", "KCP_TENANT_QPS": str(TENANT_QPS),
               "KCP_TENANT_BURST": str(TENANT_BURST)}, echo_errors=False)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def api(own_stack: Stack) -> StackApi:
    return StackApi(own_stack)


def _crash_postgres(stack: Stack, *, mode: str = "immediate") -> None:
    """Stop the stack's PostgreSQL as pg_ctl's shutdown modes do and wait until its postmaster is
    gone: `immediate` (SIGQUIT) is a crash (no checkpoint; the next start replays the write-ahead
    log), `fast` (SIGINT) a clean restart's first half. Not `pg_ctl -w stop` itself: the launcher
    starts the server again at once, and pg_ctl, finding a live server in postmaster.pid, would
    wait for that one to stop too."""
    from kcpsite.embedded import live_postmaster, postmaster_alive

    postmaster = live_postmaster(stack.data_dir)
    assert postmaster is not None
    postmaster.send_signal(signal.SIGQUIT if mode == "immediate" else signal.SIGINT)
    wait_for(lambda: not postmaster_alive(postmaster), 60, "PostgreSQL did not stop")


def _start_postgres(stack: Stack) -> None:
    """Start the stack's PostgreSQL unless the launcher already has (it supervises it)."""
    from kcpsite.embedded import ensure_embedded_postgres

    assert ensure_embedded_postgres(stack.data_dir) == stack.database_url  # same socket: children reconnect


def _ok_after_retries(api: StackApi, method: str, path: str) -> Any:
    """`api.ok`, waiting out 429s as a client does (Retry-After): a test that has just run writers
    flat out into one workspace has spent that tenant's rate limit."""
    deadline = time.monotonic() + 30
    while (reply := api.request(method, path))[0] == 429 and time.monotonic() < deadline:
        time.sleep(int(reply[2].get("retry-after", "1")))
    status, doc, _ = reply
    assert 200 <= status < 300, f"{method} {path} → {status}: {doc}"
    return doc


def _new_workspace(api: StackApi, name: str) -> str:
    api.ok("POST", f"/clusters/root{WORKSPACES}", {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace",
                                                   "metadata": {"name": name}})
    return name


def _phases(api: StackApi, names: list[str]) -> dict[str, str]:
    items = api.ok("GET", f"/clusters/root{WORKSPACES}")["items"]
    found = {i["metadata"]["name"]: (i.get("status") or {}).get("phase", "") for i in items}
    return {n: found.get(n, "missing") for n in names}


def _wait_ready(api: StackApi, names: list[str], timeout: float, why: str) -> None:
    last: dict[str, str] = {}

    def ready() -> bool:
        nonlocal last
        last = _phases(api, names)
        return all(p == "Ready" for p in last.values())

    try:
        wait_for(ready, timeout, why)
    except AssertionError:
        raise AssertionError(f"{why}: not Ready: { {n: p for n, p in last.items() if p != 'Ready'} }") from None


def _workers(stack: Stack) -> dict[str, int]:
    return {name: pid for name, pid in stack.pids.items() if name.startswith("worker")}


def test_acknowledged_writes_survive_a_postgres_crash(own_stack: Stack, api: StackApi) -> None:
    ws = _new_workspace(api, uniq("durable"))
    _wait_ready(api, [ws], 60, "workspace not Ready")
    base = f"/clusters/root:{ws}/api/v1/namespaces/default/configmaps"
    acknowledged: dict[str, str] = {}
    refusals: list[tuple[int, Any, dict[str, str]]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"w{w}-{i}"
            i += 1
            try:
                status, doc, headers = api.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                               "metadata": {"name": name}, "data": {"n": name}})
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)  # the server itself answered nothing: no acknowledgement
                continue
            with lock:
                if status == 201:
                    acknowledged[name] = doc["metadata"]["resourceVersion"]
                else:
                    refusals.append((status, doc, headers))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acknowledged) >= 40, 60, "no writes acknowledged before the crash")
        _crash_postgres(own_stack)
        time.sleep(1.5)
        before_restart = len(acknowledged)
        _start_postgres(own_stack)
        wait_for(lambda: len(acknowledged) >= before_restart + 40, 60, "no writes acknowledged after the restart")
    finally:
        stop.set()
        for t in threads:
            t.join()
    stored = {i["metadata"]["name"]: i for i in _ok_after_retries(api, "GET", base)["items"]}
    lost = sorted(set(acknowledged) - set(stored))
    assert not lost, f"acknowledged but gone after the crash: {lost}"
    for name, rv in acknowledged.items():
        assert stored[name]["data"] == {"n": name} and stored[name]["metadata"]["resourceVersion"] == rv
    # Requests made while the database was down wait for a connection (the pool's timeout) and
    # mostly succeed once it is back; any that fail say so: 503 + Retry-After, never a 500 (or
    # 429 + Retry-After: four writers flat out exceed this stack's per-tenant rate).
    for status, doc, headers in refusals:
        assert doc["kind"] == "Status" and (status, doc["reason"]) in {
            (503, "ServiceUnavailable"), (429, "TooManyRequests")}, (status, doc)
        assert int(headers["retry-after"]) >= 1


def test_a_watch_carries_on_across_a_postgres_restart(own_stack: Stack, api: StackApi) -> None:
    ws = _new_workspace(api, uniq("watched"))
    _wait_ready(api, [ws], 60, "workspace not Ready")
    base = f"/clusters/root:{ws}/api/v1/namespaces/default/configmaps"
    rv = api.ok("GET", base)["metadata"]["resourceVersion"]
    events: list[tuple[str, str, str]] = []
    streams: list[http.client.HTTPSConnection] = []

    def follow(from_rv: str) -> None:
        conn, resp = api.watch(base, from_rv)
        streams.append(conn)
        for line in resp:
            ev = json.loads(line)
            assert ev["type"] != "ERROR", ev  # a 410 would have to be answered by a re-list instead
            events.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"]["resourceVersion"]))

    done = threading.Event()

    def watcher() -> None:
        last = rv
        while len(events) < 6 and not done.is_set():
            try:
                follow(last)
            except Exception:  # noqa: BLE001 - the stream broke (or was closed under it below)
                pass
            if events:
                last = events[-1][2]  # ended: resume where it stopped, as a client does
            time.sleep(0.2)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    api.ok("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}})
    wait_for(lambda: len(events) >= 1, 30, "no event before the restart")
    _crash_postgres(own_stack, mode="fast")
    time.sleep(1)
    _start_postgres(own_stack)
    names = [f"after-{i}" for i in range(5)]
    for name in names:
        deadline = time.monotonic() + 30
        while (status := api.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": name}})[0]) != 201:
            assert status == 503 and time.monotonic() < deadline, status
            time.sleep(0.2)
    try:
        wait_for(lambda: len(events) >= 6, 60, f"watch saw only {events}")
    finally:
        done.set()
        for conn in streams:  # shutdown first: a plain close waits for the reading thread
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
            conn.close()
    assert [(t, n) for t, n, _ in events] == [("ADDED", "before")] + [("ADDED", n) for n in names]
    rvs = [int(r) for _, _, r in events]
    assert rvs == sorted(set(rvs))


def _readyz(api: StackApi, query: str = "") -> tuple[int, str]:
    status, doc, _ = api.request("GET", f"/readyz{query}", timeout=15)
    return status, str(doc)


def test_a_killed_postgres_is_restarted_and_readyz_follows_it(own_stack: Stack, api: StackApi) -> None:
    """kill -9 of the embedded postmaster, the stack left running: the launcher clears what the
    dead server left and starts it (crash recovery), and everything carries on by itself."""
    from kcpsite.embedded import embedded_postgres_lock, live_postmaster

    ws = _new_workspace(api, uniq("crashed"))
    _wait_ready(api, [ws], 60, "workspace not Ready")
    base = f"/clusters/root:{ws}/api/v1/namespaces/default/configmaps"
    acknowledged = {}
    for i in range(20):
        doc = api.ok("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"before-{i}"},
                                    "data": {"n": str(i)}})
        acknowledged[doc["metadata"]["name"]] = doc["metadata"]["resourceVersion"]
    rv_before = api.ok("GET", base)["metadata"]["resourceVersion"]
    daphnes = {name: pid for name, pid in own_stack.pids.items() if name.startswith("daphne")}
    restarts = own_stack.restarts.count(("postgres", None))
    assert _readyz(api) == (200, "ok")
    postmaster = live_postmaster(own_stack.data_dir)
    assert postmaster is not None
    # Holding the server's start lock keeps the launcher's restart waiting, so the test sees the
    # outage for certain instead of racing a restart that takes well under a second.
    with embedded_postgres_lock(own_stack.data_dir):
        os.kill(postmaster.pid, signal.SIGKILL)
        wait_for(lambda: _readyz(api)[0] == 503, 30, "/readyz still ok with the database down")
        status, body = _readyz(api, "?verbose")
        assert status == 503 and "[-]database failed: reason withheld" in body.splitlines(), body
        assert _readyz(api, "?exclude=database") == (200, "ok")
        status, doc, _ = api.request("GET", "/livez")
        assert (status, doc) == (200, "ok")  # liveness is the process: nothing to restart for
    wait_for(lambda: own_stack.restarts.count(("postgres", None)) > restarts, 120, "PostgreSQL not restarted")
    wait_for(lambda: _readyz(api) == (200, "ok"), 60, "/readyz not ok after the restart")
    # Writes resume (the pool replaced its dead connections), reads see every acknowledged write.
    deadline = time.monotonic() + 60
    while (status := api.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                "metadata": {"name": "after"}})[0]) != 201:
        assert status == 503 and time.monotonic() < deadline, status
        time.sleep(0.2)
    stored = {i["metadata"]["name"]: i for i in api.ok("GET", base)["items"]}
    for name, rv in acknowledged.items():
        assert stored[name]["metadata"]["resourceVersion"] == rv and stored[name]["data"] == {"n": name[7:]}
    # The serving process's event pump reconnected: a watch from before the crash sees the new write.
    conn, resp = api.watch(base, rv_before, timeout=30)
    try:
        event = json.loads(resp.readline())
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")
    finally:
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
    # The workers reconnected: a new workspace is reconciled to Ready.
    _wait_ready(api, [_new_workspace(api, uniq("after-crash"))], 60, "workspace not Ready after the restart")
    assert own_stack.failed is None
    assert {name: pid for name, pid in own_stack.pids.items() if name.startswith("daphne")} == daphnes


def test_workers_killed_mid_task_have_their_work_redone(own_stack: Stack, api: StackApi) -> None:
    """Every worker SIGKILLed three times while 30 workspaces are being created: the launcher
    starts them again, the messages they had taken go back to the queue, and every workspace
    becomes Ready (nothing stalls, as a prefork pool whose processes all die at once can)."""
    names = [uniq(f"kill{i}") for i in range(30)]
    creator = threading.Thread(target=lambda: [_new_workspace(api, n) for n in names])
    creator.start()
    killed, restarted_before = 0, len(own_stack.restarts)
    for _ in range(3):
        time.sleep(0.4)
        for pid in _workers(own_stack).values():
            os.kill(pid, signal.SIGKILL)
            killed += 1
        # every one started again before the next round (a pid not yet replaced may be reaped)
        wait_for(lambda k=killed: len(own_stack.restarts) >= restarted_before + k, 30, "workers not restarted")
    creator.join()
    _wait_ready(api, names, 90, "workspaces not Ready after their workers were killed")
    assert own_stack.failed is None
    assert sum(1 for name, rc in own_stack.restarts if name.startswith("worker") and rc == -signal.SIGKILL) >= killed


def test_broker_loss_delays_reconciliation_but_loses_nothing(own_stack: Stack, api: StackApi) -> None:
    """Workers paused, workspaces created, then every queued message deleted (the broker lost
    them): once the workers run again, the periodic resync reconciles the workspaces anyway."""
    workers = list(_workers(own_stack).values())
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        names = [_new_workspace(api, uniq("lost")) for _ in range(5)]
        queue = own_stack.data_dir / "broker" / "queue"
        dropped = [p for p in queue.iterdir() if p.suffix == ".msg"]
        for p in dropped:
            p.unlink(missing_ok=True)
        assert dropped, "no reconcile messages were queued"
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    assert set(_phases(api, names).values()) != {"Ready"}
    _wait_ready(api, names, 90, "workspaces not Ready after their messages were lost")


def test_broker_folder_holds_nothing_stale(own_stack: Stack) -> None:
    """After the kills above: claims of dead workers were returned, none are left behind."""
    claimed = own_stack.data_dir / "broker" / "claimed"

    def settled() -> bool:
        return not any(Path(p).suffix == ".msg" for p in claimed.rglob("*.msg"))

    wait_for(settled, 30, f"messages left in {claimed}")


def test_a_noisy_tenant_gets_429_while_others_are_served(own_stack: Stack, api: StackApi,
                                                         client_binaries: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    noisy, quiet = _new_workspace(api, uniq("noisy")), _new_workspace(api, uniq("quiet"))
    _wait_ready(api, [noisy, quiet], 60, "workspaces not Ready")
    noisy_list = f"/clusters/root:{noisy}/api/v1/namespaces/default/configmaps"
    quiet_list = f"/clusters/root:{quiet}/api/v1/namespaces/default/configmaps"
    statuses: list[int] = []
    refusals: list[tuple[Any, dict[str, str]]] = []
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            status, doc, headers = api.request("GET", noisy_list)
            statuses.append(status)
            if status == 429:
                refusals.append((doc, headers))

    flooders = [threading.Thread(target=flood) for _ in range(8)]
    for t in flooders:
        t.start()
    try:
        wait_for(lambda: len(refusals) >= 20, 60, f"no 429 after {len(statuses)} requests")
        quiet_statuses = [api.request("GET", quiet_list)[0] for _ in range(TENANT_BURST // 2)]
        # The real kubectl in the quiet workspace meanwhile: discovery and a list, not one 429.
        kubectl = client_binaries[0]
        kubeconfig = tmp_path / "kubeconfig"
        config = own_stack.kubeconfig_path.read_text()
        kubeconfig.write_text(config.replace("/clusters/root", f"/clusters/root:{quiet}"))
        result = subprocess.run([str(kubectl), "--kubeconfig", str(kubeconfig), "-v=6", "get", "configmaps",
                                 "-o", "name"], capture_output=True, text=True, timeout=120,
                                env={"HOME": str(tmp_path)})
    finally:
        stop.set()
        for t in flooders:
            t.join()
    assert set(quiet_statuses) == {200}, quiet_statuses
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) > 0
    for doc, headers in refusals:
        assert (doc["kind"], doc["code"], doc["reason"]) == ("Status", 429, "TooManyRequests")
        assert int(headers["retry-after"]) >= 1 and doc["details"]["retryAfterSeconds"] == int(headers["retry-after"])
    assert result.returncode == 0, result.stderr
    assert 'status="200 OK"' in result.stderr and 'status="429' not in result.stderr, result.stderr


def test_concurrent_writers_on_one_object_exactly_one_wins_per_resource_version(own_stack: Stack,
                                                                               api: StackApi) -> None:
    """Eight clients replace the same ConfigMap at once, all from the same resourceVersion, for ten
    rounds: each round exactly one gets 200 and the others 409 Conflict, the stored object is the
    winner's, and its resourceVersion is the winner's answer (no lost update, no double win)."""
    ws = _new_workspace(api, uniq("race"))
    _wait_ready(api, [ws], 60, "workspace not Ready")
    url = f"/clusters/root:{ws}/api/v1/namespaces/default/configmaps"
    current = api.ok("POST", url, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "contended"},
                                   "data": {"writer": "none"}})
    for round_ in range(10):
        rv = current["metadata"]["resourceVersion"]
        barrier = threading.Barrier(8)
        results: dict[int, tuple[int, Any]] = {}

        def replace(w: int, rv: str = rv, barrier: threading.Barrier = barrier,
                    results: dict[int, tuple[int, Any]] = results, round_: int = round_) -> None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "contended", "resourceVersion": rv},
                    "data": {"writer": str(w), "round": str(round_)}}
            barrier.wait()
            status, doc, _ = api.request("PUT", f"{url}/contended", body)
            results[w] = (status, doc)

        threads = [threading.Thread(target=replace, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [w for w, (status, _) in results.items() if status == 200]
        assert len(winners) == 1, {w: s for w, (s, _) in results.items()}
        for w, (status, doc) in results.items():
            if w != winners[0]:
                assert (status, doc["reason"]) == (409, "Conflict"), (status, doc)
        current = api.ok("GET", f"{url}/contended")
        assert current["data"] == {"writer": str(winners[0]), "round": str(round_)}
        assert current["metadata"]["resourceVersion"] == results[winners[0]][1]["metadata"]["resourceVersion"]
        assert int(current["metadata"]["resourceVersion"]) > int(rv)
