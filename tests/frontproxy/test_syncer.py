"""The route syncer against a real HAProxy and the directory table (committed rows: the NOTIFY
trigger fires on commit): full replace on start, a new route within 1 s of its row, a removed
one within 1 s, the map file rewritten, and healing after HAProxy restarts or the syncer missed
notifications."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shards.models import DIRECTORY_CHANNEL, DirectoryEntry

from .harness import Proxy, wait_for
from .harness import entry as _entry
from .harness import routed as _routed

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _time_until(check: Any, timeout: float, what: str) -> float:
    began = time.monotonic()
    wait_for(check, timeout, what, every=0.02)
    return time.monotonic() - began


def test_full_replace_then_incremental_changes_within_a_second(make_proxy: Any, running: Any) -> None:
    _entry("root", "root", shard="root")
    _entry("2org", "root:org")
    _entry("3init", "root:org:init", phase="Initializing")
    _entry("4sched", "root:sched", phase="Scheduling")
    _entry("5gone", "root:gone", phase="Deleting")
    proxy: Proxy = make_proxy({})
    assert _routed(proxy, "root:org") is None
    syncer = running(proxy).syncer
    wait_for(lambda: syncer.stats.full_replaces >= 1, 10, "the first full replace")
    assert _routed(proxy, "root") == ("root", "/clusters/root/api")
    assert _routed(proxy, "root:org") == ("shard-1", "/clusters/2org/api")
    assert _routed(proxy, "2org") == ("shard-1", "/clusters/2org/api")
    assert _routed(proxy, "root:org:init") == ("shard-1", "/clusters/3init/api")
    for unrouted in ("root:sched", "4sched", "root:gone", "5gone"):
        assert _routed(proxy, unrouted) is None
    assert sorted(proxy.files.routes_map.read_text().splitlines()) == sorted([
        "root root/root", "root:org shard-1/2org", "2org shard-1/2org", "root:org:init shard-1/3init",
        "3init shard-1/3init"])

    # A new Ready entry routes within a second, by path and by name.
    entry = _entry("6new", "root:org:new", phase="Scheduling")
    time.sleep(0.2)
    assert _routed(proxy, "root:org:new") is None
    entry.phase = "Ready"
    entry.save()
    assert _time_until(lambda: _routed(proxy, "root:org:new"), 1.0, "new route") < 1.0
    assert _routed(proxy, "6new") == ("shard-1", "/clusters/6new/api")
    # The map file follows shortly after.
    wait_for(lambda: "root:org:new shard-1/6new" in proxy.files.routes_map.read_text(), 3, "map file rewritten")

    # Leaving the routed phases removes it within a second; so does deleting the row.
    entry.phase = "Deleting"
    entry.save()
    assert _time_until(lambda: _routed(proxy, "root:org:new") is None, 1.0, "route removed") < 1.0
    assert _routed(proxy, "6new") is None
    DirectoryEntry.objects.filter(name="3init").delete()
    assert _time_until(lambda: _routed(proxy, "3init") is None, 1.0, "deleted row unrouted") < 1.0
    assert _routed(proxy, "root:org:init") is None
    wait_for(lambda: "3init" not in proxy.files.routes_map.read_text(), 3, "map file rewritten")


def test_a_path_taken_over_while_the_old_cluster_is_deleting_keeps_the_new_route(make_proxy: Any,
                                                                                 running: Any) -> None:
    old = _entry("7old", "root:team", shard="root")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: _routed(proxy, "root:team") == ("root", "/clusters/7old/api"), 5, "old route")
    old.phase = "Deleting"
    old.save()
    _entry("8new", "root:team")
    wait_for(lambda: _routed(proxy, "root:team") == ("shard-1", "/clusters/8new/api"), 2, "new route")
    changes = syncer.stats.changes
    old.delete()  # its notification names the path the new cluster now owns
    wait_for(lambda: syncer.stats.changes > changes, 2, "the delete seen")
    assert _routed(proxy, "root:team") == ("shard-1", "/clusters/8new/api")
    assert _routed(proxy, "7old") is None


def test_a_restarted_haproxy_starts_from_the_file_and_is_synced_again(make_proxy: Any, running: Any) -> None:
    _entry("root", "root", shard="root")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: syncer.stats.full_replaces >= 1, 10, "the first full replace")
    _entry("9a", "root:a")
    wait_for(lambda: _routed(proxy, "root:a"), 2, "route a")
    wait_for(lambda: "root:a " in proxy.files.routes_map.read_text(), 3, "map file rewritten")
    proxy.stop()
    _entry("9b", "root:b")  # while HAProxy is down
    wait_for(lambda: "root:b " in proxy.files.routes_map.read_text(), 3, "map file rewritten while down")
    proxy.start(healthy=("root", "shard-1"))
    # The file alone already routes both; the syncer reconnects and replaces the map again.
    assert _routed(proxy, "root:a") == ("shard-1", "/clusters/9a/api")
    assert _routed(proxy, "root:b") == ("shard-1", "/clusters/9b/api")
    replaces = syncer.stats.full_replaces
    _entry("9c", "root:c")
    wait_for(lambda: _routed(proxy, "root:c"), 5, "route c after the restart")
    wait_for(lambda: syncer.stats.full_replaces > replaces, 5, "a full replace after the reconnect")


def test_notifications_missed_while_the_syncer_was_down_are_healed_on_start(make_proxy: Any, running: Any) -> None:
    _entry("root", "root", shard="root")
    proxy: Proxy = make_proxy({})
    first = running(proxy)
    wait_for(lambda: first.syncer.stats.full_replaces >= 1, 10, "the first full replace")
    first.close()
    _entry("aa1", "root:missed")  # nobody listens: routes stay frozen
    time.sleep(0.3)
    assert _routed(proxy, "root:missed") is None and _routed(proxy, "root") == ("root", "/clusters/root/api")
    running(proxy)
    wait_for(lambda: _routed(proxy, "root:missed"), 5, "healed by the full replace on start")


def test_periodic_full_replace_heals_a_map_changed_behind_its_back(make_proxy: Any, running: Any) -> None:
    from frontproxy.runtime import RuntimeAPI

    _entry("root", "root", shard="root")
    _entry("bb1", "root:kept")
    dropped = _entry("bb2", "root:dropped")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy, resync_every=1.0).syncer
    wait_for(lambda: _routed(proxy, "root:kept"), 5, "route")
    # An unrouted key goes to the small gone map (not `del map` on the big one) until the next
    # full replace rebuilds the big map without it and empties the gone map.
    replaces = syncer.stats.full_replaces
    dropped.delete()
    with RuntimeAPI(proxy.files.socket) as api:
        wait_for(lambda: api.map_get(proxy.files.gone_map, "root:dropped") == "1", 2, "gone")
        assert _routed(proxy, "root:dropped") is None and _routed(proxy, "bb2") is None
        wait_for(lambda: syncer.stats.full_replaces > replaces, 5, "the next periodic replace")
        assert api.map_get(proxy.files.gone_map, "root:dropped") is None
        assert api.map_get(proxy.files.routes_map, "root:dropped") is None
    with RuntimeAPI(proxy.files.socket) as api:
        api.map_del(proxy.files.routes_map, "root:kept")
        api.map_set(proxy.files.routes_map, "root:stray", "root/stray")
    assert _routed(proxy, "root:kept") is None
    replaces = syncer.stats.full_replaces
    wait_for(lambda: syncer.stats.full_replaces > replaces, 5, "the next periodic replace")
    assert _routed(proxy, "root:kept") == ("shard-1", "/clusters/bb1/api")
    assert _routed(proxy, "root:stray") is None


def test_haproxy_drops_an_add_made_between_prepare_and_commit(make_proxy: Any) -> None:
    """Why the syncer never interleaves: `add map` without a version writes the current version,
    and `commit map @<new>` purges every older version, so an incremental add made while a full
    replace is prepared is lost at its commit. One connection, one command at a time, and
    notifications applied only after the commit (below) keep that from happening."""
    from frontproxy.runtime import RuntimeAPI

    proxy: Proxy = make_proxy({"root": "root/root"})
    with RuntimeAPI(proxy.files.socket) as api:
        version = api.command(f"prepare map {proxy.files.routes_map}").split(":", 1)[1].strip()
        api.command(f"add map @{version} {proxy.files.routes_map}", "root root/root")
        api.map_add(proxy.files.routes_map, "root:between", "shard-1/between")
        assert _routed(proxy, "root:between") == ("shard-1", "/clusters/between/api")
        assert api.command(f"commit map @{version} {proxy.files.routes_map}") == ""
        assert api.map_get(proxy.files.routes_map, "root:between") is None
    assert _routed(proxy, "root:between") is None


def _force_full_replace() -> None:
    """A notification the syncer cannot read makes it heal with a full replace (frontproxy.syncer)."""
    from django.db import connections, router

    with connections[router.db_for_write(DirectoryEntry)].cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, 'not json')", [DIRECTORY_CHANNEL])


def test_a_route_committed_during_a_full_replace_is_routed_after_it_and_stays(make_proxy: Any, running: Any) -> None:
    """The suspected race: a full replace whose snapshot predates a new route, committed after
    that route was added. The row is committed while the replace is being pushed (after its
    snapshot, between `prepare` and `commit`); its notification waits on the LISTEN connection
    and is applied after the commit, so the route appears within a second (the periodic replace
    is a minute away) and the next replace, whose snapshot is taken after every change already
    applied, keeps it."""
    import threading
    from collections.abc import Iterable, Iterator

    _entry("root", "root", shard="root")
    proxy: Proxy = make_proxy({})
    syncer = running(proxy).syncer
    wait_for(lambda: syncer.stats.full_replaces >= 1, 10, "the first full replace")
    real = syncer.haproxy.map_replace
    fired = threading.Event()
    pushed: set[str] = set()
    pushed_done = threading.Event()

    def commit_during_the_push(map_file: Any, entries: Iterable[tuple[str, str]]) -> int:
        def stream(armed: bool) -> Iterator[tuple[str, str]]:
            for key, value in entries:
                if armed:
                    pushed.add(key)
                yield key, value
                if not fired.is_set():
                    _entry("crace", "root:race")  # committed after the snapshot, before the commit
                    fired.set()
        count = real(map_file, stream(not fired.is_set()))
        pushed_done.set()
        return count

    syncer.haproxy.map_replace = commit_during_the_push  # type: ignore[method-assign]
    _force_full_replace()
    wait_for(pushed_done.is_set, 5, "a full replace with the row committed during its push")
    assert fired.is_set() and "root" in pushed
    assert "root:race" not in pushed and "crace" not in pushed  # its snapshot predates the row
    assert _time_until(lambda: _routed(proxy, "root:race"), 1.0, "routed from its notification") < 1.0
    replaces = syncer.stats.full_replaces
    _force_full_replace()
    deadline = time.monotonic() + 5
    while syncer.stats.full_replaces == replaces:  # and through the next full replace, never dropped
        assert _routed(proxy, "root:race") == ("shard-1", "/clusters/crace/api")
        assert time.monotonic() < deadline, "no full replace"
        time.sleep(0.01)
    assert _routed(proxy, "root:race") == ("shard-1", "/clusters/crace/api")
    assert _routed(proxy, "crace") == ("shard-1", "/clusters/crace/api")
