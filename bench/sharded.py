"""The `sharded` section of `python -m bench`: workspace create → Ready through the front proxy of
a two-shard stack against one shard alone, in the same run.

Two stacks run side by side for the whole section, each on its own embedded PostgreSQL under the
bench's data dir: **one shard** (`kcpsite.launcher.Stack`, what `make run` starts) and **two
shards** (`kcpsite.sharded.ShardedStack`, what `make run SHARDS=2` starts: a global database,
shards `root` and `shard-1`, HAProxy and the route syncer), each shard with the same processes
as the single one (one daphne, one Celery worker: `KCP_SERVERS=1`, `KCP_WORKERS=1`), the
per-tenant limits off. DATABASE_URL and REDIS_URL are not used here (the sharded stack runs a
database and a broker per shard; the single one is given the same kind).

Measured with the workspace-creation code of the `workspaces` section (bench.run.create_workspaces:
16 POSTs in flight, each timed to the Ready event of a watch), flat under root, the watch on root's
workspaces (the proxy serves no wildcards): batches alternate between the stacks (one, two, one,
two, ...) so the machine's drift falls on both. The two-shard stack places each workspace on
either shard (kcp's rule: random among the eligible), so about half of them cross shards: root's
shard writes the Workspace and its directory entry, shard-1 creates the logical cluster and marks
the entry Ready, root's follower then marks the Workspace Ready. Reported: each stack's rate,
p50/p99 over all its batches and CPU per workspace by role (daphne, celery: workers and beat,
follower: the shards' directory followers, proxy: HAProxy and the route syncer, postgres; a
second after each batch included, with what the stacks do when idle), and the per-workspace time
through the proxy ÷ one shard's (DESIGN.md "Shards": ≤ 1.15×), with how many landed on each shard."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import Api, ensure_workspace
from .haproxy import free_port
from .report import Report, Row
from .stats import Target, fmt, ratio, summarize, throughput

T_SHARDED_COST = Target("<=", 1.15, "x")
ENV = {"KCP_SERVERS": "1", "KCP_WORKERS": "1", "KCP_TENANT_QPS": "0", "KCP_TENANT_CONCURRENCY": "0",
       "KCP_TENANT_WATCHES": "0", "DATABASE_URL": "", "REDIS_URL": "", "KCP_GLOBAL_DATABASE_URL": ""}


def _free_run_of_ports(count: int) -> int:
    from kcpsite.launcher import port_free

    for _ in range(50):
        port = free_port()
        if port + count < 65535 and all(port_free(port + i) for i in range(count)):
            return port
    raise RuntimeError("no free run of ports")


def _stacks_processes(stack: Any) -> dict[str, list[Any]]:
    """The processes of a Stack or a ShardedStack by role: daphne, celery (workers, beat), follower
    (each shard's directory follower), proxy (HAProxy, the route syncer), postgres (each embedded
    postmaster)."""
    import psutil

    from kcpsite.embedded import live_postmaster

    stacks = [stack.front, *stack.shards.values()] if hasattr(stack, "shards") else [stack]
    roles: dict[str, list[Any]] = {"daphne": [], "celery": [], "follower": [], "proxy": [], "postgres": []}
    for one in stacks:
        for name, pid in one.pids.items():
            role = ("daphne" if name.startswith("daphne") else "follower" if name == "follower" else
                    "proxy" if name in ("haproxy", "route-syncer") else "celery")
            try:
                roles[role].append(psutil.Process(pid))
            except psutil.Error:
                pass
        if (postmaster := live_postmaster(one.postgres_dir)) is not None:
            roles["postgres"].append(postmaster)
    return roles


def _cpu_seconds(roles: dict[str, list[Any]]) -> dict[str, float]:
    """CPU seconds used so far by role. A postmaster counts its live backends and, through its
    children's times, those that already exited (so the difference of two readings is exact)."""
    import psutil

    out: dict[str, float] = {}
    for role, procs in roles.items():
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
                if role == "postgres":
                    total += t.children_user + t.children_system
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        c = child.cpu_times()
                        total += c.user + c.system
            except psutil.Error:
                pass
        out[role] = total
    return out


def _placements(global_url: str) -> dict[str, int]:
    """How many of the measured workspaces (`cmp<round>-<n>`) each shard holds, from the directory."""
    import psycopg

    with psycopg.connect(global_url) as conn:
        rows = conn.execute("SELECT shard, count(*) FROM kcp_directory WHERE parent = 'root'"
                            " AND workspace ~ '^cmp[0-9]+-' GROUP BY shard ORDER BY shard").fetchall()
    return {str(shard): int(n) for shard, n in rows}


