"""The "fairness" section: does one tenant flooding the server slow the others?

A quiet tenant GETs one configmap, one request at a time, 50 a second: alone (the reference,
half of it measured before the flood and half after it) and while a noisy tenant floods the
server with creates from 32 connections. Figures: the quiet tenant's p50/p99 alone and during the
flood and their ratio (DESIGN: a noisy tenant gets 429 while others stay fast; the target here
is p99 during the flood <= 2x alone), and the flood's own throughput, latency and 429 count.

The section runs on a stack of its own with the server's default limits (the rest of the bench
turns them off, since it measures capacity); KCP_TENANT_* in the bench's environment reach it, so
other settings can be measured the same way. The flood runs in a child process
(`python -m bench.fairness`): in the parent's event loop its 32 connections would delay the
quiet tenant's measurement on the client side. The flood behaves as client-go does: a 429 is
retried after its Retry-After.

Child protocol (stdin/stdout, one JSON document per line): stdin {"url", "token", "ca", "base",
"creates", "clients"}; stdout "go" once its connections are open and the flood starts, then
{"created", "refused", "failed", "seconds", "latencies", "errors"} when every create succeeded."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from .client import Api, cluster_prefix, ensure_workspace
from .report import Report, Row
from .stats import Target, fmt, ratio, summarize, throughput

T_FAIRNESS_P99 = Target("<=", 2.0, "x")
NOISY, QUIET = "root:fair-noisy", "root:fair-quiet"
#: The quiet tenant's pace: 50 GETs a second, half its rate limit (KCP_TENANT_QPS, 100).
QUIET_INTERVAL = 0.02


# ---- the flood (child process) -----------------------------------------------------------------

async def _flood(args: dict[str, Any]) -> dict[str, Any]:
    creates, clients = int(args["creates"]), int(args["clients"])
    latencies: list[float] = []
    counts = {"refused": 0, "failed": 0}
    errors: list[str] = []
    next_index = [0]
    async with Api(args["url"], args["token"], args["ca"]) as api:
        await asyncio.gather(*(api.get("/version") for _ in range(clients)))  # open the connections
        print("go", flush=True)
        began = time.perf_counter()

        async def client(c: int) -> None:
            while next_index[0] < creates:
                i = next_index[0]
                next_index[0] += 1
                body = {"metadata": {"name": f"flood-{c}-{i}-{secrets.token_hex(2)}"}, "data": {"key": "v" * 200}}
                while True:
                    r = await api.post(args["base"], body)
                    if r.status == 429:
                        counts["refused"] += 1
                        retry_after = (r.body or {}).get("details", {}).get("retryAfterSeconds", 1)
                        await asyncio.sleep(float(retry_after))
                        continue
                    if r.ok:
                        latencies.append(r.seconds)
                    else:
                        counts["failed"] += 1
                        if len(errors) < 5:
                            errors.append(f"{r.status}: {str(r.body)[:200]}")
                    break

        await asyncio.gather(*(client(c) for c in range(clients)))
        seconds = time.perf_counter() - began
    return {"created": len(latencies), **counts, "seconds": seconds, "latencies": latencies, "errors": errors}


def main() -> None:
    args = orjson.loads(sys.stdin.readline())
    result = asyncio.run(_flood(args))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


# ---- the section (parent) ----------------------------------------------------------------------

async def _quiet_gets(api: Api, path: str, *, samples: int | None = None,
                      until: asyncio.Future[Any] | None = None) -> tuple[list[float], int]:
    """GETs of `path`, one at a time, one every QUIET_INTERVAL at most (a quiet tenant stays
    well under the per-tenant rate limit): `samples` of them, or until `until` is done. Returns
    the latencies of the successful ones and the number that failed (a 429 included)."""
    latencies: list[float] = []
    failed = 0
    while (samples is not None and len(latencies) + failed < samples) or (until is not None and not until.done()):
        began = time.perf_counter()
        r = await api.get(path)
        if r.ok:
            latencies.append(r.seconds)
        else:
            failed += 1
        await asyncio.sleep(max(0.0, QUIET_INTERVAL - (time.perf_counter() - began)))
    return latencies, failed


async def bench_fairness(api: Api, report: Report, *, creates: int, clients: int, baseline_samples: int,
                         limits: str, progress: Callable[[str], None], project_dir: Path) -> None:
    progress(f"fairness: {creates} creates from one tenant over {clients} connections vs. a quiet tenant's GETs")
    await ensure_workspace(api, "root", NOISY.split(":")[1])
    await ensure_workspace(api, "root", QUIET.split(":")[1])
    quiet_base = f"{cluster_prefix(QUIET)}/api/v1/namespaces/default/configmaps"
    noisy_base = f"{cluster_prefix(NOISY)}/api/v1/namespaces/default/configmaps"
    r = await api.post(quiet_base, {"metadata": {"name": "probe"}, "data": {"key": "v" * 200}})
    if not r.ok and r.status != 409:
        raise RuntimeError(f"creating the probe answered {r.status}: {r.body}")
    probe = f"{quiet_base}/probe"
    await _quiet_gets(api, probe, samples=50)  # warm-up
    # Half the reference before the flood and half after it: other load on the machine drifts,
    # and a reference taken at one end only would put that drift into the ratio.
    alone, alone_failed = await _quiet_gets(api, probe, samples=baseline_samples // 2)

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fairness", cwd=str(project_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(orjson.dumps({"url": api.base_url, "token": api.token, "ca": api.ca_file,
                                        "base": noisy_base, "creates": creates, "clients": clients}) + b"\n")
        await child.stdin.drain()
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        if line.strip() != b"go":
            raise RuntimeError(f"the flood process answered {line[:200]!r} instead of 'go'")
        result_line = asyncio.ensure_future(child.stdout.readline())
        during, during_failed = await _quiet_gets(api, probe, until=result_line)
        flood = orjson.loads(await result_line)
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    await asyncio.sleep(1)  # what the flood left running (its last commits, autovacuum's first look) settles
    after, after_failed = await _quiet_gets(api, probe, samples=baseline_samples - baseline_samples // 2)
    alone += after
    alone_failed += after_failed

    a, d = summarize(alone), summarize(during)
    if a is None or d is None:
        raise RuntimeError(f"no quiet samples: {len(alone)} alone, {len(during)} during the flood")
    ms = lambda s: f"p50 {fmt(s.p50 * 1000)} ms / p99 {fmt(s.p99 * 1000)} ms"  # noqa: E731
    report.add(Row("fairness", "quiet tenant GET, alone", a.p99 * 1000, "ms",
                   measured=f"{ms(a)} ({a.n} GETs, before and after the flood)", note=limits,
                   data={"summary": a.as_ms(), "failed": alone_failed}))
    p99_ratio = ratio(d.p99, a.p99)
    report.add(Row("fairness", f"quiet tenant GET during a {clients}-connection create flood", d.p99 * 1000, "ms",
                   measured=f"{ms(d)} ({d.n} GETs; p50 {fmt(ratio(d.p50, a.p50))}x alone)",
                   ratio=p99_ratio, ratio_of="p99 alone", target=T_FAIRNESS_P99, target_on="ratio",
                   note=f"{during_failed} quiet requests failed" if during_failed else "",
                   data={"summary": d.as_ms(), "failed": during_failed, "p50_ratio": ratio(d.p50, a.p50)}))
    f = summarize(flood["latencies"])
    rate = throughput(flood["created"], flood["seconds"])
    report.add(Row("fairness", f"noisy tenant: {creates} creates over {clients} connections", rate, "/s",
                   measured=f"{fmt(rate)} creates/s; {ms(f) if f else '-'}; {flood['refused']:,} answered 429 "
                            f"(retried after Retry-After)",
                   note=(f"{flood['failed']} failed {flood['errors'][:1]}" if flood["failed"] else ""),
                   data={k: v for k, v in flood.items() if k != "latencies"} | {"summary": f and f.as_ms()}))


if __name__ == "__main__":
    main()
