"""Reads of the cache of what crosses shards, its health, and a comparison with the shard.

Reading order, for every caller: **local first, then the cache, never the cache as the authority
on existence.** Callers read their own shard first (a cluster this shard holds is answered from
its own rows, always); only for a cluster it does not hold do they come here. And here every read
is joined with the directory in the same statement: a cached row counts only while the directory
places its logical cluster, live (Initializing or Ready), on *another* shard. So the cache never
answers for a cluster of this shard (however stale its copy), never for one that was deleted (its
copy may linger until replication catches up, or forever after its shard is gone), and never for
one the directory does not know. Without a global database there is no cache: everything is
local and these return nothing.

The cache is eventually consistent: a change on its shard arrives after the replication lag
(milliseconds while replication runs; `cache_health` shows it). While the global database is
unreachable a read raises the database error (a request answers 503, as for any database
outage); while replication stands still the cache answers with what it had."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections

from ..selectors import local_shard_name
from .spec import SHARD, TABLES, CachedTable, cache_alias, cache_configured, slot_name, subscription_name, table_of

Obj = dict[str, Any]

_LIVE = "('Initializing', 'Ready')"


def _remote_rows_sql(table: CachedTable, select: str) -> str:
    return (
        f"SELECT {select} FROM public.{table.table} c JOIN public.kcp_directory d ON d.name = c.cluster "
        f"WHERE c.cluster = %s AND c.\"group\" = %s AND c.resource = ANY(%s) AND d.phase IN {_LIVE} "
        "AND d.shard <> %s"
    )


def _body(value: Any) -> Obj:
    """A jsonb column as the raw cursor returns it (text: Django decodes JSONFields itself)."""
    return json.loads(value) if isinstance(value, str | bytes) else dict(value)


def _query(table: CachedTable, select: str, cluster: str, group: str, resources: list[str]) -> list[tuple[Any, ...]]:
    with connections[cache_alias()].cursor() as cur:
        cur.execute(_remote_rows_sql(table, select), [cluster, group, resources, local_shard_name()])
        return list(cur.fetchall())


def cache_objects(*, cluster: str, group: str, resource: str) -> list[Obj]:
    """The cached objects of kind (group, resource) in `cluster`, when the directory places that
    cluster, live, on another shard; else []. Sorted by namespace and name."""
    table = table_of(group=group, resource=resource)
    if table is None or not cache_configured():
        return []
    rows = _query(table, "c.namespace, c.name, c.body", cluster, group, [resource])
    return [_body(body) for _, _, body in sorted(rows, key=lambda r: (r[0], r[1]))]


def cache_signature(*, cluster: str, group: str, resources: tuple[str, ...]) -> tuple[int, int]:
    """(count, newest resourceVersion) of what `cache_objects` would return for these resources of
    one table: a cluster's rows all come from one shard, whose revisions are commit-ordered, so a
    change always changes it. (0, 0) when there is nothing to use."""
    tables = {table_of(group=group, resource=r) for r in resources}
    if not cache_configured() or len(tables) != 1 or None in tables:
        return (0, 0)
    (table,) = tables
    assert table is not None
    rows = _query(table, "count(*), coalesce(max(c.resource_version), 0)", cluster, group, list(resources))
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def cache_signatures(*, clusters: list[str], group: str, resource: str) -> dict[str, tuple[int, int]]:
    """`cache_signature` of one kind for many clusters in one statement: {cluster: (count, newest
    resourceVersion)} for those of `clusters` the directory places, live, on another shard and
    that have rows of that kind in the cache (the others are absent)."""
    table = table_of(group=group, resource=resource)
    if table is None or not cache_configured() or not clusters:
        return {}
    sql = (
        f"SELECT c.cluster, count(*), coalesce(max(c.resource_version), 0) FROM public.{table.table} c "
        "JOIN public.kcp_directory d ON d.name = c.cluster "
        f"WHERE c.cluster = ANY(%s) AND c.\"group\" = %s AND c.resource = %s AND d.phase IN {_LIVE} "
        "AND d.shard <> %s GROUP BY c.cluster"
    )
    with connections[cache_alias()].cursor() as cur:
        cur.execute(sql, [clusters, group, resource, local_shard_name()])
        return {str(c): (int(n), int(rv)) for c, n, rv in cur.fetchall()}


# --- RBAC for the authorizer (kube.authz.authorizer.ReplicatedRBAC) ------------------------------

_RBAC = "rbac.authorization.k8s.io"
_RBAC_RESOURCES = ("clusterroles", "clusterrolebindings")


def cache_rbac_signature(cluster: str) -> tuple[int, int]:
    return cache_signature(cluster=cluster, group=_RBAC, resources=_RBAC_RESOURCES)


def cache_rbac_rows(cluster: str) -> list[tuple[str, Obj]]:
    """[(resource, body)] of the replicated ClusterRoles and ClusterRoleBindings of `cluster`."""
    table = table_of(group=_RBAC, resource=_RBAC_RESOURCES[0])
    if table is None or not cache_configured():
        return []
    rows = _query(table, "c.resource, c.body", cluster, _RBAC, list(_RBAC_RESOURCES))
    return [(str(resource), _body(body)) for resource, body in rows]


# --- health ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionHealth:
    """One shard's replication into the cache, as the global database sees it.

    `state`: `streaming` (the apply worker runs and every table is copied), `copying` (the initial
    copy of some table is still running), `down` (enabled but no apply worker: it is failing and
    retrying; the server log says why, `apply_errors`/`sync_errors` count it), `disabled`."""

    subscription: str
    state: str
    enabled: bool
    worker_pid: int | None
    tables_not_ready: int
    received_lsn: str | None
    last_message_at: datetime | None
    last_reported_at: datetime | None
    apply_errors: int
    sync_errors: int


@dataclass(frozen=True)
class SlotHealth:
    """This shard's side: its slot, and how far the cache is behind it (`lag_bytes` of WAL
    written here and not yet confirmed by the subscriber). `wal_status` `lost`: the cache was away
    longer than `max_slot_wal_keep_size` allows; `manage.py kcp_cache install` rebuilds it."""

    slot: str
    exists: bool
    active: bool
    wal_status: str
    lag_bytes: int | None


@dataclass(frozen=True)
class CacheHealth:
    configured: bool
    subscriptions: list[SubscriptionHealth]
    local_subscription: str
    local_slot: SlotHealth | None


_HEALTH_SQL = """
SELECT s.subname, s.subenabled, w.pid, w.received_lsn::text, w.last_msg_receipt_time, w.latest_end_time,
       coalesce(st.apply_error_count, 0), coalesce(st.sync_error_count, 0),
       (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate <> 'r')