async def _measure(apis: dict[str, Api], stacks: dict[str, Any], count: int, rounds: int,
                   progress: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    from .run import create_workspaces

    for api in apis.values():  # the first workspace of a stack pays for warm caches
        await ensure_workspace(api, "root", "cmp-warm")
    out: dict[str, dict[str, Any]] = {label: {"ready": 0, "seconds": 0.0, "latencies": [], "failed": 0,
                                              "batches": [], "cpu": {}} for label in apis}
    roles = {label: _stacks_processes(stack) for label, stack in stacks.items()}
    for r in range(rounds):
        order = list(apis) if r % 2 == 0 else list(reversed(apis))
        for label in order:
            progress(f"sharded: round {r + 1}/{rounds}, {count} workspaces on {label}")
            before = _cpu_seconds(roles[label])
            got = await create_workspaces(apis[label], "root", count, 0, watch_cluster="root", prefix=f"cmp{r}-")
            await asyncio.sleep(1)  # the last Ready's follow-up work
            after = _cpu_seconds(roles[label])
            acc = out[label]
            for role in after:
                acc["cpu"][role] = acc["cpu"].get(role, 0.0) + after[role] - before.get(role, 0.0)
            acc["ready"] += got["ready"]
            acc["seconds"] += got["seconds"]
            acc["latencies"].extend(got["latencies"])
            acc["failed"] += got["failed"]
            acc["batches"].append({k: v for k, v in got.items() if k != "latencies"})
    return out


def _rows(report: Report, got: dict[str, dict[str, Any]], count: int, rounds: int, placed: dict[str, int]) -> None:
    rates: dict[str, float] = {}
    p99: dict[str, float | None] = {}
    for label, acc in got.items():
        s = summarize(acc["latencies"])
        rates[label] = throughput(acc["ready"], acc["seconds"])
        p99[label] = s.p99 * 1000 if s else None
        note = f"{acc['ready']}/{count * rounds} Ready, {acc['failed']} failed" if acc["ready"] < count * rounds else ""
        where = f"; placed {', '.join(f'{k} {v}' for k, v in placed.items())}" if label == "two shards" else ""
        ready = max(acc["ready"], 1)
        cpu = {role: seconds * 1000 / ready for role, seconds in acc["cpu"].items() if seconds > 0}
        cpu_text = ", ".join(f"{role} {fmt(ms)}" for role, ms in cpu.items())
        report.add(Row("sharded", f"create→Ready, {label}, {rounds}×{count} flat", rates[label], "/s",
                       measured=f"{fmt(rates[label])}/s; p50 {fmt(s.p50 * 1000) if s else '-'} ms / p99 "
                                f"{fmt(p99[label])} ms; CPU ms per workspace {fmt(sum(cpu.values()))} ({cpu_text})"
                                f"{where}", note=note,
                       data={"batches": acc["batches"], "summary": s and s.as_ms(), "placed": placed,
                             "cpu_ms_per_workspace": cpu}))
    one, two = rates.get("one shard"), rates.get("two shards")
    cost = ratio(one, two)  # seconds per workspace through the proxy ÷ one shard's
    report.add(Row("sharded", "per-workspace time, two shards through the proxy vs one", cost, "x", ratio=cost,
                   ratio_of="of one shard", target=T_SHARDED_COST, target_on="ratio",
                   note=f"p99 {fmt(ratio(p99.get('two shards'), p99.get('one shard')))}x one shard's"))


def run_sharded_section(report: Report, data_dir: Path, *, count: int, rounds: int, keep: bool,
                        progress: Callable[[str], None]) -> None:
    """Start both stacks, measure, stop both (the data dirs go too unless `keep`); a failure is
    reported as the section's row."""
    from kcpsite.launcher import Stack
    from kcpsite.sharded import ShardedStack

    single = Stack(data_dir / "one", free_port(), None, ENV, echo_errors=False,
                   progress=lambda m: progress(f"sharded, one shard: {m}"))
    sharded = ShardedStack(data_dir / "two", _free_run_of_ports(3), 2, ENV, echo_errors=False,
                           progress=lambda m: progress(f"sharded, two shards: {m}"))
    try:
        progress("sharded: starting a one-shard stack and a two-shard stack (make run SHARDS=2)")
        single.start()
        sharded.start()

        async def go() -> dict[str, dict[str, Any]]:
            async with Api(single.base_url, single.admin_token, str(single.ca_path)) as one, \
                    Api(sharded.base_url, sharded.admin_token, str(sharded.ca_path)) as two:
                return await _measure({"one shard": one, "two shards": two},
                                      {"one shard": single, "two shards": sharded}, count, rounds, progress)

        got = asyncio.run(go())
        for stack, label in ((single, "one shard"), (sharded, "two shards")):
            if stack.failed:
                raise RuntimeError(f"{label}: {stack.failed[0]} kept exiting (see {stack.logs_dir})")
        assert sharded.front.database_url is not None
        _rows(report, got, count, rounds, _placements(sharded.front.database_url))
    except Exception as e:  # noqa: BLE001 - reported like any failed section
        progress(f"section sharded failed: {type(e).__name__}: {e}")
        report.add(Row("sharded", "section sharded", None, note=f"unavailable: {type(e).__name__}: {e}"[:200]))
    finally:
        progress("sharded: stopping both stacks")
        sharded.stop()
        single.stop()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
