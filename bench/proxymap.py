"""The front proxy's route map at scale: `python -m bench.proxymap [--quick] [--workspaces N]
[--reference R] [--samples S] [--database-url URL]`.

Two HAProxy processes on the project's generated configuration (frontproxy.config, as
`manage.py kcp_proxy_config` writes it for `make run SHARDS=N`), each in front of the same two
stand-in shards (bench.shardstub: 200 to everything): **big**, whose map ends up holding N
workspaces (2N keys: path and logical cluster name), and **ref**, holding R (1,000). Both run
through the whole measurement, so every ratio compares figures taken side by side (requests
alternate between them). The directory is `kcp_directory` in a scratch database (bench.directory's
seeding: `--database-url` names a migrated database to use instead). Everything goes through the
route syncer's own code (`frontproxy.syncer.RouteSyncer`, one per proxy).

In order:

1. R workspaces seeded; ref's **full replace** (`RouteSyncer.full_replace()` is `write_map_file()`,
   the directory streamed into the map file, then `push_map_file()`, the file pushed by `prepare
   map` / `add map` in chunks of ≤ 8 KiB / `commit map`), each half timed, HAProxy's RSS before/after;
2. grown to N; big's full replace the same way (first: into an empty map), then a second one
   (the syncer's steady state: every 60 s and after any reconnect, with the map already full), with
   HAProxy's peak RSS during each (the old and the new version coexist until the commit);
3. **route lookup**: S sequential GETs of `/clusters/<key>/api` for random known keys over one
   keep-alive TLS connection per proxy, alternating big and ref; the same for unknown keys (the
   403 HAProxy answers itself: the lookup with no backend after it); a smaller sample with a new
   TLS connection per request;
4. **incremental**: I new directory rows (Ready), each pushed by `RouteSyncer.apply()` (the path
   a notification takes: the row read back, a lookup and an add per key) to both proxies, timed;
   ten of them moved to the other shard (a changed value: `set map`, which HAProxy 2.6 does by
   walking the whole map), timed, while a client keeps requesting another workspace through each
   proxy (what other requests see meanwhile); then each unrouted (phase Deleting, `apply()` adds its keys to
   `gone.map`), timed; a few checked through the proxies (200, then 403);
5. **map load at start**: each proxy restarted with its map file present (ref, big, twice): the
   seconds from exec until its runtime socket accepts (HAProxy binds after loading its maps) and
   the RSS once up.

Cleanup: both HAProxy processes, the stand-ins, the temporary directory, the seeded rows (or the
scratch database). The last line of stdout is a JSON summary; progress goes to stderr."""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .directory import PREFIX, cleanup, seed, seeded_keys
from .haproxy import PeakRss, Prober, Proxy, Stub
from .stats import summarize

SHARDS = ["root", "shard-1"]
QUICK_WORKSPACES = 50_000


def _progress(msg: str) -> None:
    print(f"  proxymap: {msg}", file=sys.stderr, flush=True)


def _dist(values: list[float]) -> dict[str, float | int] | None:
    s = summarize(values)
    return s.as_ms() if s else None


def _cursor() -> Any:
    from django.db import connections

    from shards.directory import directory_alias

    return connections[directory_alias()].cursor()


def _cleanup_rows() -> None:
    with _cursor() as cur:
        cleanup(cur)


def full_replace(proxy: Proxy, syncer: Any) -> dict[str, Any]:
    """`syncer.full_replace()`'s two halves, timed, with HAProxy's RSS before, at peak and after."""
    before = proxy.rss()
    began = time.perf_counter()
    syncer.write_map_file()
    written = time.perf_counter()
    with PeakRss(proxy) as peak:
        syncer.push_map_file()
    pushed = time.perf_counter()
    if syncer.stats.last_error:
        raise RuntimeError(f"route syncer: {syncer.stats.last_error}")
    return {"keys": syncer.stats.entries, "file_seconds": written - began, "push_seconds": pushed - written,
            "seconds": pushed - began, "rss_before": before, "rss_peak": peak.peak, "rss_after": proxy.rss()}


