"""Setting up the cache of what crosses shards: this shard's publication and replication slot, and
the global database's subscription to this shard (shards.cache.spec says what travels).

`cache_install` is idempotent and runs at every start in split mode (`manage.py kcp_cache
install`, run by the launcher after both migrations). Its steps, in order, and why that order:

1. Replica identity of each replicated table on the shard := its key index (updates and deletes
   then carry the key the cache looks rows up by).
2. The publication, created or set to the current tables, columns and row filters. Before the
   slot: a slot decodes with the catalog as it was at each change, so a publication created after
   the slot would be missing for the changes in between.
3. The RBAC marks recomputed on every cluster when the grants the apps register changed since
   the last install (a new version; kube.authz.replication).
4. The slot on the shard's server, created here with `pg_create_logical_replication_slot` and not
   by CREATE SUBSCRIPTION: when both databases share a server, a subscription creating its own
   slot waits for its own transaction and hangs. A slot PostgreSQL gave up (WAL beyond
   `max_slot_wal_keep_size` while the cache was away) is rebuilt with the subscription.
5. The subscription in the global database (`create_slot = false`, `copy_data = true`), named
   after the shard. A new one first removes the cache rows of this shard's logical clusters
   (the copy brings them back as they are now, deletions missed meanwhile included). An existing
   one gets the current connection string, is enabled, and is refreshed when the publication
   gained tables.

Privileges: the shard's role owns the published tables and has REPLICATION; the global
database's role creates subscriptions (a superuser before PostgreSQL 16, `pg_create_subscription`
from 16) and sets session_replication_role (step 5's cleanup). The embedded server's `postgres`
role has all of them. The subscription connects to the shard's database with
`KCP_CACHE_PUBLISHER_URL` when set (the shard's database as the global database's server
reaches it), else with the shard's own connection settings.

Nothing here runs without a global database: then there is no cache, and every read is local."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, transaction

from ..selectors import local_shard_name
from .spec import PUBLICATION, PUBLISH, SHARD, TABLES, cache_alias, cache_configured, slot_name, subscription_name

#: How long a statement of the install may wait (creating a slot waits for running transactions).
STATEMENT_TIMEOUT_MS = 60_000


@dataclass
class InstallReport:
    """What `cache_install` did (or why it did nothing)."""

    shard: str
    subscription: str = ""
    slot: str = ""
    skipped: str = ""
    steps: list[str] = field(default_factory=list)


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shard_database() -> str:
    return str(connections[SHARD].settings_dict["NAME"])


def publisher_conninfo() -> str:
    """How the global database's server connects to this shard's database."""
    override = str(getattr(settings, "KCP_CACHE_PUBLISHER_URL", "") or "")
    if override:
        return override
    from psycopg.conninfo import make_conninfo

    s = connections[SHARD].settings_dict
    params = {
        "host": s.get("HOST") or "",
        "port": str(s.get("PORT") or ""),
        "dbname": _shard_database(),
        "user": s.get("USER") or "",
        "password": s.get("PASSWORD") or "",
    }
    return make_conninfo("", **{k: v for k, v in params.items() if v})


def _fetchall(alias: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def _execute(alias: str, sql: str, params: list[Any] | None = None) -> None:
    with connections[alias].cursor() as cur:
        cur.execute(sql, params)


# --- the shard's side -----------------------------------------------------------------------------


def _ensure_replica_identity(report: InstallReport) -> None:
    for t in TABLES:
        rows = _fetchall(
            SHARD,
            "SELECT c.relreplident, coalesce(i.indisreplident, false) FROM pg_class c "
            "LEFT JOIN pg_index i ON i.indexrelid = to_regclass(%s) WHERE c.oid = to_regclass(%s)",
            [f"public.{t.replica_identity}", f"public.{t.table}"],
        )
        if rows and rows[0][0] == "i" and rows[0][1]:
            continue
        _execute(SHARD, f"ALTER TABLE public.{t.table} REPLICA IDENTITY USING INDEX {t.replica_identity}")
        report.steps.append(f"replica identity of {t.table}: {t.replica_identity}")


def _publication_tables_sql() -> str:
    parts = []
    for t in TABLES:
        columns = ", ".join(_quote(c) for c in t.columns)
        where = f" WHERE ({t.row_filter})" if t.row_filter else ""
        parts.append(f"public.{t.table} ({columns}){where}")
    return ", ".join(parts)


def _publication_current() -> bool | None:
    """None: no publication; else whether it publishes exactly the spec."""
    if not _fetchall(SHARD, "SELECT 1 FROM pg_publication WHERE pubname = %s", [PUBLICATION]):
        return None
    rows = _fetchall(
        SHARD,
        "SELECT tablename, attnames, coalesce(rowfilter, '') FROM pg_publication_tables "
        "WHERE pubname = %s AND schemaname = 'public'",
        [PUBLICATION],
    )
    have = {str(name): (frozenset(cols or ()), str(flt).strip("()")) for name, cols, flt in rows}
    want = {t.table: (frozenset(t.columns), t.row_filter) for t in TABLES}
    flags = _fetchall(
        SHARD,
        "SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = %s",
        [PUBLICATION],
    )
    return have == want and flags[0] == (True, True, True, False)


def _ensure_publication(report: InstallReport) -> bool:
    """Create or correct the publication; True when its tables changed (the subscription then
    needs a refresh)."""
    state = _publication_current()
    if state is True:
        return False
    if state is None:
        _execute(SHARD, f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {_publication_tables_sql()} "
                        f"WITH (publish = {_quote_literal(PUBLISH)})")
        report.steps.append(f"publication {PUBLICATION} created")
    else:
        _execute(SHARD, f"ALTER PUBLICATION {PUBLICATION} SET TABLE {_publication_tables_sql()}")
        _execute(SHARD, f"ALTER PUBLICATION {PUBLICATION} SET (publish = {_quote_literal(PUBLISH)})")
        report.steps.append(f"publication {PUBLICATION} updated")
    return True


def _slot_state(slot: str) -> str | None:
    """None: no such slot; else its wal_status ('reserved', 'extended', 'unreserved', 'lost')."""
    rows = _fetchall(SHARD, "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = %s", [slot])
    return str(rows[0][0]) if rows else None


def _drop_slot(slot: str, *, timeout: float = 10.0) -> None:
    """Drop the slot once no walsender holds it (the subscription's stops when it is dropped or
    disabled, a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _fetchall(SHARD, "SELECT active FROM pg_replication_slots WHERE slot_name = %s", [slot])
        if not rows:
            return
        if not rows[0][0]:
            _execute(SHARD, "SELECT pg_drop_replication_slot(%s)", [slot])
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"replication slot {slot} is still in use")
        time.sleep(0.1)


