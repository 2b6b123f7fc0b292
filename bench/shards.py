"""The `shards` section of `python -m bench`: the directory and the front proxy's route map at
scale, by simulation, without a stack. `python -m bench.directory` and `python -m bench.proxymap`
run as child processes (each sets up Django on its own, and a million-key map's memory goes with
its process) on one scratch database (bench.scratch: on DATABASE_URL's server, else an embedded
PostgreSQL in `work_dir`); their JSON summaries become rows, each with its ratio to the reference
measured in the same child (1,000 directory entries on 100 shards; a 1,000-workspace map).

Targets are reference/shards.md's scale smoke (§6, item 24): route lookup p99 < 1 ms at the proxy
(checked on the 403 answer HAProxy gives itself after a missed lookup, an upper bound: TLS and the
client's own time are in it) and a full resync within 60 s."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .report import Report, Row
from .scratch import PROJECT_DIR, django_env, scratch_database
from .stats import Target, fmt, ratio

T_LOOKUP_P99 = Target("<=", 1, "ms")
T_RESYNC = Target("<=", 60, "s")
MIB = 2**20


def _child(module: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `python -m <module> <args>`; its last stdout line, parsed (stderr passes through). Ours
    interrupted (Ctrl-C, SIGTERM): the child gets SIGTERM and time to stop what it started."""
    child = subprocess.Popen([sys.executable, "-m", module, *args], env=env, cwd=PROJECT_DIR,
                             stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate(timeout=3600)
    except BaseException:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(120)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    lines = out.strip().splitlines()
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"{module} exited with {child.returncode}")
    return dict(json.loads(lines[-1]))


def _p(d: dict[str, Any] | None, key: str = "p99_ms") -> float | None:
    return None if d is None else float(d[key])


def _lat(d: dict[str, Any] | None) -> str:
    return "-" if d is None else f"p50 {fmt(d['p50_ms'])} ms / p99 {fmt(d['p99_ms'])} ms"


def directory_rows(report: Report, d: dict[str, Any]) -> None:
    ref, full = d["reference"], d["full"]
    entries, shards = d["entries"], d["shards"]
    of_entries = f"of {d['reference_entries']:,} entries"
    of_shards = f"of {d['reference_shards']:,} shards"
    for key, figure, of in (
        ("resolve", f"path → shard (directory_resolve), {entries:,} entries", of_entries),
        ("place_any", f"placement query (shard_choose), {shards:,} shards", of_shards),
        ("place_selector", f"placement query, region selector, {shards:,} shards", of_shards),
        ("place_commit", f"placement committed (directory_place), {entries:,} entries", of_entries),
    ):
        eligible = ""
        if key.startswith("place_") and key != "place_commit":
            eligible = f" ({full['eligible_selector' if key == 'place_selector' else 'eligible']:,} eligible)"
        report.add(Row("shards", figure, _p(full[key]), "ms", measured=_lat(full[key]) + eligible,
                       ratio=ratio(_p(full[key]), _p(ref[key])), ratio_of=f"p99 {of}",
                       data={"full": full[key], "reference": ref[key]}))
    report.add(Row("shards", f"mark a 101-entry subtree Deleting, {entries:,} entries", full["mark_subtree_ms"], "ms",
                   measured=f"median {fmt(full['mark_subtree_ms'])} ms / max {fmt(full['mark_subtree_max_ms'])} ms",
                   ratio=ratio(full["mark_subtree_ms"], ref["mark_subtree_ms"]), ratio_of=f"median {of_entries}"))
    size = full["table_bytes"]
    report.add(Row("shards", f"directory table + indexes, {entries:,} entries", size, "B",
                   measured=f"{fmt(size / MIB)} MiB ({fmt(size / entries)} B per entry, indexes "
                            f"{fmt(full['index_bytes'] / MIB)} MiB)", data={"seed_seconds": d.get("seed_seconds")}))


