"""What the cache of what crosses shards holds, and the names replication uses.

The cache is PostgreSQL logical replication from every shard's database into the global one: each
shard publishes the tables below (publication `PUBLICATION`), the global database subscribes to
each shard (one subscription per shard, `subscription_name`), and the rows land in tables of the
**same schema-qualified names** there (`public.kube_object`, `public.tenancy_workspacetype`, ...):
logical replication matches tables by schema and name, so a `cache` schema in the global
database would need the shards' tables in a `cache` schema too. The names are free in the global
database because the router never puts a shard model there (kcpsite.dbrouter), and no Django
model maps them there (shards/migrations/0004_cache_tables.py creates them).

Published, per table: the columns listed (a column list, PG15+: a column the shard adds later
travels only once the cache table has it and the list names it; the shard-local `id` never
travels), with the table's key index (cluster, group, resource, namespace, name) as replica
identity, so updates and deletes find the cache row by that key. In the cache that key is the
primary key: logical cluster names are globally unique, ids are not. `kube_object` is filtered
(`WHERE (replicate)`, PG15 row filters): only the RBAC objects kube.authz.replication marks; its
replica identity adds the mark, which a row filter needs (a flip of the mark then arrives as an
insert or a delete). The other tables are copied whole."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from ..directory import directory_alias

#: The shard's own database (the published tables).
SHARD = DEFAULT_DB_ALIAS


def cache_alias() -> str:
    """The database holding the cache: the directory's (shards.directory, through the project's
    router), i.e. the global database, or the shard's own in single-shard mode, where there is no
    cache (`cache_configured`)."""
    return directory_alias()


def cache_configured() -> bool:
    """Whether there is a cache: a global database beside the shard's."""
    return cache_alias() != SHARD


#: The publication on every shard database.
PUBLICATION = "kcp_cache"
#: What the publication sends. Never TRUNCATE: the cache tables hold every shard's rows, and one
#: shard's TRUNCATE would empty them for all.
PUBLISH = "insert, update, delete"

#: Columns of every stored object (kube.storage.models.KubeObject) but the shard-local `id`.
OBJECT_COLUMNS = (
    "cluster",
    "group",
    "resource",
    "namespace",
    "name",
    "uid",
    "resource_version",
    "generation",
    "deletion_timestamp",
    "labels",
    "body",
    "created",
)


@dataclass(frozen=True)
class CachedTable:
    """One replicated table: its name (the same on the shards and in the cache), the columns it
    publishes, the unique index that is its replica identity on the shards, its row filter."""

    table: str
    columns: tuple[str, ...]
    replica_identity: str
    row_filter: str = ""
    #: (group, resource) of the kinds it stores that readers ask the cache for
    kinds: tuple[tuple[str, str], ...] = ()


RBAC = "rbac.authorization.k8s.io"
TENANCY = "tenancy.kcp.io"
APIS = "apis.kcp.io"

TABLES: tuple[CachedTable, ...] = (
    CachedTable(
        "tenancy_workspacetype", OBJECT_COLUMNS, "tenancy_workspacetype_key", kinds=((TENANCY, "workspacetypes"),)
    ),
    CachedTable(
        "apis_apiexport", (*OBJECT_COLUMNS, "identity_hash"), "apis_apiexport_key", kinds=((APIS, "apiexports"),)
    ),
    CachedTable(
        "apis_apiresourceschema",
        (*OBJECT_COLUMNS, "api_group", "plural"),
        "apis_apiresourceschema_key",
        kinds=((APIS, "apiresourceschemas"),),
    ),
    CachedTable(
        "apis_apiexportendpointslice",
        (*OBJECT_COLUMNS, "export_path", "export_name"),
        "apis_apiexportendpointslice_key",
        kinds=((APIS, "apiexportendpointslices"),),
    ),
    CachedTable(
        "kube_object",
        (*OBJECT_COLUMNS, "replicate"),
        "kube_object_replica_identity",
        row_filter="replicate",
        kinds=((RBAC, "clusterroles"), (RBAC, "clusterrolebindings")),
    ),
)


#: The doorbell of exports and schemas arriving in the cache: a trigger on the cache's
#: `apis_apiexport` and `apis_apiresourceschema` (shards/migrations/0005_cache_notify.py, enabled
#: ALWAYS: replication's apply worker writes them) notifies it with JSON {op, resource
#: (`apiexports` or `apiresourceschemas`), cluster, name} for every row applied; each shard's
#: directory follower listens (apis registers the handler).
APIS_CHANNEL = "kcp_cache_apis"


def table_of(*, group: str, resource: str) -> CachedTable | None:
    """The cached table holding (group, resource), or None when that kind is not replicated."""
    for t in TABLES:
        if (group, resource) in t.kinds:
            return t
    return None


def _ident(value: str, limit: int) -> str:
    """`value` as a plain SQL identifier part ([a-z0-9_], at most `limit` characters); a value that
    had to be changed gets a hash of the original, so two shard names never share one."""
    if re.fullmatch(r"[a-z0-9_]+", value) and len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    cleaned = re.sub(r"[^a-z0-9_]", "_", value.lower())[: limit - 9]
    return f"{cleaned}_{digest}"


def subscription_name(shard: str) -> str:
    """The global database's subscription to `shard` (named after it)."""
    return f"kcp_cache_{_ident(shard, 40)}"


def slot_name(shard: str, database: str) -> str:
    """The replication slot the subscription to `shard` reads, on the shard's server. Slots are
    per server, not per database: the database's name keeps two databases of one server (a
    developer's and the test suite's) from sharing one."""
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    return f"{subscription_name(shard)}_{digest}"
