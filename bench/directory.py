"""The global directory at scale, by simulation: `python -m bench.directory [--quick] [--entries N]
[--shards M] [--samples S] [--database-url URL]`.

Database: `--database-url` names a migrated database (e.g. a running stack's: single-shard mode
keeps the directory and the shard records there); only rows named `dirbench-*` are written, and
deleted at the end. Without it, a scratch database is created and migrated (on DATABASE_URL's
server when that is set, else an embedded PostgreSQL in a temporary directory) and dropped after.

Setup (not measured): directory entries (`kcp_directory`: paths `root:dirbench-<i>`, a tenth of
them one level deeper as `root:dirbench-<i>:child`, spread over the shards) and shard records
(`kcp_shards`) with a fresh heartbeat, a `region` label out of 20 and a few cordoned, each batch
in one statement. First the reference size (1,000 entries on 100 shards), measured; then grown to
N entries on M shards, measured again. Measured at both sizes, through the project's own
functions (the code a shard runs):

- path resolution (`shards.directory.directory_resolve`): S random paths, p50/p99;
- placement (`shards.services.shard_choose`): with no selector and with a `region` selector
  (the seeded shards' heartbeats kept fresh between samples, so all but the cordoned are eligible:
  `eligible` counts them);
- a placement committed (`directory_place`), p50/p99;
- marking a subtree of 101 entries Deleting (`directory_mark_deleting`, rolled back; five times);
- the table's and its indexes' size.

The last line of stdout is a JSON summary (`reference` and `full`, each with the figures above);
progress goes to stderr."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

PREFIX = "dirbench-"
REFERENCE = (1_000, 100)  # entries, shards
QUICK = (50_000, 1_000)


def _progress(msg: str) -> None:
    print(f"  directory: {msg}", file=sys.stderr, flush=True)


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": pick(0.50) * 1000, "p99_ms": pick(0.99) * 1000, "n": len(ordered)}


def _timed(fn: Any, samples: int, between: Any = None) -> dict[str, float]:
    """p50/p99 of `fn(i)` for i < samples; `between()`, if given, runs before each, untimed."""
    out = []
    for i in range(samples):
        if between is not None:
            between()
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return _quantiles(out)


def _top(entries: int) -> int:
    """How many of `entries` sit directly under root (the rest are their `:child`ren)."""
    return entries - entries // 10


def seeded_keys(i: int, entries: int) -> tuple[str, str]:
    """(path, logical cluster name) of the `i`-th (1-based) of `entries` seeded entries: the first
    `_top(entries)` are `root:dirbench-<i>`, the rest their `:child`ren. The first n of a directory
    grown from n entries are the same entries."""
    top = _top(entries)
    if i <= top:
        return f"root:{PREFIX}{i}", f"{PREFIX}c{i}"
    return f"root:{PREFIX}{i - top}:child", f"{PREFIX}d{i - top}"


def seed(cur: Any, entries: int, shards: int, *, entries_from: int = 0, shards_from: int = 0,
         shard_names: list[str] | None = None) -> float:
    """Grow the seeded directory from `entries_from` to `entries` entries and the shard records from
    `shards_from` to `shards` (new entries spread over all `shards`, or over `shard_names` when
    given: shards that exist elsewhere); the seconds it took."""
    began = time.monotonic()
    names = shard_names or [f"{PREFIX}s{g}" for g in range(1, shards + 1)]
    cur.execute(
        "INSERT INTO kcp_shards (name, base_url, external_url, virtual_workspace_url, labels, heartbeat, cordoned,"
        " soft_limit, hard_limit, used_workspaces, registered_at)"
        " SELECT %s || g, 'https://s' || g || '.example', '', '', jsonb_build_object('region', 'r' || (g %% 20)),"
        " now(), g %% 97 = 0, 0, 0, (g * 7919) %% 1000, now() FROM generate_series(%s::int, %s::int) g",
        [f"{PREFIX}s", shards_from + 1, shards],
    )
    # Top-level entries under root, then a tenth of them get one child each.
    cur.execute(
        "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec, created_at,"
        " updated_at) SELECT %s || g, 'root:' || %s || g, 'root', %s || g, %s || g, (%s::text[])[g %% %s + 1],"
        " 'Ready', 'root:universal', '{}', now(), now() FROM generate_series(%s::int, %s::int) g",
        [f"{PREFIX}c", PREFIX, PREFIX, f"{PREFIX}u", names, len(names), _top(entries_from) + 1, _top(entries)],
    )
    cur.execute(
        "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec, created_at,"
        " updated_at) SELECT %s || g, 'root:' || %s || g || ':child', %s || g, 'child', %s || g,"
        " (%s::text[])[g %% %s + 1], 'Ready', 'root:universal', '{}', now(), now()"
        " FROM generate_series(%s::int, %s::int) g",
        [f"{PREFIX}d", PREFIX, f"{PREFIX}c", f"{PREFIX}v", names, len(names), entries_from // 10 + 1, entries // 10],
    )
    cur.execute("ANALYZE kcp_directory")
    cur.execute("ANALYZE kcp_shards")
    return time.monotonic() - began


def cleanup(cur: Any) -> None:
    """Delete the seeded rows, then VACUUM: a million dead rows left behind would be scanned by
    whatever reads the table next (the proxy bench's full replace on the same database)."""
    cur.execute("DELETE FROM kcp_directory WHERE name LIKE %s", [f"{PREFIX}%"])
    cur.execute("DELETE FROM kcp_shards WHERE name LIKE %s", [f"{PREFIX}%"])
    if cur.connection.autocommit:  # not possible inside a transaction
        cur.execute("VACUUM ANALYZE kcp_directory, kcp_shards")


def measure(label: str, entries: int, samples: int) -> dict[str, Any]:
    """The figures of the module docstring with `entries` entries seeded."""
    from django.db import connections, transaction

    from shards.directory import directory_alias, directory_mark_deleting, directory_place, directory_resolve
    from shards.selectors import shard_candidates
    from shards.services import shard_choose

    result: dict[str, Any] = {}
    paths = [f"root:{PREFIX}{random.randint(1, _top(entries))}" for _ in range(samples)]
    result["resolve"] = _timed(lambda i: directory_resolve(path=paths[i]), samples)
    conn = connections[directory_alias()]
    beat = [0.0]

    def heartbeat() -> None:
        """The seeded shards beat (untimed) every 5 s: a record older than STALE_SECONDS is not
        eligible, and seeding a million entries takes longer than that."""
        if time.monotonic() - beat[0] > 5:
            with conn.cursor() as cur:
                cur.execute("UPDATE kcp_shards SET heartbeat = now() WHERE name LIKE %s", [f"{PREFIX}%"])
            beat[0] = time.monotonic()

    def choose(selector: dict[str, Any] | None) -> None:
        if shard_choose(cluster="root", selector=selector) is None:
            raise RuntimeError("no eligible shard: the measurement would time an empty answer")

    region = {"matchLabels": {"region": "r7"}}
    heartbeat()
    result["eligible"] = len(shard_candidates(cluster="root"))
    result["eligible_selector"] = len(shard_candidates(cluster="root", selector=region))
    result["place_any"] = _timed(lambda i: choose(None), samples, heartbeat)
    result["place_selector"] = _timed(lambda i: choose(region), samples, heartbeat)

    def place(i: int) -> None:
        directory_place(
            name=f"{PREFIX}p{label}{i}",
            path=f"root:{PREFIX}placed-{label}{i}",
            parent="root",
            workspace=f"{PREFIX}placed-{label}{i}",
            owner_uid=f"{PREFIX}w{label}{i}",
            shard=f"{PREFIX}s1",
            type="root:universal",
            spec={"initializers": ["root:universal"]},
        )

    result["place_commit"] = _timed(place, samples)
    # A subtree of 100 below an entry that already has one child: inserted, marked, rolled back;
    # five times (one statement each: its median and its slowest).
    marks: list[float] = []
    for _ in range(5):
        with transaction.atomic(using=directory_alias()), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec,"
                " created_at, updated_at) SELECT %s || g, 'root:' || %s || '1:sub' || g, %s, 'sub' || g, '',"
                " %s, 'Ready', 'root:universal', '{}', now(), now() FROM generate_series(1, 99) g",
                [f"{PREFIX}t", PREFIX, f"{PREFIX}c1", f"{PREFIX}s1"],
            )
            began = time.perf_counter()
            marked = directory_mark_deleting(name=f"{PREFIX}c1")
            marks.append((time.perf_counter() - began) * 1000)
            result["mark_subtree_entries"] = len(marked)
            transaction.set_rollback(True, using=directory_alias())
    result["mark_subtree_ms"] = sorted(marks)[len(marks) // 2]
    result["mark_subtree_max_ms"] = max(marks)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('kcp_directory'), pg_indexes_size('kcp_directory')")
        total, indexes = cur.fetchone()
    result["table_bytes"], result["index_bytes"] = int(total), int(indexes)
    return result


def run(entries: int, shards: int, samples: int, reference: tuple[int, int] = REFERENCE) -> dict[str, Any]:
    """Seed and measure at `reference` (entries, shards), then at `entries` and `shards` (Django
    set up on the database to use)."""
    from django.db import connections

    from shards.directory import directory_alias

    ref_entries, ref_shards = min(reference[0], entries), min(reference[1], shards)
    conn = connections[directory_alias()]
    result: dict[str, Any] = {"entries": entries, "shards": shards, "reference_entries": ref_entries,
                              "reference_shards": ref_shards, "samples": samples}
    with conn.cursor() as cur:
        cleanup(cur)
    try:
        with conn.cursor() as cur:
            _progress(f"seeding the reference: {ref_entries} entries and {ref_shards} shard records")
            seed(cur, ref_entries, ref_shards)
        result["reference"] = measure("r", ref_entries, samples)
        with conn.cursor() as cur:
            _progress(f"growing to {entries} entries and {shards} shard records")
            result["seed_seconds"] = seed(cur, entries, shards, entries_from=ref_entries, shards_from=ref_shards)
        _progress("measuring")
        result["full"] = measure("f", entries, samples)
    finally:
        with conn.cursor() as cur:
            cleanup(cur)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.directory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK[0]:,} entries on {QUICK[1]:,} shards, "
                                                             "300 samples")
    parser.add_argument("--entries", type=int, default=0, help="default 1,000,000 (--quick: 50,000)")
    parser.add_argument("--shards", type=int, default=0, help="default 10,000 (--quick: 1,000)")
    parser.add_argument("--samples", type=int, default=0, help="default 1,000 (--quick: 300)")
    parser.add_argument("--database-url", default="", help="a migrated database to use (default: a scratch one)")
    args = parser.parse_args(argv)
    entries = args.entries or (QUICK[0] if args.quick else 1_000_000)
    shards = args.shards or (QUICK[1] if args.quick else 10_000)
    samples = args.samples or (300 if args.quick else 1000)
    from .scratch import django_on_database

    with django_on_database(args.database_url or None, "dirbench"):
        result = run(entries, shards, samples)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