def _create_slot(slot: str) -> None:
    with transaction.atomic(using=SHARD):
        _execute(SHARD, f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        _execute(SHARD, "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [slot])


# --- the global database's side -------------------------------------------------------------------


def _subscription(name: str) -> tuple[bool, str] | None:
    """(enabled, connection string) of the subscription in the global database, or None."""
    rows = _fetchall(
        cache_alias(),
        "SELECT subenabled, subconninfo FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid "
        "WHERE d.datname = current_database() AND s.subname = %s",
        [name],
    )
    return (bool(rows[0][0]), str(rows[0][1])) if rows else None


def _drop_subscription(name: str) -> None:
    """Drop the subscription without touching its slot (dropped separately: `_drop_slot`)."""
    if _subscription(name) is None:
        return
    _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} DISABLE")
    _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} SET (slot_name = NONE)")
    _execute(cache_alias(), f"DROP SUBSCRIPTION {_quote(name)}")


def _clear_shard_rows(shard: str) -> int:
    """Remove the cache rows of the logical clusters the directory places on `shard` (before a
    fresh copy from it). Past the read-only trigger as replication is: session_replication_role."""
    removed = 0
    with transaction.atomic(using=cache_alias()):
        _execute(cache_alias(), "SET LOCAL session_replication_role = replica")
        for t in TABLES:
            with connections[cache_alias()].cursor() as cur:
                cur.execute(
                    f"DELETE FROM public.{t.table} WHERE cluster IN (SELECT name FROM public.kcp_directory "
                    "WHERE shard = %s)",
                    [shard],
                )
                removed += cur.rowcount
    return removed


