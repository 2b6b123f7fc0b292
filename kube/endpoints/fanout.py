"""A virtual workspace's wildcard view merged across the backends that serve parts of it.

Some surfaces are served in parts: the APIExport virtual workspace of each shard serves the
consumers that shard holds. A surface that knows its parts answers `Surface.fan_out` with a
`FanOut` (which backends, and how to reach each one's own part); a wildcard list or watch
(`/clusters/*`) at the surface's shared URL then asks every part over HTTPS with the caller's own
credentials (each part authenticates and authorizes the request itself) and merges the answers:

* **list**: every part's items (each with its own resourceVersion, which writes to its object
  use as they are), sorted by logical cluster, namespace and name; the list's resourceVersion is a
  *composite* (`composite_encode`: each part's list resourceVersion by name, opaque to clients).
  A part that cannot answer makes the whole list fail with 503 + Retry-After: never a partial
  list, which a client would take as deletions. `limit` is not honoured across parts (the
  whole list is returned, without `continue`, as a server that does not page may).
* **watch**: one upstream watch per part, started from the part's entry in the client's
  composite resourceVersion (a part the client has not seen yet starts with its current state,
  as a watch without resourceVersion does); events pass through as they are; after each batch a
  BOOKMARK carries the composite position when the client allows bookmarks and every part's
  position is known (a part that started with its state is known from its first bookmark: its
  initial objects carry older resourceVersions), so a client resumes where it was. An upstream
  that ends or breaks is resumed from its own position without the client noticing (a part that
  is down holds back only its own events); one that answers 410
  (its position compacted) ends the stream with that error, as a single backend would. A plain
  (non-composite) resourceVersion other than "0" cannot say where each part was: 410, so the
  client lists again. `sendInitialEvents=true`: every part's initial events, then one bookmark
  marking their end once every part has sent its own.

With no part but this backend's own, nothing is fanned out (the caller serves the request
itself, with plain resourceVersions)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson

from kube import errors

Obj = dict[str, Any]

#: Prefix of a composite resourceVersion (kept short: clients send it back in URLs).
COMPOSITE_PREFIX = "m."
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
#: Query parameters a part gets as the client sent them (the rest are decided here).
_FORWARDED_QUERY = ("labelSelector", "fieldSelector", "timeoutSeconds", "pretty")
#: Request headers a part gets: the caller's credentials and who it acts as.
_FORWARDED_HEADERS = ("authorization", "user-agent")
LIST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class FanOut:
    """The parts of a surface: `parts` maps each backend holding a part to the URL of its own
    part (up to, not including, `/clusters/...`); `url_of` gives that URL for any backend by name
    (one a client's position names, whose part has since emptied), None for unknown ones.
    `here` names this backend. `ca_file` verifies the parts' certificates."""

    here: str
    parts: Mapping[str, str]
    url_of: Callable[[str], str | None]
    ca_file: str
    _ssl: list[ssl.SSLContext] = field(default_factory=list, compare=False, repr=False)

    def needed(self, resource_version: str) -> bool:
        """Whether a request must be fanned out: a part elsewhere, or a position naming parts."""
        return any(name != self.here for name in self.parts) or composite_decode(resource_version) is not None

    def ssl_context(self) -> ssl.SSLContext:
        if not self._ssl:
            self._ssl.append(ssl.create_default_context(cafile=self.ca_file))
        return self._ssl[0]


def composite_encode(positions: Mapping[str, str]) -> str:
    """Each part's resourceVersion by name, as one opaque resourceVersion."""
    raw = orjson.dumps(dict(sorted(positions.items())))
    return COMPOSITE_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def composite_decode(resource_version: str) -> dict[str, str] | None:
    """The positions a composite resourceVersion holds, or None for any other string (a bad
    composite is refused: 400)."""
    if not resource_version.startswith(COMPOSITE_PREFIX):
        return None
    text = resource_version[len(COMPOSITE_PREFIX) :]
    try:
        positions = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError) as e:
        raise errors.BadRequest(f'invalid resourceVersion "{resource_version}"') from e
    if not isinstance(positions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.isdigit() for k, v in positions.items()
    ):
        raise errors.BadRequest(f'invalid resourceVersion "{resource_version}"')
    return positions


