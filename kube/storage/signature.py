"""Per-logical-cluster values derived from a cluster's rows, rebuilt only when those rows change.

The signature is one aggregate query: the rows' count and newest resourceVersion. Revisions are
commit-ordered, so two committed states of the same rows never share a signature (a later write
has a larger revision; a delete lowers the count). A cluster costs one bounded LRU entry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.db.models import Count, Max, QuerySet


class SignatureCache[T]:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple[int, int], T]] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(self, cluster: str, rows: QuerySet[Any], build: Callable[[QuerySet[Any]], T], empty: T) -> T:
        """The value `build(rows)` made for the rows as they are now (`empty` when there are none)."""
        agg = rows.aggregate(n=Count("id"), rv=Max("resource_version"))
        signature = (int(agg["n"] or 0), int(agg["rv"] or 0))
        if signature[0] == 0:
            return empty
        with self._lock:
            hit = self._entries.get(cluster)
            if hit is not None and hit[0] == signature:
                self._entries.move_to_end(cluster)
                return hit[1]
        value = build(rows)
        with self._lock:
            self._entries[cluster] = (signature, value)
            self._entries.move_to_end(cluster)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