def _create_subscription(name: str, slot: str, shard: str, report: InstallReport) -> None:
    removed = _clear_shard_rows(shard)
    if _slot_state(slot) is not None:
        _drop_slot(slot)
    _create_slot(slot)
    _execute(
        cache_alias(),
        f"CREATE SUBSCRIPTION {_quote(name)} CONNECTION {_quote_literal(publisher_conninfo())} "
        f"PUBLICATION {PUBLICATION} WITH (create_slot = false, slot_name = {_quote_literal(slot)}, "
        "copy_data = true, enabled = true)",
    )
    report.steps.append(f"subscription {name} created on slot {slot} ({removed} stale cache rows removed first)")


def cache_install(*, shard: str | None = None) -> InstallReport:
    """Set up (or repair) replication of this shard into the cache; see the module docstring for
    the steps. Idempotent. Needs no open transaction (slot creation waits for running ones)."""
    from kube.authz.replication import rbac_relabel_when_grants_changed

    shard = shard or local_shard_name()
    report = InstallReport(shard=shard)
    if not cache_configured():
        report.skipped = "no global database: everything is local, there is nothing to replicate"
        return report
    wal_level = _fetchall(SHARD, "SHOW wal_level")[0][0]
    if wal_level != "logical":
        report.skipped = (
            f"the shard database's server runs with wal_level={wal_level}, not logical: "
            "nothing is replicated, and other shards do not see this shard's types, exports and RBAC"
        )
        return report
    name, slot = subscription_name(shard), slot_name(shard, _shard_database())
    report.subscription, report.slot = name, slot
    _ensure_replica_identity(report)
    tables_changed = _ensure_publication(report)
    relabelled = rbac_relabel_when_grants_changed()
    if relabelled is not None:
        report.steps.append(f"replication marks recomputed for the current grants: {relabelled} changed")
    existing = _subscription(name)
    slot_state = _slot_state(slot)
    if existing is not None and slot_state in (None, "lost"):
        _drop_subscription(name)
        report.steps.append(f"subscription {name} dropped: its slot is {slot_state or 'missing'}")
        existing = None
    if existing is None:
        _create_subscription(name, slot, shard, report)
        return report
    enabled, conninfo = existing
    if conninfo != publisher_conninfo():
        _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} CONNECTION {_quote_literal(publisher_conninfo())}")
        report.steps.append(f"subscription {name}: connection updated")
    if not enabled:
        _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} ENABLE")
        report.steps.append(f"subscription {name} enabled")
    if tables_changed:
        _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} REFRESH PUBLICATION WITH (copy_data = true)")
        report.steps.append(f"subscription {name} refreshed")
    return report


def cache_uninstall(*, shard: str | None = None, publication: bool = True) -> None:
    """Stop replicating this shard: its subscription and slot dropped (and its publication unless
    told not to). Its rows stay in the cache until a new subscription's copy replaces them; reads
    ignore them while the directory places no live cluster of theirs on another shard."""
    if not cache_configured():
        return
    shard = shard or local_shard_name()
    _drop_subscription(subscription_name(shard))
    _drop_slot(slot_name(shard, _shard_database()))
    if publication:
        _execute(SHARD, f"DROP PUBLICATION IF EXISTS {PUBLICATION}")


def cache_subscription_set_enabled(*, shard: str | None = None, enabled: bool) -> None:
    """Pause (`enabled=False`) or resume the replication of a shard into the cache. Paused, the
    shard keeps its slot and the WAL since (up to `max_slot_wal_keep_size`); resumed, the cache
    catches up from there."""
    name = subscription_name(shard or local_shard_name())
    _execute(cache_alias(), f"ALTER SUBSCRIPTION {_quote(name)} {'ENABLE' if enabled else 'DISABLE'}")
