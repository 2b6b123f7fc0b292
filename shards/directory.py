"""The directory of logical clusters (`DirectoryEntry`, table kcp_directory, in the global
database): reads and the few writes placement, deletion and routing need.

The directory is the commit point of placement (DESIGN "Placement is pulled"): the parent's shard
inserts an entry (phase Scheduling) naming the chosen shard; that shard creates the LogicalCluster
and moves the entry to Initializing or Ready; deletion marks an entry and everything below it
Deleting, and each owning shard purges its own clusters and removes their entries. No shard writes
another shard's database: the entries are the only thing they share.

Writes never move an entry out of Deleting (`directory_set_phase` is conditional), so a shard that
finishes creating a logical cluster after its Workspace was deleted learns it and purges what it
made. In single-shard mode the table is in the shard's own database and every write here joins the
caller's transaction; with a global database each write commits on its own (callers order them so
that a crash between the two databases leaves work the pull or the resync completes).

Plain SQL on the global connection for the per-request lookups (`directory_resolve`), the ORM
elsewhere."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router, transaction

from .models import (
    PHASE_DELETING,
    PHASE_SCHEDULING,
    ROUTED_PHASES,
    DirectoryEntry,
)

Obj = dict[str, Any]

#: Deeper than any real tree; bounds the recursive subtree walk.
MAX_DEPTH = 128

_RESOLVE_SQL = "SELECT name, shard FROM kcp_directory WHERE path = %s AND phase IN ('Initializing', 'Ready') LIMIT 1"
_LIVE_AT_PATH_SQL = "SELECT name, shard FROM kcp_directory WHERE path = %s AND phase <> 'Deleting' LIMIT 1"
_PATHS_SQL = "SELECT name, path FROM kcp_directory WHERE name = ANY(%s) AND phase <> 'Deleting'"
#: The subtree's names as an array, not a join: the planner cannot size a recursive CTE, and with
#: most entries under root the `parent` statistics made it guess thousands of rows, so at a million
#: entries it hashed the whole table for a 101-entry subtree (~300 ms instead of ~2 ms; bench.directory).
_MARK_SUBTREE_SQL = (
    "WITH RECURSIVE tree(name, depth) AS ("
    " SELECT name, 0 FROM kcp_directory WHERE name = %(name)s"
    " UNION"
    " SELECT d.name, tree.depth + 1 FROM kcp_directory d JOIN tree ON d.parent = tree.name"
    " WHERE tree.depth < %(max_depth)s"
    ") UPDATE kcp_directory d SET phase = 'Deleting', updated_at = now()"
    " WHERE d.name = ANY(ARRAY(SELECT name FROM tree)) RETURNING d.name, d.shard"
)


@dataclass(frozen=True)
class Placement:
    """What the owning shard needs to create a logical cluster, and where it goes."""

    name: str
    path: str
    parent: str
    workspace: str
    owner_uid: str
    shard: str
    phase: str
    type: str
    spec: Obj

    @classmethod
    def of(cls, entry: DirectoryEntry) -> Placement:
        return cls(
            name=entry.name,
            path=entry.path,
            parent=entry.parent,
            workspace=entry.workspace,
            owner_uid=entry.owner_uid,
            shard=entry.shard,
            phase=entry.phase,
            type=entry.type,
            spec=dict(entry.spec or {}),
        )


def directory_alias() -> str:
    """The database alias of the directory: the global database's, or the shard's own in
    single-shard mode (the project's database router decides)."""
    return str(router.db_for_write(DirectoryEntry))


def _cursor() -> Any:
    return connections[directory_alias()].cursor()


def directory_is_local() -> bool:
    """Whether the directory lives in the shard's own database (single-shard mode): its writes
    then join the shard's transactions."""
    return directory_alias() == DEFAULT_DB_ALIAS


# --- reads ----------------------------------------------------------------------------------------


def directory_resolve(*, path: str) -> tuple[str, str] | None:
    """(logical cluster name, shard) serving `path` (phase Initializing or Ready), or None.
    One lookup on the live-path index."""
    with _cursor() as cur:
        cur.execute(_RESOLVE_SQL, [path])
        row = cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


def directory_at_path(*, path: str) -> tuple[str, str] | None:
    """(logical cluster name, shard) at `path` whatever its phase but Deleting, or None."""
    with _cursor() as cur:
        cur.execute(_LIVE_AT_PATH_SQL, [path])
        row = cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


def directory_paths(*, names: list[str]) -> dict[str, str]:
    """Logical cluster name → canonical path, for the names that have a live entry."""
    if not names:
        return {}
    with _cursor() as cur:
        cur.execute(_PATHS_SQL, [list(dict.fromkeys(names))])
        return {str(name): str(path) for name, path in cur.fetchall()}


def directory_get(*, name: str) -> Placement | None:
    entry = DirectoryEntry.objects.filter(name=name).first()
    return Placement.of(entry) if entry is not None else None


def directory_of_owner(*, owner_uid: str) -> Placement | None:
    """The entry placed for the Workspace with this UID, if a placement was committed."""
    entry = DirectoryEntry.objects.filter(owner_uid=owner_uid).first()
    return Placement.of(entry) if entry is not None else None


def directory_pending(*, shard: str, limit: int = 500) -> list[Placement]:
    """Entries the shard has to act on: placed on it and not created yet (Scheduling), or marked
    for deletion (Deleting). Oldest first."""
    rows = DirectoryEntry.objects.filter(shard=shard, phase__in=(PHASE_SCHEDULING, PHASE_DELETING))
    return [Placement.of(e) for e in rows.order_by("created_at")[:limit]]


def directory_local_names(*, shard: str) -> set[str]:
    return set(DirectoryEntry.objects.filter(shard=shard).values_list("name", flat=True))


# --- writes ---------------------------------------------------------------------------------------


_PLACE_SQL = (
    "INSERT INTO kcp_directory (name, path, parent, workspace, owner_uid, shard, phase, type, spec, created_at,"
    " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), now()) ON CONFLICT DO NOTHING RETURNING name"
)


def directory_place(
    *,
    name: str,
    path: str,
    parent: str,
    workspace: str,
    owner_uid: str,
    shard: str,
    phase: str = PHASE_SCHEDULING,
    type: str = "",
    spec: Obj | None = None,
) -> Placement:
    """Commit a placement: insert the entry unless one exists for the same owner (a repeated
    placement of the same Workspace gets the first one back, whatever name and shard it drew).
    One statement. A clash on the name (82 random bits) or on a live path raises IntegrityError:
    the caller's transaction rolls back and its retry draws another name."""
    params = [name, path, parent, workspace, owner_uid, shard, phase, type, json.dumps(spec or {})]
    with _cursor() as cur:
        cur.execute(_PLACE_SQL, params)
        inserted = cur.fetchone() is not None
    if inserted:
        return Placement(name, path, parent, workspace, owner_uid, shard, phase, type, dict(spec or {}))
    existing = directory_of_owner(owner_uid=owner_uid) if owner_uid else None
    if existing is not None:
        return existing  # another pass placed this Workspace meanwhile
    raise IntegrityError(f"logical cluster name {name!r} or path {path!r} is taken in the directory")


def directory_set_phase(*, name: str, phase: str) -> bool:
    """Move an entry to `phase` unless it is being deleted (or gone). False then: the caller
    purges what it made for it."""
    changed = (
        DirectoryEntry.objects.filter(name=name).exclude(phase=PHASE_DELETING).exclude(phase=phase).update(phase=phase)
    )
    if changed:
        return True
    return DirectoryEntry.objects.filter(name=name).exclude(phase=PHASE_DELETING).exists()


def directory_mark_deleting(*, name: str) -> list[tuple[str, str]]:
    """Mark `name` and every entry below it (by parent, recursively) Deleting, in one statement:
    no route serves them from now on, and each owning shard purges its own. Returns
    (name, shard) of every entry marked (empty when `name` has no entry)."""
    with transaction.atomic(using=directory_alias()), _cursor() as cur:
        cur.execute(_MARK_SUBTREE_SQL, {"name": name, "max_depth": MAX_DEPTH})
        return [(str(n), str(s)) for n, s in cur.fetchall()]


def directory_remove(*, names: list[str]) -> int:
    """Drop entries whose logical clusters are gone (only entries already Deleting)."""
    if not names:
        return 0
    deleted, _ = DirectoryEntry.objects.filter(name__in=names, phase=PHASE_DELETING).delete()
    return deleted


def directory_publish(*, entries: list[Placement]) -> int:
    """Insert entries for logical clusters a shard holds but the directory lacks (an upgraded data
    dir, a restored global database): the shard's own LogicalClusters are the truth about what it
    holds. Existing entries are left alone. Returns how many were added."""
    added = 0
    for p in entries:
        try:
            with transaction.atomic(using=directory_alias()):
                _, created = DirectoryEntry.objects.get_or_create(
                    name=p.name,
                    defaults={
                        "path": p.path,
                        "parent": p.parent,
                        "workspace": p.workspace,
                        "owner_uid": p.owner_uid,
                        "shard": p.shard,
                        "phase": p.phase,
                        "type": p.type,
                        "spec": p.spec,
                    },
                )
        except IntegrityError:
            continue  # a live entry already holds the path or the owner: the directory wins
        added += created
    return added


__all__ = [
    "MAX_DEPTH",
    "directory_alias",
    "directory_is_local",
    "Placement",
    "ROUTED_PHASES",
    "directory_at_path",
    "directory_get",
    "directory_local_names",
    "directory_mark_deleting",
    "directory_of_owner",
    "directory_paths",
    "directory_pending",
    "directory_place",
    "directory_publish",
    "directory_remove",
    "directory_resolve",
    "directory_set_phase",
]