def lookups(big: Proxy, ref: Proxy, workspaces: int, reference: int, samples: int) -> dict[str, Any]:
    """Request latency through each proxy: known keys, unknown keys, known keys on new connections."""
    out: dict[str, Any] = {}
    clients = {"big": big.client(), "ref": ref.client()}
    sizes = {"big": workspaces, "ref": reference}

    def known(which: str) -> str:
        path, name = seeded_keys(random.randint(1, sizes[which]), sizes[which])
        return random.choice((path, name))

    kinds: list[tuple[str, Any, int, int, bool]] = [
        ("known", known, 200, samples, False),
        ("unknown", lambda which: f"root:{PREFIX}missing-{random.randint(1, 10**9)}", 403, samples, False),
        ("known_new_connection", known, 200, max(50, samples // 5), True),
    ]
    try:
        for kind, key, status, count, fresh in kinds:
            for c in clients.values():  # warm: the connection, HAProxy's idle server connections
                for _ in range(20):
                    c.get(f"/clusters/{key('ref')}/api")
            got: dict[str, list[float]] = {"big": [], "ref": []}
            for i in range(count):
                for which in (("big", "ref") if i % 2 else ("ref", "big")):
                    code, seconds = clients[which].get(f"/clusters/{key(which)}/api", fresh=fresh)
                    if code != status:
                        raise RuntimeError(f"{kind} key through {which}: {code}, expected {status}")
                    got[which].append(seconds)
            out[kind] = {which: _dist(v) for which, v in got.items()}
    finally:
        for c in clients.values():
            c.close()
    return out


def incremental(proxies: dict[str, tuple[Proxy, Any]], count: int, moves: int) -> dict[str, Any]:
    """Route `count` new workspaces through `apply()`, move `moves` of them to the other shard,
    then unroute them all, timing each push."""
    timings: dict[str, dict[str, list[float]]] = {w: {"add": [], "move": [], "unroute": []} for w in proxies}
    rows = [(f"{PREFIX}n{i}", f"root:{PREFIX}new-{i}") for i in range(count)]

    def push(op: str, i: int, name: str, path: str) -> None:
        order = list(proxies) if i % 2 else list(reversed(proxies))
        for which in order:
            syncer = proxies[which][1]
            began = time.perf_counter()
            syncer.apply(({name}, {path}))
            timings[which][op].append(time.perf_counter() - began)
            if syncer.stats.last_error:
                raise RuntimeError(f"route syncer ({which}): {syncer.stats.last_error}")

    def check(name: str, path: str, status: int) -> None:
        for which, (proxy, _) in proxies.items():
            client = proxy.client()
            try:
                for key in (name, path):
                    code, _ = client.get(f"/clusters/{key}/api")
                    if code != status:
                        raise RuntimeError(f"{key} through {which} after apply(): {code}, expected {status}")
            finally:
                client.close()

    for i, (name, path) in enumerate(rows):
        with _cursor() as cur:
            cur.execute("INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type,"
                        " spec, created_at, updated_at) VALUES (%s, %s, 'root', %s, '', %s, 'Ready', '', '{}',"
                        " now(), now())", [name, path, path.rsplit(":", 1)[1], SHARDS[i % 2]])
        push("add", i, name, path)
    for name, path in rows[:3]:
        check(name, path, 200)
    # A route whose value changes (its workspace moved to the other shard): the one case that
    # needs `set map`, which walks the whole map in HAProxy 2.6. A few only: it is the slow one.
    # Meanwhile a client keeps requesting another workspace through each proxy: does a walk of
    # the whole map hold up the requests that look it up?
    with contextlib.ExitStack() as probing:
        probers = {which: probing.enter_context(Prober(proxy, f"/clusters/{rows[-1][1]}/api"))
                   for which, (proxy, _) in proxies.items()}
        for i, (name, path) in enumerate(rows[:moves]):
            with _cursor() as cur:
                cur.execute("UPDATE kcp_directory SET shard = %s WHERE name = %s", [SHARDS[(i + 1) % 2], name])
            push("move", i, name, path)
    for which, (_, syncer) in proxies.items():
        for i, (name, _) in enumerate(rows[:moves]):
            if syncer.haproxy.map_get(syncer.map_file, name) != f"{SHARDS[(i + 1) % 2]}/{name}":
                raise RuntimeError(f"{name} through {which}: not moved to its new shard by apply()")
    for i, (name, path) in enumerate(rows):
        with _cursor() as cur:
            cur.execute("UPDATE kcp_directory SET phase = 'Deleting' WHERE name = %s", [name])
        push("unroute", i, name, path)
    for name, path in rows[:3]:
        check(name, path, 403)
    with _cursor() as cur:
        cur.execute("DELETE FROM kcp_directory WHERE name LIKE %s", [f"{PREFIX}n%"])
    return {which: {**{op: _dist(v) for op, v in ops.items()}, "requests_during_moves": _dist(probers[which].latencies)}
            for which, ops in timings.items()}


def restarts(proxies: dict[str, tuple[Proxy, Any]], rounds: int, probes: dict[str, str]) -> dict[str, Any]:
    """Restart each proxy `rounds` times with its map file present: load seconds and RSS once up;
    a known key (`probes`) is checked to route after each start."""
    out: dict[str, dict[str, list[float]]] = {w: {"seconds": [], "rss": []} for w in proxies}
    for _ in range(rounds):
        for which, (proxy, syncer) in proxies.items():
            proxy.stop()
            syncer.haproxy.close()  # its runtime connection went with the process
            seconds = proxy.start()
            proxy.wait_backends_up()
            out[which]["seconds"].append(seconds)
            out[which]["rss"].append(proxy.rss())
            client = proxy.client()
            try:
                code, _ = client.get(f"/clusters/{probes[which]}/api")
            finally:
                client.close()
            if code != 200:
                raise RuntimeError(f"{probes[which]} through {which} after a restart: {code}")
    return {w: {**v, "median_seconds": sorted(v["seconds"])[len(v["seconds"]) // 2], "max_rss": max(v["rss"])}
            for w, v in out.items()}


def run(workspaces: int, reference: int, samples: int, changes: int, rounds: int) -> dict[str, Any]:
    """The steps of the module docstring (Django set up on the database to use)."""
    from frontproxy.syncer import RouteSyncer
    from kcpsite.tls import ensure_tls

    reference = min(reference, workspaces)
    result: dict[str, Any] = {"workspaces": workspaces, "reference": reference, "samples": samples,
                              "incremental_changes": changes, "restart_rounds": rounds}
    tmp = Path(tempfile.mkdtemp(prefix="proxymap-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        _cleanup_rows()
        stack.callback(_cleanup_rows)
        tls = ensure_tls(tmp / "tls")
        stubs = []
        for name in SHARDS:
            stub = Stub(name, tls.server_cert, tls.server_key)
            stack.callback(stub.stop)
            stubs.append(stub.start())
        proxies: dict[str, tuple[Proxy, Any]] = {}
        for which in ("ref", "big"):
            proxy = Proxy(tmp / which, tls.ca_cert, tls.server_cert, tls.server_key, stubs)
            proxy.configure()
            stack.callback(proxy.stop)
            proxy.start()
            proxy.wait_backends_up()
            syncer = RouteSyncer(proxy.files)
            stack.callback(syncer.haproxy.close)
            proxies[which] = (proxy, syncer)
        big, big_syncer = proxies["big"]
        ref, ref_syncer = proxies["ref"]
        result["rss_empty"] = {"big": big.rss(), "ref": ref.rss()}

        with _cursor() as cur:
            seed(cur, reference, 0, shard_names=SHARDS)
        _progress(f"full replace of the reference map: {reference:,} workspaces")
        result["replace_reference"] = full_replace(ref, ref_syncer)
        _progress(f"seeding the directory up to {workspaces:,} workspaces")
        with _cursor() as cur:
            result["seed_seconds"] = seed(cur, workspaces, 0, entries_from=reference, shard_names=SHARDS)
        _progress(f"full replace of the big map: {workspaces:,} workspaces ({2 * workspaces:,} keys)")
        result["replace_first"] = full_replace(big, big_syncer)
        _progress("full replace again, the map already full (the syncer's periodic resync)")
        result["replace_again"] = full_replace(big, big_syncer)
        _progress(f"route lookups through both proxies: {samples} requests per kind and proxy")
        result["lookup"] = lookups(big, ref, workspaces, reference, samples)
        _progress(f"incremental: {changes} workspaces routed, then unrouted, through apply()")
        result["incremental"] = incremental(proxies, changes, min(10, changes))
        _progress(f"restarts with the map files present: {rounds} per proxy")
        probes = {"big": seeded_keys(workspaces, workspaces)[0], "ref": seeded_keys(reference, reference)[1]}
        result["restart"] = restarts(proxies, rounds, probes)
        result["map_file_bytes"] = {"big": big.files.routes_map.stat().st_size,
                                    "ref": ref.files.routes_map.stat().st_size}
        _progress("cleaning up")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxymap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_WORKSPACES:,} workspaces, fewer samples")
    parser.add_argument("--workspaces", type=int, default=0, help="default 1,000,000 (--quick: 50,000)")
    parser.add_argument("--reference", type=int, default=1000, help="workspaces in the reference map")
    parser.add_argument("--samples", type=int, default=0, help="requests per kind and proxy (default 2,000; "
                                                               "--quick: 500)")
    parser.add_argument("--changes", type=int, default=0, help="incremental routes (default 200; --quick: 50)")
    parser.add_argument("--restarts", type=int, default=3, help="restarts per proxy")
    parser.add_argument("--database-url", default="", help="a migrated database to use (default: a scratch one)")
    args = parser.parse_args(argv)
    workspaces = args.workspaces or (QUICK_WORKSPACES if args.quick else 1_000_000)
    samples = args.samples or (500 if args.quick else 2000)
    changes = args.changes or (50 if args.quick else 200)
    from .scratch import django_on_database

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds: HAProxy, the stand-ins, the database

    signal.signal(signal.SIGTERM, terminate)
    with django_on_database(args.database_url or None, "proxymap"):
        result = run(workspaces, args.reference, samples, changes, args.restarts)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
