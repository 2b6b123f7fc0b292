"""What the proxy's maps hold, as pure functions (no database, no HAProxy).

Map format (both files are HAProxy map files: one `<key> <value>` per line)
--------------------------------------------------------------------------
* `routes.map`: key = a routed logical cluster's canonical path (`root:org:team`) and, as a second
  key, its logical cluster name (`2x9kqp...`; `root` is both, written once); value =
  `<shard>/<logical cluster name>`. The frontend looks up the first segment after `/clusters/` or
  `/workspaces/` and, for `/clusters/`, rewrites the segment to the value's second field.
  Keys never collide: paths start with `root` and, but for `root` itself, contain a colon; names
  never do.
* `shards.map`: key = shard name, value = the HAProxy backend that serves it (`be_<shard>`). A
  route naming a shard the running configuration has no backend for answers 503.

Only rows whose keys and shard name are plain (lower-case DNS labels, colons in paths) become map
lines: anything else could not be a real path and would break the line format or the runtime
API's command line (which splits on spaces and `;`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: Separates the shard from the logical cluster name in a route's value.
VALUE_SEPARATOR = "/"
#: A canonical path (`root:a:b`) or a logical cluster name.
_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9:-]{0,2046}[a-z0-9])?$")
#: A shard name (a DNS subdomain) usable in a backend name.
_SHARD = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,126}[a-z0-9])?$")


@dataclass(frozen=True)
class Route:
    """One routed logical cluster: its name, canonical path and owning shard."""

    name: str
    path: str
    shard: str

    @property
    def value(self) -> str:
        return f"{self.shard}{VALUE_SEPARATOR}{self.name}"

    @property
    def keys(self) -> tuple[str, ...]:
        """The map keys that lead to it: its path, then its name (once when they are equal)."""
        return (self.path,) if self.path == self.name else (self.path, self.name)

    @property
    def valid(self) -> bool:
        return route_key_valid(self.path) and route_key_valid(self.name) and shard_name_valid(self.shard)


def route_key_valid(key: str) -> bool:
    return bool(_KEY.match(key)) and "::" not in key


def shard_name_valid(name: str) -> bool:
    return bool(_SHARD.match(name))


def backend_name(shard: str) -> str:
    """The HAProxy backend of a shard."""
    return f"be_{shard}"


def route_entries(routes: Iterable[Route]) -> Iterator[tuple[str, str]]:
    """`(key, value)` for every valid route, path key first; invalid routes are left out."""
    for route in routes:
        if route.valid:
            for key in route.keys:
                yield key, route.value


def map_line(key: str, value: str) -> str:
    return f"{key} {value}\n"