def _headers(headers: Mapping[str, str], accept: str) -> dict[str, str]:
    out = {k: v for k, v in headers.items() if k in _FORWARDED_HEADERS or k.startswith("impersonate-")}
    out["accept"] = accept
    return out


def _accept(requested: str) -> str:
    """JSON, as a Table when the client asked for one (parts are merged as JSON)."""
    return "application/json;as=Table;v=v1;g=meta.k8s.io" if "as=table" in requested.lower() else "application/json"


def _unavailable(part: str, why: str) -> errors.StatusError:
    return errors.ServiceUnavailable(
        f"the part of this view held by {part} is unavailable: {why}; retry", retry_after=1
    )


def _part_error(part: str, status: int, body: bytes) -> errors.StatusError:
    """A part's refusal, passed on (its Status when it sent one)."""
    if status >= 500:
        return _unavailable(part, f"it answered {status}")
    try:
        doc = orjson.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        details = doc.get("details") or {}
        return errors.StatusError(
            str(doc.get("message") or ""), code=status, reason=str(doc.get("reason") or ""),
            name=str(details.get("name") or ""), group=str(details.get("group") or ""),
            kind=str(details.get("kind") or ""),
        )
    return errors.StatusError(f"the part held by {part} answered {status}", code=status, reason="Unknown")


# --- list -----------------------------------------------------------------------------------------


def merged_list(
    fan: FanOut, *, path: str, query_string: str, headers: Mapping[str, str], list_kind: tuple[str, str]
) -> Obj:
    """Every part's list of `path` (after `/clusters/*`), merged (see the module docstring);
    `list_kind` (kind, apiVersion) names an empty list when no part holds anything."""
    query = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k in _FORWARDED_QUERY]
    sent = _headers(headers, _accept(headers.get("accept", "")))
    timeout = httpx.Timeout(LIST_TIMEOUT, connect=CONNECT_TIMEOUT)

    def fetch(part: str, url: str) -> tuple[str, Obj]:
        try:
            with httpx.Client(verify=fan.ssl_context(), timeout=timeout) as client:
                resp = client.get(f"{url}/clusters/*{path}", params=tuple(query), headers=sent)
        except httpx.HTTPError as e:
            raise _unavailable(part, type(e).__name__) from e
        if resp.status_code != 200:
            raise _part_error(part, resp.status_code, resp.content)
        return part, orjson.loads(resp.content)

    with ThreadPoolExecutor(max_workers=min(8, len(fan.parts)) or 1) as pool:
        answers = list(pool.map(lambda kv: fetch(*kv), sorted(fan.parts.items())))
    return _merge(answers, list_kind=list_kind)


def _merge(answers: list[tuple[str, Obj]], *, list_kind: tuple[str, str]) -> Obj:
    if not answers:
        kind, api_version = list_kind
        return {"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": composite_encode({})},
                "items": []}
    merged = dict(answers[0][1])
    key = "rows" if merged.get("kind") == "Table" else "items"
    rows: list[Obj] = []
    for _, doc in answers:
        rows.extend(doc.get(key) or [])
    rows.sort(key=_order)
    merged[key] = rows
    positions = {part: str((doc.get("metadata") or {}).get("resourceVersion") or "0") for part, doc in answers}
    merged["metadata"] = {"resourceVersion": composite_encode(positions)}
    return merged


def _order(item: Obj) -> tuple[str, str, str]:
    meta = item.get("metadata") or (item.get("object") or {}).get("metadata") or {}
    cluster = (meta.get("annotations") or {}).get("kcp.io/cluster", "")
    return str(cluster), str(meta.get("namespace", "")), str(meta.get("name", ""))


# --- watch ----------------------------------------------------------------------------------------


@dataclass
class WatchStart:
    """Where each part's upstream watch starts, decided before the response begins; `known`: the
    parts whose start is a position the client holds (the others start with their state)."""

    positions: dict[str, str]
    urls: dict[str, str]
    known: frozenset[str] = frozenset()