def proxymap_rows(report: Report, d: dict[str, Any]) -> None:
    n, r = d["workspaces"], d["reference"]
    keys, ref_keys = 2 * n, 2 * r
    first, again, small = d["replace_first"], d["replace_again"], d["replace_reference"]
    report.add(Row("shards", f"route map full replace, {keys:,} keys (first, into an empty map)", first["seconds"],
                   "s", measured=f"{fmt(first['seconds'])} s (map file from the directory "
                                 f"{fmt(first['file_seconds'])} s, push {fmt(first['push_seconds'])} s)",
                   ratio=ratio(first["seconds"], small["seconds"]),
                   ratio_of=f"of {ref_keys:,} keys ({fmt(keys / ref_keys)}x the keys)", target=T_RESYNC,
                   data={**first, "reference": small}))
    report.add(Row("shards", f"route map full replace again (the 60 s resync), {keys:,} keys", again["seconds"], "s",
                   measured=f"{fmt(again['seconds'])} s (file {fmt(again['file_seconds'])} s, push "
                            f"{fmt(again['push_seconds'])} s)", target=T_RESYNC, data=again))
    empty = d["rss_empty"]["big"]
    grown = first["rss_after"] - empty
    report.add(Row("shards", f"HAProxy RSS with {keys:,} keys (runtime replace)", first["rss_after"], "B",
                   measured=f"{fmt(first['rss_after'] / MIB)} MiB (+{fmt(grown / MIB)} MiB, {fmt(grown / keys)} B "
                            f"per key; peak during a resync {fmt(again['rss_peak'] / MIB)} MiB)",
                   data={"empty": empty, "first": first, "again": again}))
    big_load, ref_load = d["restart"]["big"], d["restart"]["ref"]
    report.add(Row("shards", f"HAProxy start with the map file, {keys:,} keys", big_load["median_seconds"], "s",
                   measured=f"{fmt(big_load['median_seconds'])} s, RSS {fmt(big_load['max_rss'] / MIB)} MiB",
                   ratio=ratio(big_load["median_seconds"], ref_load["median_seconds"]),
                   ratio_of=f"of {ref_keys:,} keys",
                   data={"big": big_load, "ref": ref_load, "map_file_bytes": d["map_file_bytes"]}))
    lookup = d["lookup"]
    for kind, figure, target in (
        ("unknown", "route lookup, missed key (403 from HAProxy)", T_LOOKUP_P99),
        ("known", "request routed through the proxy (keep-alive)", None),
        ("known_new_connection", "request routed, new TLS connection each", None),
    ):
        big, ref = lookup[kind]["big"], lookup[kind]["ref"]
        report.add(Row("shards", f"{figure}, {keys:,} keys", _p(big), "ms", measured=_lat(big),
                       ratio=ratio(_p(big), _p(ref)), ratio_of=f"p99 of {ref_keys:,} keys, alternating",
                       target=target, data={"big": big, "ref": ref}))
    for op, figure in (("add", "route added (RouteSyncer.apply)"), ("move", "route moved to another shard (apply: "
                       "set map)"), ("requests_during_moves", "request routed while routes move (keep-alive)"),
                       ("unroute", "route withdrawn (apply)")):
        big, ref = d["incremental"]["big"][op], d["incremental"]["ref"][op]
        # While routes move, the slowest request is the figure: a walk of the map holds up lookups.
        stat = "max_ms" if op == "requests_during_moves" else "p99_ms"
        measured = _lat(big) + (f", max {fmt(big['max_ms'])} ms" if stat == "max_ms" else "")
        report.add(Row("shards", f"{figure}, {keys:,} keys", _p(big, stat), "ms", measured=measured,
                       ratio=ratio(_p(big, stat), _p(ref, stat)), ratio_of=f"{stat[:-3]} of {ref_keys:,} keys",
                       data={"big": big, "ref": ref}))


def run_shards_section(report: Report, work_dir: Path, server_url: str | None, *, quick: bool, entries: int,
                       shards: int, workspaces: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Both benchmarks on one scratch database (`quick`: their --quick sample counts); a failed
    one is reported as its row and the other still runs. `work_dir` is removed afterwards.
    Returns the database's facts for the report's header ({"postgres": version})."""
    progress(f"shards: directory ({entries:,} entries, {shards:,} shards) and route map ({workspaces:,} "
             f"workspaces) on a scratch database")
    try:
        return _run(report, work_dir, server_url, quick, entries, shards, workspaces, progress)
    except Exception as e:  # noqa: BLE001 - the scratch database itself failed: reported as a row
        progress(f"shards: {type(e).__name__}: {e}")
        report.add(Row("shards", "section shards", None, note=f"unavailable: {type(e).__name__}: {e}"[:200]))
        return {}
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _run(report: Report, work_dir: Path, server_url: str | None, quick: bool, entries: int, shards: int,
         workspaces: int, progress: Callable[[str], None]) -> dict[str, Any]:
    import psycopg

    with scratch_database(work_dir, server_url) as url:
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            facts = {"postgres": row[0] if row else None, "embedded": server_url is None}
        env = django_env(url, work_dir)
        for module, args, rows in (
            ("bench.directory", ["--entries", str(entries), "--shards", str(shards)], directory_rows),
            ("bench.proxymap", ["--workspaces", str(workspaces)], proxymap_rows),
        ):
            try:
                rows(report, _child(module, [*args, *(["--quick"] if quick else []), "--database-url", url], env))
            except Exception as e:  # noqa: BLE001 - reported like any failed section
                progress(f"shards: {module} failed: {type(e).__name__}: {e}")
                report.add(Row("shards", module, None, note=f"unavailable: {type(e).__name__}: {e}"[:200]))
    return facts
