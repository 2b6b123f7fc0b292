"""Reads of the global tables the proxy follows: the shard records (its backends) and the directory
of logical clusters (its routes). The directory's table lives in the global database when there
is one (kcpsite.dbrouter), which the ORM's router picks; `listen_connection` opens a plain
connection to that same database for LISTEN."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg
from django.db import connections, router
from django.db.models import Q

from shards.models import DIRECTORY_CHANNEL, ROUTED_PHASES, SHARDS_CHANNEL, DirectoryEntry, ShardRecord

from .config import ShardBackend
from .routes import Route

#: Rows fetched per round trip when the whole directory is read (a server-side cursor).
CHUNK = 10_000


def shard_backends() -> list[ShardBackend]:
    """Every registered shard, by name."""
    rows = ShardRecord.objects.order_by("name").values_list("name", "base_url")
    return [ShardBackend(name, base_url) for name, base_url in rows]


def routes_all() -> Iterator[Route]:
    """Every routed logical cluster (phase Initializing or Ready), streamed in one snapshot."""
    rows = DirectoryEntry.objects.filter(phase__in=ROUTED_PHASES).order_by().values_list("name", "path", "shard")
    for name, path, shard in rows.iterator(chunk_size=CHUNK):
        yield Route(name, path, shard)


def routes_touching(*, names: Iterable[str], paths: Iterable[str]) -> list[Route]:
    """The routed logical clusters named `names` or living at `paths` now (one indexed query: the
    primary key, and the unique index of live paths)."""
    names, paths = list(set(names)), list(set(paths))
    if not names and not paths:
        return []
    rows = DirectoryEntry.objects.filter(Q(name__in=names) | Q(path__in=paths), phase__in=ROUTED_PHASES)
    return [Route(name, path, shard) for name, path, shard in rows.values_list("name", "path", "shard")]


def listen_connection() -> psycopg.Connection:
    """A new autocommit connection to the directory's database, LISTENing on its channel and on
    the shard records' (the same database: both tables are global)."""
    alias = router.db_for_read(DirectoryEntry)
    settings = connections[alias].settings_dict
    params = {"dbname": settings["NAME"], "user": settings["USER"], "password": settings["PASSWORD"],
              "host": settings["HOST"], "port": settings["PORT"]}
    conn = psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True, connect_timeout=5)
    conn.execute(f"LISTEN {DIRECTORY_CHANNEL}")
    conn.execute(f"LISTEN {SHARDS_CHANNEL}")
    return conn


def close_database() -> None:
    """Drop the ORM's connection to the directory's database (after an error: the next query
    connects again)."""
    connections[router.db_for_read(DirectoryEntry)].close()
