"""The shards benchmarks at toy sizes: bench.directory and bench.proxymap run end to end against
the test database, real HAProxy and the stand-in shards, and their summaries become report rows.
Only what they did is asserted (counts, routes answering, rows complete, nothing left behind),
never how fast: timings are the benchmark's output, not a test's."""

from __future__ import annotations

import psutil
import pytest
from django.db import connections

from bench.directory import PREFIX, seed, seeded_keys
from bench.directory import run as directory_run
from bench.proxymap import run as proxymap_run
from bench.report import Report
from bench.shards import directory_rows, proxymap_rows
from shards.directory import directory_alias
from shards.models import DirectoryEntry, ShardRecord

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _children() -> list[str]:
    return [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)
            if "haproxy" in p.name() or "bench.shardstub" in " ".join(p.cmdline())]


def test_seeded_keys_name_exactly_the_seeded_entries_also_after_growing() -> None:
    with connections[directory_alias()].cursor() as cur:  # the global database in the suite's split mode
        seed(cur, 100, 0, shard_names=["root", "shard-1"])
        seed(cur, 250, 0, entries_from=100, shard_names=["root", "shard-1"])
    rows = set(DirectoryEntry.objects.filter(name__startswith=PREFIX).values_list("path", "name"))
    assert rows == {seeded_keys(i, 250) for i in range(1, 251)}
    assert {seeded_keys(i, 100) for i in range(1, 101)} <= rows  # the reference's keys survive growing
    assert set(DirectoryEntry.objects.filter(name__startswith=PREFIX).values_list("shard", flat=True)) == {
        "root", "shard-1"}
    assert not ShardRecord.objects.filter(name__startswith=PREFIX).exists()


def test_directory_bench_measures_both_sizes_and_cleans_up() -> None:
    result = directory_run(2000, 50, 5, reference=(1000, 20))
    assert (result["entries"], result["shards"], result["reference_entries"]) == (2000, 50, 1000)
    for size in ("reference", "full"):
        assert result[size]["mark_subtree_entries"] == 101  # dirbench-c1, its child and the 99 added
        assert all(result[size][k]["n"] == 5 for k in ("resolve", "place_any", "place_selector", "place_commit"))
    assert result["full"]["table_bytes"] > result["reference"]["table_bytes"]
    report = Report()
    directory_rows(report, result)
    assert len(report.rows) == 6 and all(r.value is not None for r in report.rows)
    assert not DirectoryEntry.objects.filter(name__startswith=PREFIX).exists()
    assert not ShardRecord.objects.filter(name__startswith=PREFIX).exists()


def test_proxymap_bench_routes_through_the_syncer_and_stops_everything() -> None:
    result = proxymap_run(300, 100, 20, 4, 1)
    # Two keys per workspace, pushed by the syncer's full replace into each HAProxy.
    assert result["replace_reference"]["keys"] == 200
    assert result["replace_first"]["keys"] == result["replace_again"]["keys"] == 600
    assert result["map_file_bytes"]["big"] > result["map_file_bytes"]["ref"] > 0
    # Every request answered as expected (the bench raises otherwise), on both proxies.
    for kind in ("known", "unknown"):
        assert result["lookup"][kind]["big"]["n"] == result["lookup"][kind]["ref"]["n"] == 20
    for which in ("big", "ref"):
        assert result["incremental"][which]["add"]["n"] == result["incremental"][which]["unroute"]["n"] == 4
        assert result["incremental"][which]["move"]["n"] == 4
        assert result["incremental"][which]["requests_during_moves"]["n"] > 0
        assert len(result["restart"][which]["seconds"]) == 1
    report = Report()
    proxymap_rows(report, result)
    assert len(report.rows) == 11 and all(r.value is not None for r in report.rows)
    assert not DirectoryEntry.objects.filter(name__startswith=PREFIX).exists()
    assert _children() == []
