"""The storage guarantee behind every watch: revision order equals commit order, the log has no
gaps, and a watcher resuming from ANY retained revision sees every committed change exactly once,
in order — under concurrent writers, rolled-back transactions and slow commits.

Real PostgreSQL, real threads with their own connections, and the real event pump running in
its own asyncio loop."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from kube.storage import backend
from kube.storage.backend import Key, ListScope
from kube.storage.models import Event
from kube.storage.pump import EventPump

pytestmark = pytest.mark.django_db(transaction=True)

CLUSTER = "order-test"
SCOPE = ListScope(CLUSTER, "", "configmaps", "")


class Rollback(Exception):
    pass


def _writer(worker: int, ops: int, committed: list[tuple[int, str, str]], lock: threading.Lock, seed: int) -> None:
    rng = random.Random(seed)
    try:
        for i in range(ops):
            name = f"w{worker}-{rng.randrange(4)}"
            key = Key(CLUSTER, "", "configmaps", "ns", name)
            rollback = rng.random() < 0.2
            slow = rng.random() < 0.2
            try:
                with transaction.atomic():
                    current = backend.get(key, for_update=True)
                    if current is None:
                        body = {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": name, "namespace": "ns", "labels": {"w": str(worker)}},
                            "data": {"i": str(i)},
                        }
                        out = backend.create(key, body)
                        kind = "ADDED"
                    elif rng.random() < 0.25:
                        out = backend.delete(key, current)
                        kind = "DELETED"
                    else:
                        current["data"] = {"i": str(i)}
                        out = backend.update(key, current, prev_labels=current["metadata"].get("labels"))
                        kind = "MODIFIED"
                    if slow:
                        time.sleep(rng.uniform(0.005, 0.03))  # commit late while others wait on the counter
                    if rollback:
                        raise Rollback()
                with lock:
                    committed.append((int(out["metadata"]["resourceVersion"]), kind, name))
            except Rollback:
                pass
    finally:
        connection.close()


def _run_pump_watch(pump_ready: threading.Event, stop: threading.Event, seen: list[int], start_box: list[int]) -> None:
    async def main() -> None:
        pump = EventPump()
        sub = await pump.subscribe(SCOPE)
        start_box.append(sub.start_position)
        pump_ready.set()
        while not stop.is_set() or not sub.queue.empty():
            try:
                ev = await asyncio.wait_for(sub.queue.get(), 0.2)
            except TimeoutError:
                continue
            assert not sub.overflowed
            seen.append(ev.revision)
        await pump.stop()

    try:
        asyncio.run(main())
    finally:
        connection.close()


def test_concurrent_writers_give_a_complete_ordered_log() -> None:
    backend.ensure_revision_row()
    committed: list[tuple[int, str, str]] = []
    lock = threading.Lock()
    pump_ready, stop = threading.Event(), threading.Event()
    live: list[int] = []
    start_box: list[int] = []
    watcher = threading.Thread(target=_run_pump_watch, args=(pump_ready, stop, live, start_box))
    watcher.start()
    assert pump_ready.wait(30)

    writers = [threading.Thread(target=_writer, args=(w, 40, committed, lock, 1000 + w)) for w in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    head = backend.current_revision()
    deadline = time.time() + 20
    while time.time() < deadline and (not live or live[-1] < head):
        time.sleep(0.05)
    stop.set()
    watcher.join(30)

    committed_revs = sorted(r for r, _, _ in committed)
    assert committed_revs, "the writers committed nothing"
    # Dense and commit-ordered: rolled-back transactions gave their numbers back.
    log = list(Event.objects.filter(cluster=CLUSTER).order_by("revision").values_list("revision", "type", "name"))
    assert [r for r, _, _ in log] == committed_revs
    assert committed_revs == list(range(committed_revs[0], committed_revs[-1] + 1))
    assert sorted(committed) == [(r, t, n) for r, t, n in log]
    # The live watcher saw exactly the committed changes, once each, in order.
    start = start_box[0]
    assert live == [r for r in committed_revs if r > start]
    # Resuming from any retained revision replays exactly the suffix, in order.
    for resume in [start, *random.Random(7).sample(committed_revs, 25)]:
        replay: list[int] = []
        after = resume
        while True:
            batch = backend.events_between(SCOPE, after, head, batch=37)
            if not batch:
                break
            replay.extend(e.revision for e in batch)
            after = batch[-1].revision
        assert replay == [r for r in committed_revs if r > resume]


def test_rolled_back_write_leaves_no_event_and_no_revision() -> None:
    backend.ensure_revision_row()
    before = backend.current_revision()
    key = Key(CLUSTER, "", "configmaps", "ns", "ghost")
    with pytest.raises(Rollback):
        with transaction.atomic():
            backend.create(key, {"metadata": {"name": "ghost", "namespace": "ns"}})
            raise Rollback()
    assert backend.current_revision() == before
    assert not Event.objects.filter(name="ghost").exists()
    assert backend.get(key) is None


def test_compaction_raises_the_floor() -> None:
    backend.ensure_revision_row()
    key = Key(CLUSTER, "", "configmaps", "ns", "old")
    with transaction.atomic():
        backend.create(key, {"metadata": {"name": "old", "namespace": "ns"}})
    head = backend.current_revision()
    assert backend.compact(older_than_seconds=0) >= 1
    assert backend.compacted_revision() == head
    assert backend.events_between(SCOPE, 0, head) == []


def _write_configmaps(names: list[str]) -> list[int]:
    revisions = []
    for name in names:
        with transaction.atomic():
            out = backend.create(Key(CLUSTER, "", "configmaps", "ns", name),
                                 {"metadata": {"name": name, "namespace": "ns"}})
        revisions.append(int(out["metadata"]["resourceVersion"]))
    connection.close()
    return revisions


def test_a_pump_nobody_subscribes_to_reads_nothing_and_wakes_up_exact() -> None:
    """With no subscriber the pump reads no events however many are written; the next subscriber
    starts at the latest committed revision and then sees every later event once, in order."""
    from channels.db import database_sync_to_async

    backend.ensure_revision_row()
    write = database_sync_to_async(_write_configmaps)

    async def collect(sub: Any, n: int) -> list[int]:
        return [(await asyncio.wait_for(sub.queue.get(), 10)).revision for _ in range(n)]

    async def main() -> None:
        pump = EventPump()
        first = await pump.subscribe(SCOPE)
        revs = await write(["d1", "d2"])
        assert await collect(first, 2) == revs
        pump.unsubscribe(first)
        await write(["d3"])  # rings the doorbell: the pump looks, finds nobody, goes dormant
        for _ in range(100):
            if pump._dormant:
                break
            await asyncio.sleep(0.02)
        assert pump._dormant
        reads = pump.fetches
        unseen = await write([f"e{i}" for i in range(20)])
        await asyncio.sleep(0.3)  # doorbells arrive; a dormant pump does not read
        assert pump.fetches == reads
        second = await pump.subscribe(SCOPE)
        assert second.start_position == unseen[-1]
        later = await write(["f1", "f2", "f3"])
        assert await collect(second, 3) == later
        assert second.queue.empty()
        await pump.stop()

    try:
        asyncio.run(main())
    finally:
        connection.close()
