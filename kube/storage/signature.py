"""Per-logical-cluster values derived from a cluster's rows, rebuilt only when those rows change.

The signature is one aggregate query: the rows' count and newest resourceVersion. Revisions are
commit-ordered, so two committed states of the same rows never share a signature (a later write
has a larger revision; a delete lowers the count). A cluster costs one bounded LRU entry.

The signature query runs on every API request that resolves a resource, so it is plain SQL made
once per (table, filter columns) rather than an ORM aggregate compiled per call (which cost
several times the query itself)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from .backend import column_name


class SignatureCache[T]:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple[int, int], T]] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(
        self,
        cluster: str,
        model: type[Model],
        build: Callable[[QuerySet[Any]], T],
        empty: T,
        **match: str,
    ) -> T:
        """The value `build(rows)` made for `model`'s rows of `cluster` (and the equalities in
        `match`, field=value) as they are now; `empty` when there are none."""
        signature = rows_signature(model, cluster=cluster, **match)
        if signature[0] == 0:
            return empty
        with self._lock:
            hit = self._entries.get(cluster)
            if hit is not None and hit[0] == signature:
                self._entries.move_to_end(cluster)
                return hit[1]
        value = build(model._default_manager.filter(cluster=cluster, **match))
        with self._lock:
            self._entries[cluster] = (signature, value)
            self._entries.move_to_end(cluster)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_signature_sql: dict[tuple[type[Model], tuple[str, ...]], str] = {}

_Pinned = dict[tuple[type[Model], tuple[tuple[str, str], ...]], tuple[int, int]]
_pinned: ContextVar[_Pinned | None] = ContextVar("pinned_signatures", default=None)


@contextmanager
def signatures_pinned() -> Iterator[None]:
    """Within the block each signature is read once and then reused: for a caller that checks a
    batch against the same rows with no write of its own in between (`Store.prepare_creates`
    admits every object of a new workspace before writing any; each admission asked for the
    cluster's APIBinding signature again)."""
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def rows_signature(model: type[Model], **match: str) -> tuple[int, int]:
    """(count, newest resource_version) of `model`'s rows whose fields equal `match`."""
    pinned = _pinned.get()
    if pinned is not None:
        pin_key = (model, tuple(sorted(match.items())))
        if pin_key in pinned:
            return pinned[pin_key]
    fields = tuple(sorted(match))
    sql = _signature_sql.get((model, fields))
    if sql is None:
        quote = connection.ops.quote_name
        where = " AND ".join(f"{quote(column_name(model, f))} = %s" for f in fields) or "TRUE"
        sql = f"SELECT count(*), max(resource_version) FROM {quote(model._meta.db_table)} WHERE {where}"
        _signature_sql[(model, fields)] = sql
    with connection.cursor() as cur:
        cur.execute(sql, [match[f] for f in fields])
        row = cur.fetchone()
    signature = (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
    if pinned is not None:
        pinned[pin_key] = signature
    return signature
