"""`make bench` / `python -m bench [--quick]`: measure one shard against its references.

Starts its own stack (kcpsite.launcher.Stack: embedded PostgreSQL in `.cache/bench-data` unless
DATABASE_URL is set, in which case a throw-away database `kcp_bench_<hex>` on that server) on a
free port, runs the sections in order, prints a table, writes bench/results/latest.json and
bench/results/latency-vs-workspaces.png, and stops everything it started. See bench/README.md for
what is setup and what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from .client import TENANCY, Api, cluster_prefix, ensure_namespace, ensure_workspace, wait_until
from .report import Curve, Report, Row, plot
from .scratch import database_for_run
from .stats import EMPTY_ACCOUNTING, Target, account_events, fmt, out_of_order, ratio, summarize, throughput

BENCH_DIR = Path(os.path.abspath(__file__)).parent  # not resolve(): keep a symlinked checkout's paths
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# DESIGN.md "Performance".
T_WRITE_RATIO = Target(">=", 0.25, "x raw insert")
T_WS_RATE = Target(">=", 300, "/s")
T_WS_P99 = Target("<=", 250, "ms")
T_WS_BYTES = Target("<=", 16 * 1024, "B")
T_GETLIST_RATIO = Target("<=", 1.2, "x")
T_WATCH_P99 = Target("<=", 50, "ms")
T_LOST = Target("<=", 0, "events")
T_DELETE_10K = Target("<=", 60, "s")
T_PROVIDER_RATIO = Target("<=", 1.2, "x")


@dataclass(frozen=True)
class Sizes:
    """How big each section is. QUICK keeps the whole run under three minutes on two cores."""

    phase_seconds: float = 5.0
    concurrency: tuple[int, ...] = (1, 8, 32)
    create_workspaces: int = 1000
    tree_fanout: int = 10
    samples: int = 1000
    big_workspaces: int = 100_000
    big_tree: int = 10_000
    list_objects: int = 10_000
    page_size: int = 500
    watchers: tuple[int, ...] = (1, 100, 1000)
    watch_events: int = 50
    provider_consumers: tuple[int, int] = (1000, 10_000)
    provider_with_objects: int = 10
    seed_jobs: int = 1  # more seed processes only queue on the revision counter row
    flood_creates: int = 2000
    flood_clients: int = 32
    fairness_baseline: int = 500
    shard_entries: int = 1_000_000  # directory entries (bench.directory)
    shard_records: int = 10_000  # shard records (bench.directory)
    route_workspaces: int = 1_000_000  # workspaces in the proxy's map, two keys each (bench.proxymap)
    sharded_workspaces: int = 500  # per batch, one shard vs two (bench.sharded)
    sharded_rounds: int = 2  # batches per stack

    @classmethod
    def quick(cls) -> Sizes:
        return cls(phase_seconds=1.0, create_workspaces=12, tree_fanout=3, samples=60, big_workspaces=80,
                   big_tree=20, list_objects=500, page_size=100, watchers=(1, 100, 200), watch_events=10,
                   provider_consumers=(5, 15), provider_with_objects=3, flood_creates=1000, fairness_baseline=300,
                   shard_entries=50_000, shard_records=1_000, route_workspaces=50_000, sharded_workspaces=30)


# --------------------------------------------------------------------------------------------
# Progress, machine facts, processes
# --------------------------------------------------------------------------------------------

_T0 = time.monotonic()


def progress(msg: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit() -> None:
    """1,000 watchers need more than the usual 1,024 descriptors (children inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def rss_bytes(pid: int | list[int] | None) -> int | None:
    """Resident set size of a process and its children (celery's pool), or None; of several
    processes (every daphne of the stack) summed."""
    if isinstance(pid, list):
        sizes = [rss_bytes(p) for p in pid]
        return sum(x for x in sizes if x is not None) if sizes and None not in sizes else None
    if pid is None:
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        total = int(proc.memory_info().rss)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += int(child.memory_info().rss)
        return total
    except psutil.Error:
        return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (those that exist)."""
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
    return total


#: Work in PostgreSQL that is not the bench's: autovacuum, and statements of other clients.
BUSY_BACKENDS_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() "
    "AND (backend_type = 'autovacuum worker' OR (backend_type = 'client backend' AND state = 'active'))"
)


async def settle(ctx: Context, what: str, *, idle_share: float = 0.1, limit: float = 300) -> float:
    """Wait until the Celery workers are idle (together under `idle_share` of a CPU over a second)
    and PostgreSQL runs nothing else (no autovacuum, no other active statement), at most `limit`
    seconds; returns the seconds waited. Latency figures are the request path's, not a contest
    with reconciliation still working through what the setup enqueued (binding 10,000 consumers
    leaves minutes of follow-up tasks) or with autovacuum after 100,000 workspaces were seeded."""
    began = time.monotonic()
    before = cpu_seconds(ctx.worker_pids)
    while time.monotonic() - began < limit:
        await asyncio.sleep(1)
        now = cpu_seconds(ctx.worker_pids)
        busy = await asyncio.to_thread(ctx.db.scalar, BUSY_BACKENDS_SQL)
        if now - before < idle_share and not busy:
            break
        before = now
    waited = time.monotonic() - began
    if waited > 2:
        progress(f"{what}: waited {waited:.0f} s for the workers to go idle")
    return waited


def machine() -> dict[str, Any]:
    import psutil

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


# --------------------------------------------------------------------------------------------
# Database helpers (psycopg, synchronous; called through asyncio.to_thread)
# --------------------------------------------------------------------------------------------

class Database:
    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

    def total_bytes(self) -> int:
        """All relations of the public schema (tables with their indexes and TOAST)."""
        return int(self.scalar(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"))

    def table_bytes(self, table: str) -> int:
        return int(self.scalar("SELECT pg_total_relation_size(%s::regclass)", (table,)) or 0)

    def event_times(self, revisions: list[int]) -> dict[int, float]:
        """When each event-log entry was written (epoch seconds, the server's clock: the same
        machine's), written in the write's transaction just before its commit."""
        with self.connect() as conn:
            rows = conn.execute("SELECT revision, extract(epoch FROM created) FROM kube_event "
                                "WHERE revision = ANY(%s)", (revisions,)).fetchall()
        return {int(r): float(t) for r, t in rows}

    def workspace_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM tenancy_workspace"))

    def server_version(self) -> str:
        return str(self.scalar("SHOW server_version"))


def raw_insert_phase(db: Database, concurrency: int, seconds: float, payload: str) -> tuple[int, float, list[float]]:
    """Single-row INSERT commits (autocommit) from `concurrency` threads, each on its own connection."""
    with db.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw_insert (id bigserial PRIMARY KEY, k text NOT NULL, "
                     "body jsonb NOT NULL)")
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        with db.connect() as conn:
            conn.execute("SELECT 1")
            barrier.wait()
            n = 0
            mine = latencies[i]
            while True:
                began = time.perf_counter()
                if began >= stop_at[0]:
                    return
                conn.execute("INSERT INTO bench_raw_insert (k, body) VALUES (%s, %s::jsonb)",
                             (f"{i}-{n}", payload))
                mine.append(time.perf_counter() - began)
                n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return len(flat), elapsed, flat


def drop_raw_table(db: Database) -> None:
    with db.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_insert")


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

@dataclass
class Context:
    api: Api
    db: Database
    sizes: Sizes
    report: Report
    child_env: dict[str, str]
    daphne_pids: list[int]
    worker_pids: list[int]
    raw_rate: dict[int, float] = field(default_factory=dict)
    version_p50: float | None = None
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    health: Callable[[], str] = lambda: ""  # names a dead stack process, "" while all run

    def curve(self, label: str, count: int, ms: float) -> None:
        self.curves.setdefault(label, []).append((count, ms))


async def closed_loop(concurrency: int, seconds: float,
                      op: Callable[[int, int], Awaitable[list[tuple[str, float, bool]]]]
                      ) -> tuple[dict[str, list[float]], int, int, float]:
    """`concurrency` clients, each calling `op(client, iteration)` back to back for `seconds`.

    `op` returns (kind, seconds, ok) per request it made. Returns latencies by kind, requests,
    failed requests and the elapsed time (until the last client finished its iteration)."""
    by_kind: dict[str, list[float]] = {}
    counts = [0, 0]
    deadline = time.perf_counter() + seconds

    async def client(c: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            for kind, secs, ok in await op(c, i):
                counts[0] += 1
                if ok:
                    by_kind.setdefault(kind, []).append(secs)
                else:
                    counts[1] += 1
            i += 1

    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(concurrency)))
    return by_kind, counts[0], counts[1], time.perf_counter() - began


def lat(s: Any) -> str:
    """'p50 X ms / p99 Y ms' for a Summary."""
    if s is None:
        return "-"
    return f"p50 {fmt(s.p50 * 1000)} ms / p99 {fmt(s.p99 * 1000)} ms"


# ---- 1. references -----------------------------------------------------------------------------

async def bench_references(ctx: Context) -> None:
    progress("references: raw PostgreSQL INSERT commits/s and the trivial /version endpoint")
    payload = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "x" * 20, "namespace": "default", "uid": secrets.token_hex(16),
                                         "annotations": {"kcp.io/cluster": "x" * 16}},
                            "data": {"key": "v" * 200}}).decode()
    for c in ctx.sizes.concurrency:
        count, elapsed, latencies = await asyncio.to_thread(raw_insert_phase, ctx.db, c, ctx.sizes.phase_seconds,
                                                            payload)
        rate = throughput(count, elapsed)
        ctx.raw_rate[c] = rate
        s = summarize(latencies)
        ctx.report.add(Row("reference", f"raw INSERT commits, {c} conn", rate, "/s",
                           measured=f"{fmt(rate)}/s; {lat(s)}", data={"summary": s and s.as_ms()}))
    await asyncio.to_thread(drop_raw_table, ctx.db)

    async def version(c: int, i: int) -> list[tuple[str, float, bool]]:
        r = await ctx.api.get("/version")
        return [("version", r.seconds, r.ok)]

    await closed_loop(4, 0.5, version)  # warm the connection pool and TLS sessions
    for c in ctx.sizes.concurrency:
        by_kind, n, failed, elapsed = await closed_loop(c, ctx.sizes.phase_seconds, version)
        s = summarize(by_kind.get("version", []))
        rate = throughput(n - failed, elapsed)
        if c == 1 and s is not None:
            ctx.version_p50 = s.p50
        ctx.report.add(Row("reference", f"GET /version (HTTPS), {c} clients", rate, "/s",
                           measured=f"{fmt(rate)}/s; {lat(s)}", note=f"{failed} failed" if failed else "",
                           data={"summary": s and s.as_ms()}))


# ---- 2. object writes --------------------------------------------------------------------------

async def bench_writes(ctx: Context) -> None:
    progress("object writes through the API: create, merge-patch, delete configmaps")
    base = f"{cluster_prefix('root:bench')}/api/v1/namespaces/writes/configmaps"
    await ensure_namespace(ctx.api, "root:bench", "writes")

    async def cycle(c: int, i: int) -> list[tuple[str, float, bool]]:
        name = f"w{c}-{i}-{secrets.token_hex(3)}"
        out = []
        r = await ctx.api.post(base, {"metadata": {"name": name}, "data": {"key": "v" * 200}})
        out.append(("create", r.seconds, r.ok))
        r = await ctx.api.patch(f"{base}/{name}", {"data": {"key": "patched"}})
        out.append(("patch", r.seconds, r.ok))
        r = await ctx.api.delete(f"{base}/{name}")
        out.append(("delete", r.seconds, r.ok))
        return out

    await closed_loop(2, 0.5, cycle)  # warm-up
    for c in ctx.sizes.concurrency:
        by_kind, n, failed, elapsed = await closed_loop(c, ctx.sizes.phase_seconds, cycle)
        rate = throughput(n - failed, elapsed)
        every = [x for v in by_kind.values() for x in v]
        s = summarize(every)
        parts = "; ".join(f"{k} {lat(summarize(v))}" for k, v in by_kind.items())
        ctx.report.add(Row(
            "writes", f"create/patch/delete, {c} clients", rate, "writes/s",
            measured=f"{fmt(rate)} writes/s; all {lat(s)}",
            ratio=ratio(rate, ctx.raw_rate.get(c)), ratio_of="raw insert", target=T_WRITE_RATIO, target_on="ratio",
            note=f"{failed} failed" if failed else "",
            data={"by_kind": {k: (summarize(v).as_ms() if v else None) for k, v in by_kind.items()},  # type: ignore[union-attr]
                  "requests": n, "failed": failed, "detail": parts}))


# ---- 3. workspace creation ---------------------------------------------------------------------

async def create_workspaces(api: Api, parent_path: str, count: int, fanout: int, *, watch_cluster: str = "*",
                            prefix: str = "ws") -> dict[str, Any]:
    """Create `count` workspaces over HTTP below `parent_path` (flat, or a tree with `fanout`
    children per workspace, each level created once its parent is Ready), named `<prefix><n>`,
    and time each from the POST to the Ready event of a watch on workspaces in `watch_cluster`
    (the wildcard by default; a flat run can watch the parent alone, as through the front proxy,
    which serves no wildcards)."""
    rv_reply = await api.get(f"/clusters/{watch_cluster}{TENANCY}/workspaces", params={"limit": "1"})
    if not rv_reply.ok:
        raise RuntimeError(f"workspace list in {watch_cluster} answered {rv_reply.status}: {rv_reply.body}")
    rv = rv_reply.body["metadata"]["resourceVersion"]
    if ":" in parent_path:
        parent = await api.get(f"{cluster_prefix(parent_path.rsplit(':', 1)[0])}{TENANCY}/workspaces/"
                               f"{parent_path.rsplit(':', 1)[1]}")
        parent_cluster = parent.body["spec"]["cluster"]
    else:
        parent_cluster = parent_path  # root
    sent: dict[tuple[str, str], float] = {}
    ready: dict[tuple[str, str], float] = {}
    made = [0]
    failures: list[str] = []
    sem = asyncio.Semaphore(16)
    done = asyncio.Event()
    pending: set[asyncio.Task[None]] = set()
    opened = asyncio.Event()

    async def create(in_cluster: str) -> None:
        if made[0] >= count:
            return
        made[0] += 1
        name = f"{prefix}{made[0]}"
        key = (in_cluster, name)
        async with sem:
            sent[key] = time.perf_counter()
            r = await api.post(f"/clusters/{in_cluster}{TENANCY}/workspaces",
                               {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace",
                                "metadata": {"name": name}})
        if not r.ok:
            failures.append(f"{r.status}: {str(r.body)[:200]}")
            sent.pop(key, None)

    def spawn(in_cluster: str, n: int) -> None:
        for _ in range(n):
            if made[0] >= count:
                return
            task = asyncio.create_task(create(in_cluster))
            pending.add(task)
            task.add_done_callback(pending.discard)

    async def watcher() -> None:
        async for arrival, event in api.watch(f"/clusters/{watch_cluster}{TENANCY}/workspaces",
                                              {"resourceVersion": rv, "allowWatchBookmarks": "false"},
                                              on_open=opened.set):
            obj = event.get("object") or {}
            md = obj.get("metadata") or {}
            key = ((md.get("annotations") or {}).get("kcp.io/cluster", ""), md.get("name", ""))
            if key not in sent or key in ready:
                continue
            if (obj.get("status") or {}).get("phase") == "Ready":
                ready[key] = arrival
                if fanout:
                    lc = (obj.get("spec") or {}).get("cluster")
                    if lc:
                        spawn(lc, fanout)
                if len(ready) >= count:
                    done.set()
                    return

    watch_task = asyncio.create_task(watcher())
    await asyncio.wait_for(opened.wait(), 30)
    began = time.perf_counter()
    spawn(parent_cluster, fanout or count)
    timeout = 60 + count * 0.5
    last_progress = time.monotonic()
    deadline = time.monotonic() + timeout
    while not done.is_set() and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1)
        if watch_task.done() and not done.is_set():
            exc = watch_task.exception()
            raise RuntimeError(f"workspace watch ended early: {exc}")
        if time.monotonic() - last_progress > 5:
            last_progress = time.monotonic()
            progress(f"  {len(ready)}/{count} Ready ({len(sent)} created)")
        if failures and made[0] >= count and not pending and len(ready) >= len(sent):
            break
    watch_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await watch_task
    for t in list(pending):
        t.cancel()
    latencies = [ready[k] - sent[k] for k in ready if k in sent]
    finished = max(ready.values()) if ready else time.perf_counter()
    return {"ready": len(ready), "created": len(sent), "failures": failures[:5], "failed": len(failures),
            "seconds": finished - began, "latencies": latencies, "timed_out": not done.is_set()}


async def bench_workspace_creation(ctx: Context, shape: str) -> None:
    n = ctx.sizes.create_workspaces
    fanout = ctx.sizes.tree_fanout if shape == "tree" else 0
    progress(f"workspace creation: {n} workspaces, {shape}" + (f" (fanout {fanout})" if fanout else ""))
    await ensure_workspace(ctx.api, "root", f"bench-{shape}")
    if shape == "flat":
        await asyncio.sleep(1)
        db0, rss0, wrss0 = await asyncio.to_thread(ctx.db.total_bytes), rss_bytes(ctx.daphne_pids), rss_bytes(
            ctx.worker_pids)
        ev0 = await asyncio.to_thread(ctx.db.table_bytes, "kube_event")
    result = await create_workspaces(ctx.api, f"root:bench-{shape}", n, fanout)
    s = summarize(result["latencies"])
    rate = throughput(result["ready"], result["seconds"])
    note = ""
    if result["timed_out"] or result["failed"]:
        note = f"{result['ready']}/{n} Ready, {result['failed']} failed {result['failures'][:1]}"
    ctx.report.add(Row("workspaces", f"create→Ready throughput, {n} {shape}", rate, "/s",
                       target=T_WS_RATE, note=note,
                       data={k: v for k, v in result.items() if k != "latencies"}))
    ctx.report.add(Row("workspaces", f"create→Ready p99, {n} {shape}", s and s.p99 * 1000, "ms",
                       measured=lat(s), target=T_WS_P99, data={"summary": s and s.as_ms()}))
    if shape == "flat":
        await asyncio.sleep(1)
        db1, rss1, wrss1 = await asyncio.to_thread(ctx.db.total_bytes), rss_bytes(ctx.daphne_pids), rss_bytes(
            ctx.worker_pids)
        ev1 = await asyncio.to_thread(ctx.db.table_bytes, "kube_event")
        ready = max(result["ready"], 1)
        per_ws = (db1 - db0) / ready
        per_ws_no_log = ((db1 - db0) - (ev1 - ev0)) / ready
        # The target is the durable cost: the event log keeps a workspace's creation events only for
        # KCP_EVENT_RETENTION (10 minutes), then compaction drops them; both figures are shown.
        ctx.report.add(Row("workspaces", "PostgreSQL bytes per empty workspace (durable)", per_ws_no_log, "B",
                           measured=f"{fmt(per_ws_no_log / 1024)} KiB in tables and indexes "
                                    f"(+ {fmt((per_ws - per_ws_no_log) / 1024)} KiB of event log until compaction)",
                           target=T_WS_BYTES,
                           data={"db_before": db0, "db_after": db1, "event_log_delta": ev1 - ev0,
                                 "workspaces": ready}))
        if rss0 is not None and rss1 is not None:
            per = (rss1 - rss0) / ready
            wper = ((wrss1 or 0) - (wrss0 or 0)) / ready
            ctx.report.add(Row("workspaces", "server RSS per empty workspace", per, "B",
                               measured=f"{fmt(per / 1024)} KiB daphne, {fmt(wper / 1024)} KiB celery worker",
                               note="target: ~0", data={"daphne_before": rss0, "daphne_after": rss1,
                                                        "worker_before": wrss0, "worker_after": wrss1}))


# ---- 4. GET / LIST at a workspace count --------------------------------------------------------

async def prepare_probe(ctx: Context) -> None:
    await ensure_namespace(ctx.api, "root:bench", "probe")
    for i in range(10):
        await ctx.api.post(f"{cluster_prefix('root:bench')}/api/v1/namespaces/probe/configmaps",
                           {"metadata": {"name": f"probe-{i}"}, "data": {"key": "v" * 200}})


async def bench_get_list(ctx: Context, label: str) -> dict[str, Any]:
    count = await asyncio.to_thread(ctx.db.workspace_count)
    progress(f"GET/LIST latency in a workspace at {count:,} workspaces ({label})")
    await settle(ctx, "GET/LIST")
    base = f"{cluster_prefix('root:bench')}/api/v1/namespaces/probe/configmaps"
    for i in range(20):  # warm
        await ctx.api.get(f"{base}/probe-{i % 10}")
    gets: list[float] = []
    lists: list[float] = []
    failed = 0
    for i in range(ctx.sizes.samples):
        r = await ctx.api.get(f"{base}/probe-{i % 10}")
        gets.append(r.seconds) if r.ok else None
        failed += not r.ok
        r = await ctx.api.get(base)
        lists.append(r.seconds) if r.ok else None
        failed += not r.ok
    sg, sl = summarize(gets), summarize(lists)
    for what, s in (("GET", sg), ("LIST (10 items)", sl)):
        if s is None:
            continue
        ctx.report.add(Row("get/list", f"{what} at {count:,} workspaces", s.p99 * 1000, "ms", measured=lat(s),
                           ratio=ratio(s.p50, ctx.version_p50), ratio_of="/version p50 (p50 ratio)",
                           note=f"{failed} failed" if failed else "", data={"summary": s.as_ms(), "workspaces": count}))
        ctx.curve(f"{what.split(' ')[0]} p50", count, s.p50 * 1000)
        ctx.curve(f"{what.split(' ')[0]} p99", count, s.p99 * 1000)
    return {"count": count, "get": sg, "list": sl}


def get_list_ratio_rows(ctx: Context, small: dict[str, Any], big: dict[str, Any], quick: bool) -> None:
    for what in ("get", "list"):
        a, b = small[what], big[what]
        if a is None or b is None:
            continue
        r99 = ratio(b.p99, a.p99)
        r50 = ratio(b.p50, a.p50)
        ctx.report.add(Row("get/list", f"{what.upper()} p99 at {big['count']:,} vs {small['count']:,} workspaces",
                           r99, "x", measured=f"p99 {fmt(r99)}x, p50 {fmt(r50)}x", ratio=r99,
                           ratio_of=f"of the {small['count']:,} run", target=T_GETLIST_RATIO,
                           note="QUICK counts" if quick else ""))


# ---- 5. watch ----------------------------------------------------------------------------------

async def bench_watch(ctx: Context) -> None:
    await ensure_namespace(ctx.api, "root:bench", "watch")
    for watchers in ctx.sizes.watchers:
        progress(f"watch: {watchers} watchers, {ctx.sizes.watch_events} writes")
        await watch_round(ctx, watchers)


class WatchRound:
    """`watchers` streams on one namespace, counting the ADDED events of names with `prefix`."""

    def __init__(self, watchers: int, prefix: str, expect: int) -> None:
        self.watchers = watchers
        self.prefix = prefix
        self.expect = expect
        self.received: list[list[tuple[str, int, float]]] = [[] for _ in range(watchers)]
        self.opened = 0
        self.complete = 0
        self.all_open = asyncio.Event()
        self.finished = asyncio.Event()
        self.errors: list[str] = []
        self.connect = asyncio.Semaphore(50)
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self, api: Api, base: str, rv: str) -> None:
        """Open every watch of this round in this process; returns once all are open (or the
        wait for them timed out, which is recorded in `errors`)."""
        self.tasks = [asyncio.create_task(self.watch(api, base, rv, i)) for i in range(self.watchers)]
        try:
            await asyncio.wait_for(self.all_open.wait(), 60 + self.watchers * 0.1)
        except TimeoutError:
            self.errors.append(f"only {self.opened}/{self.watchers} watches opened")

    async def close(self) -> None:
        """After the writes: wait up to 15 s for every watch to have its events, half a second
        more for duplicates, then stop the watches."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), 15)
        await asyncio.sleep(0.5)  # let duplicates, if any, arrive
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def on_open(self) -> None:
        self.opened += 1
        if self.opened >= self.watchers:
            self.all_open.set()

    async def watch(self, api: Api, base: str, rv: str, i: int) -> None:
        """One watcher; at most 50 are connecting at a time (TLS handshakes), each slot freed as
        soon as its watch is open."""
        mine = self.received[i]
        held = True
        await self.connect.acquire()

        def opened() -> None:
            nonlocal held
            if held:
                self.connect.release()
                held = False
            self.on_open()

        try:
            async for arrival, event in api.watch(base, {"resourceVersion": rv, "allowWatchBookmarks": "false",
                                                         "timeoutSeconds": "600"}, on_open=opened):
                obj = event.get("object") or {}
                md = obj.get("metadata") or {}
                name = md.get("name", "")
                if event.get("type") == "ADDED" and name.startswith(self.prefix):
                    mine.append((name, int(md.get("resourceVersion", "0")), arrival))
                    if len(mine) == self.expect:
                        self.complete += 1
                        if self.complete >= self.watchers:
                            self.finished.set()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - reported in the row, never fatal
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            if held:
                self.connect.release()


# Rounds this large read their streams in several client processes (bench/watchers.py): one event
# loop reading them all would add its own serial per-stream time to every figure.
WATCH_SPREAD_FROM = 500


class WatcherProcesses:
    """A watch round's streams spread over `processes` children running `python -m bench.watchers`."""

    def __init__(self, processes: int) -> None:
        self.count = processes
        self.children: list[asyncio.subprocess.Process] = []

    async def open(self, api: Api, base: str, rv: str, rnd: WatchRound) -> None:
        shares = [rnd.watchers // self.count + (1 if j < rnd.watchers % self.count else 0) for j in range(self.count)]
        for share in shares:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.watchers", cwd=str(PROJECT_DIR),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert child.stdin is not None
            child.stdin.write(orjson.dumps({"url": api.base_url, "token": api.token, "ca": api.ca_file, "base": base,
                                            "rv": rv, "prefix": rnd.prefix, "expect": rnd.expect,
                                            "count": share}) + b"\n")
            await child.stdin.drain()
            self.children.append(child)
        for child in self.children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 120 + rnd.watchers * 0.1)
            if line.strip() != b"open":
                raise RuntimeError(f"a watcher process answered {line[:200]!r} instead of 'open'")
        rnd.opened = rnd.watchers

    async def collect(self, rnd: WatchRound) -> None:
        """Tell every child the writes are done and gather what each stream received."""
        received: list[list[tuple[str, int, float]]] = []
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(b"done\n")
            await child.stdin.drain()
        for child in self.children:
            out, _ = await asyncio.wait_for(child.communicate(), 60)
            if child.returncode != 0 or not out.strip():
                rnd.errors.append(f"watcher process exited {child.returncode}")
                continue
            doc = orjson.loads(out.strip().splitlines()[-1])
            received.extend([(str(n), int(r), float(a)) for n, r, a in stream] for stream in doc["received"])
            rnd.errors.extend(doc["errors"])
        rnd.received = received

    def kill(self) -> None:
        for child in self.children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()


async def watch_round(ctx: Context, watchers: int) -> None:
    api = ctx.api
    base = f"{cluster_prefix('root:bench')}/api/v1/namespaces/watch/configmaps"
    listing = await api.get(base, params={"limit": "1"})
    rv = listing.body["metadata"]["resourceVersion"]
    expect = ctx.sizes.watch_events
    rnd = WatchRound(watchers, f"ev{watchers}-", expect)
    rss0 = rss_bytes(ctx.daphne_pids)
    spread = WatcherProcesses(min(4, max(2, os.cpu_count() or 1))) if watchers >= WATCH_SPREAD_FROM else None
    try:
        if spread:
            await spread.open(api, base, rv, rnd)
        else:
            await rnd.open(api, base, rv)
        await asyncio.sleep(1.0)
        await _watch_round_writes(ctx, api, base, rnd, rss0, spread)
    finally:
        if spread:
            spread.kill()


async def _watch_round_writes(ctx: Context, api: Api, base: str, rnd: WatchRound, rss0: int | None,
                              spread: WatcherProcesses | None) -> None:
    watchers, expect = rnd.watchers, rnd.expect
    rss1 = rss_bytes(ctx.daphne_pids)
    acks: dict[str, float] = {}
    sends: dict[str, float] = {}
    written: list[tuple[str, int]] = []
    interval = 0.05 if watchers <= 100 else 0.15
    for k in range(expect):
        name = f"{rnd.prefix}{k}"
        sends[name] = time.perf_counter()
        r = await api.post(base, {"metadata": {"name": name}, "data": {"k": str(k)}})
        acks[name] = time.perf_counter()
        if r.ok:
            written.append((name, int(r.body["metadata"]["resourceVersion"])))
        else:
            rnd.errors.append(f"write {name} answered {r.status}")
        await asyncio.sleep(interval)
    if spread:
        await spread.collect(rnd)
    else:
        await rnd.close()
    accounting = EMPTY_ACCOUNTING
    disorder = 0
    committed = await asyncio.to_thread(ctx.db.event_times, [rev for _, rev in written])
    wall_offset = time.time() - time.perf_counter()
    from_commit: list[float] = []
    from_ack: list[float] = []
    from_send: list[float] = []
    for events in rnd.received:
        accounting = accounting + account_events(written, [(n, r) for n, r, _ in events])
        disorder += out_of_order([r for _, r, _ in events])
        for name, rev, arrival in events:
            if rev in committed:
                from_commit.append(max(0.0, arrival + wall_offset - committed[rev]))
            if name in acks:
                from_ack.append(arrival - acks[name])
                from_send.append(arrival - sends[name])
    s = summarize(from_commit)
    s_send = summarize(from_send)
    bad = accounting.lost + accounting.duplicated
    ctx.report.add(Row("watch", f"commit→event, {watchers} watchers", s and s.p99 * 1000, "ms",
                       measured=f"{lat(s)} (write sent→event: {lat(s_send)})", target=T_WATCH_P99,
                       note="; ".join(sorted(set(rnd.errors))[:2]),
                       data={"from_commit": s and s.as_ms(), "from_send": s_send and s_send.as_ms(),
                             "ack_to_event": (sa := summarize(from_ack)) and sa.as_ms(),
                             "events_written": len(written)}))
    received = f"{accounting.received:,}/{accounting.expected:,} received"
    ctx.report.add(Row("watch", f"events lost + duplicated, {watchers} watchers", bad, "events",
                       measured=f"{accounting.lost} lost, {accounting.duplicated} duplicated, "
                                f"{disorder} out of order ({received})",
                       target=T_LOST, data=asdict(accounting) | {"out_of_order": disorder}))
    if rss0 is not None and rss1 is not None and watchers >= 100:
        per = (rss1 - rss0) / watchers
        ctx.report.add(Row("watch", f"daphne memory per idle watch ({watchers})", per, "B",
                           measured=f"{fmt(per / 1024)} KiB", data={"before": rss0, "after": rss1}))


# ---- 6. paged LIST -----------------------------------------------------------------------------

# Controllers triggered by seeded writes (portal membership sync, binding reconcilers) run inline in
# the seed process instead of queueing hundreds of tasks ahead of the measured ones.
SEED_ENV = {"KCP_CELERY_EAGER": "1"}


async def seed(ctx: Context, *args: str) -> dict[str, Any]:
    """Run `python -m bench.seed ARGS` with the stack's environment; its progress goes to stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.seed", *args, cwd=str(PROJECT_DIR), env={**ctx.child_env, **SEED_ENV},
        stdout=asyncio.subprocess.PIPE, stderr=None)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"seed {' '.join(args)} failed with exit {proc.returncode}")
    return dict(orjson.loads(out.strip().splitlines()[-1]))


async def bench_paged_list(ctx: Context) -> None:
    n = ctx.sizes.list_objects
    progress(f"paged LIST: seeding {n:,} configmaps in one namespace (setup)")
    await ensure_namespace(ctx.api, "root:bench", "big")
    await seed(ctx, "configmaps", "root:bench", "big", str(n))
    base = f"{cluster_prefix('root:bench')}/api/v1/namespaces/big/configmaps"
    progress(f"paged LIST: walking {n:,} objects in pages of {ctx.sizes.page_size}")
    pages: list[float] = []
    walks: list[float] = []
    items_seen = 0
    reps = 3 if ctx.sizes.list_objects <= 2000 else 5
    for _ in range(reps):
        began = time.perf_counter()
        token = ""
        items_seen = 0
        while True:
            params = {"limit": str(ctx.sizes.page_size)}
            if token:
                params["continue"] = token
            r = await ctx.api.get(base, params=params)
            if not r.ok:
                raise RuntimeError(f"paged LIST answered {r.status}: {str(r.body)[:200]}")
            pages.append(r.seconds)
            items_seen += len(r.body.get("items") or [])
            token = (r.body.get("metadata") or {}).get("continue") or ""
            if not token:
                break
        walks.append(time.perf_counter() - began)
    sp, sw = summarize(pages), summarize(walks)
    ctx.report.add(Row("list", f"LIST page of {ctx.sizes.page_size}, {n:,} objects in namespace",
                       sp and sp.p99 * 1000, "ms", measured=lat(sp), ratio=ratio(sp and sp.p50, ctx.version_p50),
                       ratio_of="/version p50 (p50 ratio)", data={"pages": sp and sp.as_ms(), "items": items_seen}))
    ctx.report.add(Row("list", f"full paged walk of {n:,} objects", sw and sw.p50, "s",
                       measured=f"{fmt(sw and sw.p50)} s median of {reps} "
                                f"({fmt(items_seen / sw.p50 if sw else 0)} items/s)",
                       data={"walks": sw and sw.as_ms()}))


# ---- 7. big workspace counts and tree deletion -------------------------------------------------

async def seed_big(ctx: Context) -> None:
    have = await asyncio.to_thread(ctx.db.workspace_count)
    tree = ctx.sizes.big_tree
    filler = max(0, ctx.sizes.big_workspaces - have - tree)
    progress(f"setup: seeding a {tree:,}-workspace tree and {filler:,} more flat workspaces through the "
             f"services layer (not measured)")
    await ensure_workspace(ctx.api, "root", "bench-deltree")
    await ensure_workspace(ctx.api, "root", "bench-filler")
    jobs = max(1, ctx.sizes.seed_jobs)
    began = time.monotonic()
    await seed(ctx, "workspaces", "root:bench-deltree", str(tree), "--prefix", "t", "--fanout",
               str(ctx.sizes.tree_fanout))
    share = [filler // jobs + (1 if j < filler % jobs else 0) for j in range(jobs)]
    await asyncio.gather(*(seed(ctx, "workspaces", "root:bench-filler", str(k), "--prefix", f"f{j}-")
                           for j, k in enumerate(share) if k))
    ctx.timings["seed_big_seconds"] = time.monotonic() - began


async def delete_tree(ctx: Context, parent: str, name: str, label: str, target: Target | None) -> None:
    tree_size = await asyncio.to_thread(
        ctx.db.scalar, "SELECT count(*) FROM core_logicalcluster WHERE path LIKE %s", (f"{parent}:{name}:%",))
    progress(f"deleting the {label} ({tree_size:,} workspaces below {parent}:{name})")
    path = f"{cluster_prefix(parent)}{TENANCY}/workspaces/{name}"
    began = time.perf_counter()
    r = await ctx.api.delete(path)
    if not r.ok:
        ctx.report.add(Row("delete", f"delete {label}", None, "s", note=f"unavailable: DELETE answered {r.status}"))
        return

    dead = ""

    async def gone() -> bool:
        nonlocal dead
        dead = ctx.health()
        return bool(dead) or (await ctx.api.get(path)).status == 404

    ok = await wait_until(gone, 120 + tree_size * 0.05, interval=0.1)
    seconds = time.perf_counter() - began
    if dead:
        ctx.report.add(Row("delete", f"delete a {tree_size:,}-workspace tree ({label})", None, "s",
                           target=target, note=f"unavailable: {dead} while deleting"))
        return
    left = await asyncio.to_thread(
        ctx.db.scalar, "SELECT count(*) FROM core_logicalcluster WHERE path LIKE %s", (f"{parent}:{name}:%",))
    ctx.report.add(Row("delete", f"delete a {tree_size:,}-workspace tree ({label})", seconds if ok else None, "s",
                       measured=f"{fmt(seconds)} s" + ("" if ok else " (not finished)"),
                       ratio=throughput(tree_size, seconds), ratio_of="workspaces/s",
                       target=target, note="" if ok and not left else f"{left} logical clusters left",
                       data={"workspaces": tree_size, "left": left}))


# ---- 8. provider wildcard list -----------------------------------------------------------------

APIS = "/apis/apis.kcp.io"
GROUP = "bench.example.com"


def consumer(name: str) -> str:
    return cluster_prefix("root:bench-consumers:" + name)


async def bind_consumers(ctx: Context, names: list[str], timeout: float) -> str:
    """Create an APIBinding to the bench export in each consumer and wait for Bound; returns
    why that failed, or "" when all are Bound."""
    api = ctx.api
    sem = asyncio.Semaphore(8)
    statuses: list[int] = []
    binding = {"apiVersion": "apis.kcp.io/v1alpha2", "kind": "APIBinding", "metadata": {"name": "bench"},
               "spec": {"reference": {"export": {"path": "root:bench-provider", "name": GROUP}}}}

    async def bind(name: str) -> None:
        async with sem:
            statuses.append((await api.post(f"{consumer(name)}{APIS}/v1alpha2/apibindings", binding)).status)

    await asyncio.gather(*(bind(x) for x in names))
    failed = [s for s in statuses if s >= 300 and s != 409]
    if failed:
        return f"APIBinding create answered {failed[0]} ({len(failed)} of {len(statuses)})"
    waiting = set(names)

    async def check(name: str) -> None:
        async with sem:
            g = await api.get(f"{consumer(name)}{APIS}/v1alpha2/apibindings/bench")
        if g.ok and (g.body.get("status") or {}).get("phase") == "Bound":
            waiting.discard(name)

    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        await asyncio.gather(*(check(x) for x in list(waiting)))
        if waiting:
            progress(f"provider: {len(names) - len(waiting):,}/{len(names):,} bindings Bound")
            await asyncio.sleep(1)
    if waiting:
        return f"{len(waiting):,} of {len(names):,} APIBindings not Bound after {timeout:.0f}s"
    return ""


async def bench_provider(ctx: Context) -> None:
    api = ctx.api
    small, big = ctx.sizes.provider_consumers
    progress(f"provider wildcard list: export in root:bench-provider, {small:,} then {big:,} bound consumers")

    results: dict[int, Any] = {}

    def unavailable(reason: str) -> None:
        for n in (small, big):
            if n in results:
                continue
            ctx.report.add(Row("provider", f"wildcard LIST over {n:,} bound consumers", None, "ms",
                               note=f"unavailable: {reason}"))
        ctx.report.add(Row("provider", f"wildcard LIST p99 at {big:,} vs {small:,} consumers", None, "x",
                           target=T_PROVIDER_RATIO, note=f"unavailable: {reason}"))
        progress(f"provider: unavailable: {reason}")

    await ensure_workspace(api, "root", "bench-provider")
    prov = cluster_prefix("root:bench-provider")
    schema = {
        "apiVersion": "apis.kcp.io/v1alpha1", "kind": "APIResourceSchema",
        "metadata": {"name": f"v1.widgets.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                               "schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}]},
    }
    r = await api.post(f"{prov}{APIS}/v1alpha1/apiresourceschemas", schema)
    if not r.ok and r.status != 409:
        return unavailable(f"APIResourceSchema create answered {r.status}")
    export = {"apiVersion": "apis.kcp.io/v1alpha2", "kind": "APIExport", "metadata": {"name": GROUP},
              "spec": {"resources": [{"group": GROUP, "name": "widgets", "schema": f"v1.widgets.{GROUP}",
                                      "storage": {"crd": {}}}]}}
    r = await api.post(f"{prov}{APIS}/v1alpha2/apiexports", export)
    if not r.ok and r.status != 409:
        return unavailable(f"APIExport create answered {r.status}")

    async def has_identity() -> bool:
        g = await api.get(f"{prov}{APIS}/v1alpha2/apiexports/{GROUP}")
        return bool(g.ok and (g.body.get("status") or {}).get("identityHash"))

    if not await wait_until(has_identity, 30):
        return unavailable("APIExport got no status.identityHash within 30s")
    url = ""

    async def endpoint() -> bool:
        nonlocal url
        g = await api.get(f"{prov}{APIS}/v1alpha1/apiexportendpointslices/{GROUP}")
        eps = ((g.body or {}).get("status") or {}).get("endpoints") or [] if g.ok else []
        url = eps[0].get("url", "") if eps else ""
        return bool(url)

    await ensure_workspace(api, "root", "bench-consumers")
    bound_total = 0
    for n in (small, big):
        add = n - bound_total
        progress(f"provider: setup: seeding {add:,} consumer workspaces (services layer), binding them over HTTP")
        await seed(ctx, "workspaces", "root:bench-consumers", str(add), "--prefix", f"c{n}-")
        names = [f"c{n}-{i}" for i in range(add)]
        problem = await bind_consumers(ctx, names, 60 + add * 0.05)
        if problem:
            return unavailable(problem)
        bound_total = n
        if n == small:
            for i in range(min(ctx.sizes.provider_with_objects, len(names))):
                w = await api.post(f"{consumer(names[i])}/apis/{GROUP}/v1alpha1/"
                                   f"namespaces/default/widgets",
                                   {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Widget",
                                    "metadata": {"name": f"w{i}"}, "spec": {"size": i}})
                if not w.ok:
                    return unavailable(f"creating a Widget in a consumer answered {w.status}")
        if not await wait_until(endpoint, 30):
            return unavailable("APIExportEndpointSlice has no status.endpoints[0].url")
        wildcard = f"{url.rstrip('/')}/clusters/*/apis/{GROUP}/v1alpha1/widgets"
        await settle(ctx, "provider")
        samples: list[float] = []
        items = 0
        for _ in range(5):  # warm-up: caches of the virtual workspace and the bound resources
            await api.get(wildcard)
        for _ in range(max(20, ctx.sizes.samples // 5)):
            g = await api.get(wildcard)
            if not g.ok:
                return unavailable(f"wildcard LIST through the endpoint slice answered {g.status}")
            samples.append(g.seconds)
            items = len(g.body.get("items") or [])
        s = summarize(samples)
        results[n] = s
        ctx.report.add(Row("provider", f"wildcard LIST over {n:,} bound consumers", s and s.p99 * 1000, "ms",
                           measured=f"{lat(s)}, {items} items", data={"summary": s and s.as_ms(), "items": items}))
        if s:
            ctx.curve("provider wildcard LIST p50 (x = bound consumers)", n, s.p50 * 1000)
    a, b = results.get(small), results.get(big)
    if a and b:
        r99 = ratio(b.p99, a.p99)
        ctx.report.add(Row("provider", f"wildcard LIST p99 at {big:,} vs {small:,} consumers", r99, "x",
                           ratio=r99, ratio_of=f"of the {small:,} run", target=T_PROVIDER_RATIO,
                           note="same result count; cost should not grow with tenants"))


# --------------------------------------------------------------------------------------------
# Stack and main
# --------------------------------------------------------------------------------------------

async def run_sections(ctx: Context, sections: set[str], health: Callable[[], str]) -> None:
    """The sections in order; one that fails is reported as unavailable and the run goes on.
    `health()` names a dead stack process ("" while all run): checked after every section."""
    api = ctx.api
    ctx.health = health
    try:
        await ensure_workspace(api, "root", "bench")
        await prepare_probe(ctx)
    except Exception as e:  # noqa: BLE001 - reported as the run's only row
        progress(f"setup failed: {e}")
        ctx.report.add(Row("setup", "workspace root:bench", None, note=f"unavailable: {e}"[:300]))
        return
    small: dict[str, Any] = {}
    quick = ctx.sizes != Sizes()

    async def getlist_small() -> None:
        small.update(await bench_get_list(ctx, "after flat workspace creation"))

    async def getlist_mid() -> None:
        if not quick:
            await bench_get_list(ctx, "after tree workspace creation")

    async def big_then_delete() -> None:
        await seed_big(ctx)
        if dead := health():
            raise RuntimeError(f"{dead} during bulk setup")
        big = await bench_get_list(ctx, "after bulk setup")
        if small:
            get_list_ratio_rows(ctx, small, big, quick)
        await delete_tree(ctx, "root", "bench-deltree", "seeded tree", T_DELETE_10K)

    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("references", lambda: bench_references(ctx)),
        ("writes", lambda: bench_writes(ctx)),
        ("workspaces", lambda: bench_workspace_creation(ctx, "flat")),
        ("getlist", getlist_small),
        ("workspaces", lambda: bench_workspace_creation(ctx, "tree")),
        ("getlist", getlist_mid),
        ("watch", lambda: bench_watch(ctx)),
        ("list", lambda: bench_paged_list(ctx)),
        ("delete", lambda: delete_tree(ctx, "root", "bench-tree", "tree created over HTTP", None)),
        ("big", big_then_delete),
        ("provider", lambda: bench_provider(ctx)),
    ]
    for name, step in steps:
        if sections and name not in sections:
            continue
        began = time.monotonic()
        try:
            await step()
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the others
            progress(f"section {name} failed: {type(e).__name__}: {e}")
            ctx.report.add(Row(name, f"section {name}", None, note=f"unavailable: {type(e).__name__}: {e}"[:200]))
        ctx.timings[f"{name}_seconds"] = round(ctx.timings.get(f"{name}_seconds", 0) + time.monotonic() - began, 2)
        if dead := health():
            progress(f"stack process died during section {name}: {dead}")
            ctx.report.add(Row("stack", f"process died during {name}", None, note=f"unavailable: {dead}"))
            return


def run_fairness_section(data_dir: Path, server_url: str | None, env: dict[str, str], sizes: Sizes,
                         report: Report, keep: bool) -> dict[str, Any]:
    """The fairness section on a stack of its own (its own data dir, or its own database on
    DATABASE_URL's server) with the server's default per-tenant limits, unless KCP_TENANT_* in the
    environment say otherwise. A failure is reported as the section's row. Returns the stack's
    PostgreSQL version and number of serving processes (for the report's header)."""
    from kcpsite.launcher import Stack

    from .fairness import bench_fairness

    limits = ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("KCP_TENANT_"))
    limits = f"limits: {limits or 'server defaults'}"
    progress(f"fairness: starting a stack of its own in {data_dir} ({limits})")
    facts: dict[str, Any] = {}
    try:
        with database_for_run(server_url, keep=keep) as database_url:
            stack = Stack(data_dir, free_port(), database_url, env, echo_errors=False,
                          progress=lambda m: progress(f"fairness stack: {m}"))
            try:
                stack.start()
                assert stack.database_url is not None
                facts = {"postgres": Database(stack.database_url).server_version(), "servers": stack.servers}

                async def go() -> None:
                    async with Api(stack.base_url, stack.admin_token, str(stack.ca_path)) as api:
                        await bench_fairness(api, report, creates=sizes.flood_creates, clients=sizes.flood_clients,
                                             baseline_samples=sizes.fairness_baseline, limits=limits,
                                             progress=progress, project_dir=PROJECT_DIR)

                asyncio.run(go())
                if stack.failed:
                    log = stack.logs_dir / f"{stack.failed[0]}.log"
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
                    progress(f"fairness: {stack.failed[0]} kept exiting; the end of {log}:\n{tail}")
                    raise RuntimeError(f"{stack.failed[0]} kept exiting during the section (see {stack.logs_dir})")
            finally:
                progress("stopping the fairness stack")
                stack.stop()
    except Exception as e:  # noqa: BLE001 - reported like any failed section
        progress(f"section fairness failed: {type(e).__name__}: {e}")
        report.add(Row("fairness", "section fairness", None, note=f"unavailable: {type(e).__name__}: {e}"[:200]))
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    quick_env = os.environ.get("QUICK", "").lower() in ("1", "true", "yes")
    parser.add_argument("--quick", action="store_true", default=quick_env,
                        help="small sizes, under three minutes (also QUICK=1 in the environment)")
    parser.add_argument("--data-dir", default=os.environ.get("KCP_BENCH_DATA_DIR") or str(PROJECT_DIR / ".cache" /
                                                                                           "bench-data"))
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--only", default="", help="comma-separated sections: references,writes,workspaces,"
                                                   "getlist,watch,list,delete,big,provider,shards,sharded,"
                                                   "fairness (--quick runs sharded only when named)")
    parser.add_argument("--big-workspaces", type=int, default=0, help="override the workspace count of the "
                                                                      "second GET/LIST run")
    parser.add_argument("--keep-data", action="store_true", help="keep the bench data dir (default: wiped "
                                                                 "before the run so sizes are comparable)")
    parser.add_argument("--output", default=str(RESULTS_DIR / "latest.json"))
    parser.add_argument("--servers", default=os.environ.get("KCP_SERVERS", ""),
                        help="KCP_SERVERS for the stack: daphne processes sharing the port (default: the "
                             "launcher's default)")
    parser.add_argument("--db-pool-size", default=os.environ.get("KCP_DB_POOL_SIZE", ""),
                        help="KCP_DB_POOL_SIZE for the server's processes (default: the settings' default; "
                             "0 = a connection per request)")
    args = parser.parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    if args.big_workspaces:
        sizes = replace(sizes, big_workspaces=args.big_workspaces)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    # The fairness section has a stack of its own (the server's default limits); the others share
    # one with the limits off. An empty set means every section.
    # The shards section needs no stack: the directory and the proxy's map on a scratch database.
    # The sharded section starts two stacks of its own (one shard, two shards): about two minutes
    # of start-up, so a QUICK run includes it only when named.
    main_sections = sections - {"fairness", "shards", "sharded"}
    run_main = not sections or bool(main_sections)
    run_fairness = not sections or "fairness" in sections
    run_shards = not sections or "shards" in sections
    run_sharded = "sharded" in sections or (not sections and not args.quick)

    if str(PROJECT_DIR) not in sys.path:
        sys.path.append(str(PROJECT_DIR))
    from kcpsite.launcher import Stack

    raise_fd_limit()

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)  # stop the stack on SIGTERM as on Ctrl-C
    data_dir = Path(args.data_dir).resolve()
    server_url = os.environ.get("DATABASE_URL") or None
    if not args.keep_data and data_dir.exists():
        from kcpsite.embedded import stop_embedded_postgres

        with contextlib.suppress(Exception):
            stop_embedded_postgres(data_dir)
        shutil.rmtree(data_dir)
    started = time.time()
    machine_info = machine()
    meta_db: dict[str, Any] = {}
    report = Report()
    ctx: Context | None = None
    mode = "quick" if args.quick else "full"
    base_env = {k: str(v) for k, v in (("KCP_DB_POOL_SIZE", args.db_pool_size), ("KCP_SERVERS", args.servers))
                if v != ""}
    server_env = dict(base_env)
    # The bench measures capacity: 32 clients writing into one workspace are, by design, a noisy
    # tenant that the per-tenant limits would answer with 429s (the fairness section measures them).
    for variable in ("KCP_TENANT_QPS", "KCP_TENANT_CONCURRENCY", "KCP_TENANT_WATCHES"):
        server_env.setdefault(variable, os.environ.get(variable, "0"))
    stack: Any = None
    if run_main:
        on = " on DATABASE_URL's server" if server_url else ""
        progress(f"bench ({mode}): starting a stack in {data_dir}{on}")
        with database_for_run(server_url, keep=args.keep_data) as database_url:
            stack = Stack(data_dir, args.port or free_port(), database_url, server_env, echo_errors=False,
                          progress=lambda m: progress(f"stack: {m}"))
            try:
                stack.start()
                assert stack.database_url is not None
                db = Database(stack.database_url)
                pids = stack.pids

                def health() -> str:
                    if stack.failed:
                        return (f"{stack.failed[0]} keeps exiting, last with code {stack.failed[1]} "
                                f"(see {stack.logs_dir})")
                    return ""

                async def go() -> Context:
                    async with Api(stack.base_url, stack.admin_token, str(stack.ca_path)) as api:
                        daphnes = [pid for name, pid in pids.items() if name.startswith("daphne")]
                        workers = [pid for name, pid in pids.items() if name.startswith("worker")]
                        c = Context(api, db, sizes, report, stack.child_env(), daphnes, workers)
                        await run_sections(c, main_sections, health)
                        return c

                meta_db = {"postgres": db.server_version(), "embedded": server_url is None,
                           "max_connections": db.scalar("SHOW max_connections"), "server_env": server_env}
                ctx = asyncio.run(go())
            finally:
                progress("stopping the stack")
                stack.stop()
    timings = dict(ctx.timings) if ctx is not None else {}
    facts: dict[str, Any] = {}
    curves = ctx.curves if ctx is not None else {}
    if run_shards:
        from .shards import run_shards_section

        began = time.monotonic()
        shard_facts = run_shards_section(report, data_dir / "shards", server_url, quick=args.quick,
                                         entries=sizes.shard_entries, shards=sizes.shard_records,
                                         workspaces=sizes.route_workspaces, progress=progress)
        timings["shards_seconds"] = round(time.monotonic() - began, 2)
        meta_db = meta_db or shard_facts
    if run_sharded:
        from .sharded import run_sharded_section

        began = time.monotonic()
        run_sharded_section(report, data_dir / "sharded", count=sizes.sharded_workspaces, rounds=sizes.sharded_rounds,
                            keep=args.keep_data, progress=progress)
        timings["sharded_seconds"] = round(time.monotonic() - began, 2)
    if run_fairness:
        began = time.monotonic()
        facts = run_fairness_section(data_dir / "fairness", server_url, base_env, sizes, report, args.keep_data)
        timings["fairness_seconds"] = round(time.monotonic() - began, 2)
        meta_db = meta_db or {"postgres": facts.get("postgres"), "embedded": server_url is None}
    wall = time.time() - started
    png = Path(args.output).parent / "latency-vs-workspaces.png"
    plotted = plot([Curve(k, sorted(v)) for k, v in curves.items()], png,
                   f"kcp-django latency vs. workspace count ({mode} run)")
    load_end = [round(x, 2) for x in os.getloadavg()]
    meta = {"mode": mode, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "load_average_at_end": load_end,
            "wall_seconds": round(wall, 1), "machine": machine_info, "database": meta_db, "sizes": asdict(sizes),
            "section_seconds": timings, "plot": str(png) if plotted else None, "curves": curves,
            "process_restarts": stack.restarts if stack is not None else []}
    report.write_json(Path(args.output), meta)
    print()
    print(f"kcp-django benchmark, {mode} mode" + (" (QUICK sizes: see the figure names)" if args.quick else "")
          + f", {os.cpu_count()} CPUs (load average {meta['machine']['load_average_at_start'][0]} at start, "
          f"{load_end[0]} at end), PostgreSQL {meta_db.get('postgres')}, "
          f"{len(ctx.daphne_pids) if ctx is not None else facts.get('servers', '-')} daphne process(es), "
          f"wall time {wall:.0f} s")
    print(report.render())
    print(f"\nresults: {args.output}" + (f"\nplot:    {png}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