FROM pg_subscription s
JOIN pg_database d ON d.oid = s.subdbid AND d.datname = current_database()
LEFT JOIN LATERAL (
    SELECT pid, received_lsn, last_msg_receipt_time, latest_end_time FROM pg_stat_subscription
    WHERE subid = s.oid AND relid IS NULL ORDER BY pid LIMIT 1
) w ON true
LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid
WHERE s.subname LIKE 'kcp\\_cache\\_%'
ORDER BY s.subname
"""


def _state(enabled: bool, pid: int | None, not_ready: int) -> str:
    if not enabled:
        return "disabled"
    if pid is None:
        return "down"
    return "copying" if not_ready else "streaming"


def cache_health() -> CacheHealth:
    """Every shard's subscription as the global database reports it (`pg_stat_subscription`,
    `pg_stat_subscription_stats`, `pg_subscription_rel`), and this shard's slot and lag."""
    if not cache_configured():
        return CacheHealth(configured=False, subscriptions=[], local_subscription="", local_slot=None)
    with connections[cache_alias()].cursor() as cur:
        cur.execute(_HEALTH_SQL)
        rows = cur.fetchall()
    subs = [
        SubscriptionHealth(
            subscription=str(name),
            state=_state(bool(enabled), pid, int(not_ready)),
            enabled=bool(enabled),
            worker_pid=pid,
            tables_not_ready=int(not_ready),
            received_lsn=lsn,
            last_message_at=last_msg,
            last_reported_at=last_end,
            apply_errors=int(apply_errors),
            sync_errors=int(sync_errors),
        )
        for name, enabled, pid, lsn, last_msg, last_end, apply_errors, sync_errors, not_ready in rows
    ]
    slot = slot_name(local_shard_name(), str(connections[SHARD].settings_dict["NAME"]))
    with connections[SHARD].cursor() as cur:
        cur.execute(
            "SELECT active, coalesce(wal_status, ''), pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) "
            "FROM pg_replication_slots WHERE slot_name = %s",
            [slot],
        )
        found = cur.fetchone()
    local = SlotHealth(
        slot=slot,
        exists=found is not None,
        active=bool(found and found[0]),
        wal_status=str(found[1]) if found else "",
        lag_bytes=int(found[2]) if found and found[2] is not None else None,
    )
    return CacheHealth(
        configured=True, subscriptions=subs, local_subscription=subscription_name(local_shard_name()), local_slot=local
    )


# --- comparing the cache with this shard ----------------------------------------------------------


def _digest_sql(table: CachedTable, *, filtered: bool) -> str:
    where = f" AND ({table.row_filter})" if filtered and table.row_filter else ""
    # byte order: the two databases may sort text differently
    order = ", ".join(f'{c} COLLATE "C"' for c in ("cluster", '"group"', "resource", "namespace", "name"))
    return (
        "SELECT count(*), coalesce(md5(string_agg(concat_ws('|', cluster, \"group\", resource, namespace, name, "
        f"resource_version::text, body::text), E'\\n' ORDER BY {order})), '') "
        f"FROM public.{table.table} WHERE cluster = ANY(%s){where}"
    )


def cache_compare(*, clusters: list[str]) -> dict[str, tuple[tuple[int, str], tuple[int, str]]]:
    """Per replicated table: ((count, checksum) of what this shard publishes, (count, checksum) of
    the cache) for the given logical clusters of this shard. Equal pairs: the cache holds exactly
    the replicated rows, with the same resourceVersions and bodies."""
    out: dict[str, tuple[tuple[int, str], tuple[int, str]]] = {}
    for table in TABLES:
        sides = []
        for alias, filtered in ((SHARD, True), (cache_alias(), False)):
            with connections[alias].cursor() as cur:
                cur.execute(_digest_sql(table, filtered=filtered), [clusters])
                count, digest = cur.fetchone() or (0, "")
            sides.append((int(count), str(digest)))
        out[table.table] = (sides[0], sides[1])
    return out


def cache_local_clusters() -> list[str]:
    """The logical clusters with replicated rows on this shard."""
    names: set[str] = set()
    with connections[SHARD].cursor() as cur:
        for table in TABLES:
            where = f" WHERE {table.row_filter}" if table.row_filter else ""
            cur.execute(f"SELECT DISTINCT cluster FROM public.{table.table}{where}")
            names.update(str(r[0]) for r in cur.fetchall())
    return sorted(names)
