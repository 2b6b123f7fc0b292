"""Which shards hold bindings of an export: the rows behind the APIExportEndpointSlice's URLs.

Each shard keeps, in the global table kcp_apiexport_shards (`APIExportShard`), one row per export
it holds at least one binding of, and writes only its own rows. The export's shard lists, in the
export's endpoint slice, its own provider virtual workspace first (always: a provider can start
its controller before the first consumer binds, and that URL answers an empty list), then the one
of every other shard with a row. A row appears after the commit that gives a shard its first
binding of the export and goes after the commit that removes its last one; the insert or delete
rings PRESENCE_CHANNEL, whose listener on the export's shard (the directory follower) enqueues
the export's reconcile. A missed notification or a crash between the two databases is healed by
`apiexport_shards_resync` (Celery beat, every RESYNC_SECONDS on every shard).

Why a global table and not a row replicated through the cache (as reference/shards.md sketches):
the global database already is what every shard writes its own rows into (shard records, the
directory), a trigger there wakes the export's shard directly, and a replicated row would reach it
only after the subscription's apply, with a trigger that must run in the apply worker. Either way
no shard writes another shard's data.

`apiexport_shard_presence_sync` serializes per (export, shard) with an advisory lock on the global
database and counts the bindings after taking it: a run started after a binding's commit sees it,
so two runs racing (one after the last unbinding, one after a new binding) end with the row the
later commit calls for."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import connections, router, transaction

from shards.selectors import local_shard_name

from .models import APIBindingRow, APIExportRow, APIExportShard

#: How often every shard re-derives its rows and the slices of the exports it holds.
RESYNC_SECONDS = 30.0


def _alias() -> str:
    return router.db_for_write(APIExportShard)


def apiexport_shard_presence_sync(*, export_cluster: str, export_name: str) -> bool:
    """Make this shard's row for the export say whether it holds a binding of it now. True when
    the row was inserted or deleted (the caller then has the export reconciled when it lives on
    this shard: one shard runs no follower). A lockless look first: almost every call finds the
    row already right."""
    if not export_cluster or not export_name:
        return False
    shard, alias = local_shard_name(), _alias()
    rows = APIExportShard.objects.using(alias).filter(
        export_cluster=export_cluster, export_name=export_name, shard=shard
    )
    bindings = APIBindingRow.objects.filter(export_cluster=export_cluster, export_name=export_name)
    if bindings.exists() == rows.exists():
        return False
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('kcp_apiexport_shards'), hashtext(%s))",
                [f"{export_cluster}/{export_name}/{shard}"],
            )
        holds = bindings.exists()
        if holds == rows.exists():
            return False
        if holds:
            APIExportShard.objects.using(alias).create(
                export_cluster=export_cluster, export_name=export_name, shard=shard
            )
        else:
            rows.delete()
    return True


def apiexport_shards(*, export_cluster: str, export_name: str) -> list[str]:
    """The shards holding at least one binding of the export, by name."""
    return sorted(
        APIExportShard.objects.using(_alias())
        .filter(export_cluster=export_cluster, export_name=export_name)
        .values_list("shard", flat=True)
    )


#: The shards holding each export of this shard, as the last resync in this process saw them.
ExportShards = dict[tuple[str, str], frozenset[str]]


def apiexport_shards_resync(*, reconcile: Callable[[str, str], Any], seen: ExportShards) -> int:
    """This shard's rows re-derived from its bindings (inserted where missing, deleted where no
    binding is left); then `reconcile(cluster, name)` for every export of this shard whose set of
    shards differs from what the previous pass saw (`seen`, updated here): a notification missed
    meanwhile is healed, and an unchanged export costs nothing (a process's first pass reconciles
    every export with rows once). Returns the number of rows fixed."""
    shard, alias = local_shard_name(), _alias()
    held = set(
        APIBindingRow.objects.exclude(export_cluster="")
        .values_list("export_cluster", "export_name")
        .distinct()
    )
    recorded = set(
        APIExportShard.objects.using(alias).filter(shard=shard).values_list("export_cluster", "export_name")
    )
    fixed = 0
    for export_cluster, export_name in sorted(held ^ recorded):
        fixed += apiexport_shard_presence_sync(export_cluster=export_cluster, export_name=export_name)
    current = _shards_by_export()
    local = _local_exports(set(current) | set(seen))
    for key in sorted(local):
        if current.get(key) != seen.get(key):
            reconcile(*key)
    seen.clear()
    seen.update({key: shards for key, shards in current.items() if key in local})
    return fixed


def _shards_by_export() -> ExportShards:
    """Every export named by a row, with the shards holding its bindings (the rows are few: one
    per export and shard with consumers)."""
    grouped: dict[tuple[str, str], set[str]] = defaultdict(set)
    rows = APIExportShard.objects.using(_alias()).values_list("export_cluster", "export_name", "shard")
    for export_cluster, export_name, shard in rows:
        grouped[(export_cluster, export_name)].add(shard)
    return {key: frozenset(shards) for key, shards in grouped.items()}


def _local_exports(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of `keys` (cluster, export name) whose export is stored on this shard."""
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for export_cluster, export_name in keys:
        by_cluster[export_cluster].append(export_name)
    local: set[tuple[str, str]] = set()
    for export_cluster, names in by_cluster.items():
        found = APIExportRow.objects.filter(cluster=export_cluster, name__in=names).values_list("name", flat=True)
        local.update((export_cluster, name) for name in found)
    return local


def presence_notification_handle(*, payload: str, reconcile: Callable[[str, str], Any]) -> bool:
    """A PRESENCE_CHANNEL notification: when the export is on this shard, `reconcile(cluster,
    name)` (its endpoint slice follows). Malformed payloads are ignored (the resync covers them)."""
    try:
        row = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(row, dict):
        return False
    export_cluster, export_name = row.get("export_cluster"), row.get("export_name")
    if not isinstance(export_cluster, str) or not isinstance(export_name, str):
        return False
    if not apiexport_is_local(export_cluster=export_cluster, export_name=export_name):
        return False
    reconcile(export_cluster, export_name)
    return True


def apiexport_is_local(*, export_cluster: str, export_name: str) -> bool:
    """Whether the export is stored on this shard (its slice is this shard's to write)."""
    return APIExportRow.objects.filter(cluster=export_cluster, name=export_name).exists()


def apibinding_export_of(*, cluster: str, name: str) -> tuple[str, str] | None:
    """The export a binding resolved to (status.apiExportClusterName, spec's name), or None."""
    row = APIBindingRow.objects.filter(cluster=cluster, name=name).values_list("export_cluster", "export_name").first()
    return row if row is not None and row[0] else None
