"""`python -m bench.watchers`: a share of one watch round's streams in a process of its own.

One Python event loop reading 1,000 TLS streams spends ~60 µs per stream per event, serially: the
last stream hears of an event tens of milliseconds after the first, whatever the server does. The
bench therefore spreads large rounds over several of these processes, so that commit → event is
the server's figure rather than one client loop's.

Protocol (stdin/stdout, one JSON document per line):
* stdin, first line: {"url", "token", "ca", "base", "rv", "prefix", "expect", "count"}: open
  `count` watches of `base` from `rv`, counting ADDED events of names starting with `prefix`.
* stdout: "open" once every watch is open (or the opening timed out: see errors).
* stdin, second line (anything, or end of file): the writes are done; wait up to 15 s for every
  watch to have `expect` events, half a second more for duplicates, then
* stdout: {"received": [[[name, resourceVersion, arrival], ...] per watch], "errors": [...]}.
Arrival times are `time.perf_counter()`: CLOCK_MONOTONIC, one clock for every process on the
machine, so the parent compares them with its own."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson

from .client import Api
from .run import WatchRound


async def _serve(args: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    async with Api(args["url"], args["token"], args["ca"]) as api:
        rnd = WatchRound(int(args["count"]), str(args["prefix"]), int(args["expect"]))
        await rnd.open(api, args["base"], str(args["rv"]))
        print("open", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        await rnd.close()
        return {"received": rnd.received, "errors": rnd.errors}


def main() -> None:
    args = orjson.loads(sys.stdin.readline())
    result = asyncio.run(_serve(args))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