def watch_start(fan: FanOut, *, resource_version: str) -> WatchStart:
    """Each part's starting resourceVersion: its entry in the client's composite position (parts
    it names that no longer hold anything included, so their deletions still arrive), "" for a
    part it has not seen; the client's "" or "0" for every part; 410 for a plain position."""
    seen = composite_decode(resource_version)
    if seen is None and resource_version not in ("", "0"):
        raise errors.Expired(f"too old resource version: {resource_version} (a view merged across shards)")
    urls = dict(fan.parts)
    for part in seen or {}:
        if part not in urls and (url := fan.url_of(part)) is not None:
            urls[part] = url
    if seen is None:
        return WatchStart({part: resource_version for part in urls}, urls)
    return WatchStart({part: seen.get(part, "") for part in urls}, urls, frozenset(p for p in urls if p in seen))


async def merged_watch(
    fan: FanOut,
    start: WatchStart,
    *,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    bookmark: Callable[[str, bool], Obj] | None,
    deadline: float,
) -> AsyncIterator[list[bytes]]:
    """Batches of watch-event lines from every part (see the module docstring). `bookmark(rv,
    initial_end)` makes a BOOKMARK event's object, None when the client allows no bookmarks."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    initial = params.get("sendInitialEvents", "").lower() in ("true", "1")
    base = [(k, v) for k, v in params.items() if k in _FORWARDED_QUERY and k != "timeoutSeconds"]
    base.append(("allowWatchBookmarks", "true"))
    if initial:
        base += [("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan")]
    sent = _headers(headers, _accept(headers.get("accept", "")))
    queue: asyncio.Queue[tuple[str, Obj | None]] = asyncio.Queue()
    positions = dict(start.positions)
    # A part that started with its state sends its objects with their own, older resourceVersions:
    # its position is known only from its first bookmark (the revision it has reached). Until
    # every part's is, no bookmark goes out: resuming from it would replay what was sent.
    known = set(start.known)
    pending_initial = set(start.urls) if initial else set()
    loop = asyncio.get_running_loop()

    async def follow(part: str, url: str) -> None:
        timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT)
        async with httpx.AsyncClient(verify=fan.ssl_context(), timeout=timeout) as client:
            while True:
                query = [*base, ("watch", "1"), ("resourceVersion", positions[part])]
                remaining = int(deadline - loop.time())
                query.append(("timeoutSeconds", str(max(1, remaining + 5))))
                try:
                    target = f"{url}/clusters/*{path}"
                    async with client.stream("GET", target, params=tuple(query), headers=sent) as resp:
                        if resp.status_code != 200:
                            body = await resp.aread()
                            err = _part_error(part, resp.status_code, body)
                            if resp.status_code < 500:
                                await queue.put((part, {"type": "ERROR", "object": err.status()}))
                                return
                        else:
                            async for line in resp.aiter_lines():
                                if line.strip():
                                    await queue.put((part, orjson.loads(line)))
                except (httpx.HTTPError, ValueError):
                    pass  # the part went away: resumed from its position below
                await asyncio.sleep(RETRY_SECONDS)

    tasks = [asyncio.create_task(follow(part, url)) for part, url in sorted(start.urls.items())]
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                first = await asyncio.wait_for(queue.get(), timeout=remaining)
            except TimeoutError:
                return
            batch = [first]
            while not queue.empty() and len(batch) < 256:
                batch.append(queue.get_nowait())
            lines: list[bytes] = []
            ended = False
            for part, event in batch:
                if event is None:
                    continue
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    lines.append(orjson.dumps(event) + b"\n")
                    ended = True
                    break
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if rv:
                    positions[part] = rv
                if kind == "BOOKMARK":
                    known.add(part)
                    annotations = (obj.get("metadata") or {}).get("annotations") or {}
                    if part in pending_initial and annotations.get(INITIAL_EVENTS_END) == "true":
                        pending_initial.discard(part)
                        if not pending_initial and bookmark is not None and known >= set(start.urls):
                            end = {"type": "BOOKMARK", "object": bookmark(composite_encode(positions), True)}
                            lines.append(orjson.dumps(end) + b"\n")
                    continue
                lines.append(orjson.dumps(event) + b"\n")
            if bookmark is not None and not ended and lines and not pending_initial and known >= set(start.urls):
                mark = {"type": "BOOKMARK", "object": bookmark(composite_encode(positions), False)}
                lines.append(orjson.dumps(mark) + b"\n")
            if lines:
                yield lines
            if ended:
                return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
