"""The global directory at scale, by simulation: `python -m bench.directory [--entries N]
[--shards M] [--samples S]` with the stack's environment (DATABASE_URL: in single-shard mode the
directory and the shard records live in the shard's own database).

Setup (not measured): N directory entries (`kcp_directory`: paths `root:dirbench-<i>`, a tenth
of them one level deeper, spread over the M shards) and M shard records (`kcp_shards`) with a
fresh heartbeat, a `region` label out of 20 and a few cordoned, all in one statement each.
Measured, through the project's own functions (the code a shard runs):

- path resolution (`shards.directory.directory_resolve`): S random paths, p50/p99;
- placement (`shards.services.shard_choose`): with no selector and with a `region` selector;
- a placement committed and withdrawn (`directory_place`, then the row deleted), p50/p99;
- marking a subtree of 100 entries Deleting (`directory_mark_deleting`, rolled back);
- the table's and its indexes' size.

Everything it wrote is deleted at the end. The last line of stdout is a JSON summary; progress
goes to stderr."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

PREFIX = "dirbench-"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kcpsite.settings")
    import django

    django.setup()


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": pick(0.50) * 1000, "p99_ms": pick(0.99) * 1000, "n": len(ordered)}


def _timed(fn: Any, samples: int) -> dict[str, float]:
    out = []
    for i in range(samples):
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return _quantiles(out)


def seed(cur: Any, entries: int, shards: int) -> float:
    began = time.monotonic()
    cur.execute(
        "INSERT INTO kcp_shards (name, base_url, external_url, virtual_workspace_url, labels, heartbeat, cordoned,"
        " soft_limit, hard_limit, used_workspaces, registered_at)"
        " SELECT %s || g, 'https://s' || g || '.example', '', '', jsonb_build_object('region', 'r' || (g %% 20)),"
        " now(), g %% 97 = 0, 0, 0, (g * 7919) %% 1000, now() FROM generate_series(1, %s) g",
        [f"{PREFIX}s", shards],
    )
    # Top-level entries under root, then a tenth of them get one child each.
    top = entries - entries // 10
    cur.execute(
        "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec, created_at,"
        " updated_at) SELECT %s || g, 'root:' || %s || g, 'root', %s || g, %s || g, %s || (g %% %s + 1), 'Ready',"
        " 'root:universal', '{}', now(), now() FROM generate_series(1, %s) g",
        [f"{PREFIX}c", PREFIX, PREFIX, f"{PREFIX}u", f"{PREFIX}s", shards, top],
    )
    cur.execute(
        "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec, created_at,"
        " updated_at) SELECT %s || g, 'root:' || %s || g || ':child', %s || g, 'child', %s || g,"
        " %s || (g %% %s + 1), 'Ready', 'root:universal', '{}', now(), now() FROM generate_series(1, %s) g",
        [f"{PREFIX}d", PREFIX, f"{PREFIX}c", f"{PREFIX}v", f"{PREFIX}s", shards, entries - top],
    )
    cur.execute("ANALYZE kcp_directory")
    cur.execute("ANALYZE kcp_shards")
    return time.monotonic() - began


def cleanup(cur: Any) -> None:
    cur.execute("DELETE FROM kcp_directory WHERE name LIKE %s", [f"{PREFIX}%"])
    cur.execute("DELETE FROM kcp_shards WHERE name LIKE %s", [f"{PREFIX}%"])


def run(entries: int, shards: int, samples: int) -> dict[str, Any]:
    _setup_django()
    from django.db import connections, transaction

    from shards.directory import directory_alias, directory_mark_deleting, directory_place, directory_resolve
    from shards.services import shard_choose

    conn = connections[directory_alias()]
    result: dict[str, Any] = {"entries": entries, "shards": shards}
    with conn.cursor() as cur:
        cleanup(cur)
        print(f"  directory: seeding {entries} entries and {shards} shard records", file=sys.stderr, flush=True)
        result["seed_seconds"] = seed(cur, entries, shards)
    try:
        top = entries - entries // 10
        paths = [f"root:{PREFIX}{random.randint(1, top)}" for _ in range(samples)]
        result["resolve"] = _timed(lambda i: directory_resolve(path=paths[i]), samples)
        result["place_any"] = _timed(lambda i: shard_choose(cluster="root"), samples)
        region = {"matchLabels": {"region": "r7"}}
        result["place_selector"] = _timed(lambda i: shard_choose(cluster="root", selector=region), samples)

        def place(i: int) -> None:
            directory_place(
                name=f"{PREFIX}p{i}",
                path=f"root:{PREFIX}placed-{i}",
                parent="root",
                workspace=f"{PREFIX}placed-{i}",
                owner_uid=f"{PREFIX}w{i}",
                shard=f"{PREFIX}s1",
                type="root:universal",
                spec={"initializers": ["root:universal"]},
            )

        result["place_commit"] = _timed(place, samples)
        # A subtree of 100: one top entry with 99 children (rolled back).
        with transaction.atomic(using=directory_alias()), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec,"
                " created_at, updated_at) SELECT %s || g, 'root:' || %s || '1:sub' || g, %s, 'sub' || g, '',"
                " %s, 'Ready', 'root:universal', '{}', now(), now() FROM generate_series(1, 99) g",
                [f"{PREFIX}t", PREFIX, f"{PREFIX}c1", f"{PREFIX}s1"],
            )
            began = time.perf_counter()
            marked = directory_mark_deleting(name=f"{PREFIX}c1")
            result["mark_subtree_ms"] = (time.perf_counter() - began) * 1000
            result["mark_subtree_entries"] = len(marked)
            transaction.set_rollback(True, using=directory_alias())
        with conn.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('kcp_directory'), pg_indexes_size('kcp_directory')")
            total, indexes = cur.fetchone()
        result["table_bytes"], result["index_bytes"] = int(total), int(indexes)
    finally:
        with conn.cursor() as cur:
            cleanup(cur)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.directory")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.entries, args.shards, args.samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
