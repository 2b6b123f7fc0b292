"""Low-level storage operations. Callers (the registry's Store) run them inside
`transaction.atomic()`; every mutation assigns revisions, writes the row and appends to the event
log in that transaction; the event log's insert trigger rings the `kube_events` doorbell (NOTIFY,
delivered on commit; kube/migrations/0003_event_doorbell.py).

Contract of revisions: dense, strictly increasing in commit order; an object's
`metadata.resourceVersion` is the revision of its last write; a DELETED event carries the final
object with the revision of the deletion.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import CharField, Field, Model, Q
from django.utils import timezone

from kube import errors

from .models import Event, KubeObject, Revision, StoredObject

NOTIFY_CHANNEL = "kube_events"  # rung by the trigger of kube/migrations/0003_event_doorbell.py
Obj = dict[str, Any]


# --- tables ---------------------------------------------------------------------------------------

ColumnDeriver = Callable[[Obj], dict[str, Any]]
_tables: dict[tuple[str, str], tuple[type[KubeObject], ColumnDeriver | None]] = {}


def register_table(group: str, resource: str, model: type[KubeObject], derive: ColumnDeriver | None = None) -> None:
    """Store (group, resource) in its own concrete table; `derive(body)` gives the promoted
    columns, computed inside the same write so columns and body never disagree."""
    _tables[(group, resource)] = (model, derive)


def model_for(group: str, resource: str) -> type[KubeObject]:
    entry = _tables.get((group, resource))
    return entry[0] if entry else StoredObject


def all_models() -> list[type[KubeObject]]:
    return [StoredObject, *dict.fromkeys(m for m, _ in _tables.values())]


#: When set (the workspaces app sets `kcp.io/cluster`), every stored object carries its logical
#: cluster's name in this annotation, written with the object.
CLUSTER_ANNOTATION: str | None = None


def _stamp_cluster(key: Key, body: Obj) -> None:
    if CLUSTER_ANNOTATION:
        md = body.setdefault("metadata", {})
        annotations = md.get("annotations")
        if not isinstance(annotations, dict):
            annotations = md["annotations"] = {}
        annotations[CLUSTER_ANNOTATION] = key.cluster


#: Callbacks run inside a write's transaction right after the write of a (group, resource), with
#: the written object's logical cluster: what must change with the write, atomically, outside the
#: object's own row (the RBAC replication mark, kube.authz.replication). Never slow, never I/O
#: beyond this database.
_write_hooks: dict[tuple[str, str], list[Callable[[str], None]]] = {}


def on_write(group: str, resource: str, fn: Callable[[str], None]) -> None:
    """Register `fn(cluster)` to run in the transaction of every write of (group, resource)."""
    _write_hooks.setdefault((group, resource), []).append(fn)


def _after_write(keys: Iterable[Key]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for key in keys:
        hooks = _write_hooks.get((key.group, key.resource))
        if not hooks or (key.cluster, key.group, key.resource) in seen:
            continue
        seen.add((key.cluster, key.group, key.resource))
        for fn in hooks:
            fn(key.cluster)


def _promoted(group: str, resource: str, body: Obj) -> dict[str, Any]:
    entry = _tables.get((group, resource))
    return entry[1](body) if entry and entry[1] else {}


@dataclass(frozen=True)
class Key:
    cluster: str
    group: str
    resource: str
    namespace: str
    name: str


@dataclass(frozen=True)
class ListScope:
    """What a list or watch covers. `cluster="*"` is the wildcard across logical clusters."""

    cluster: str
    group: str
    resource: str
    namespace: str = ""


@dataclass
class ListResult:
    items: list[Obj]
    revision: int
    continue_token: str
    remaining: int | None


# --- revisions ------------------------------------------------------------------------------------


def ensure_revision_row() -> None:
    Revision.objects.get_or_create(id=1)


def _bump(n: int = 1) -> int:
    """Reserve n revisions; returns the last. Holds the counter row lock until commit."""
    with connection.cursor() as cur:
        cur.execute("UPDATE kube_revision SET value = value + %s WHERE id = 1 RETURNING value", [n])
        row = cur.fetchone()
    if row is None:
        raise errors.InternalError("storage is not initialised: the revision counter row is missing")
    return int(row[0])


def current_revision() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT value FROM kube_revision WHERE id = 1")
        row = cur.fetchone()
    return int(row[0]) if row else 0


def compacted_revision() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT compacted FROM kube_revision WHERE id = 1")
        row = cur.fetchone()
    return int(row[0]) if row else 0


# --- reads ----------------------------------------------------------------------------------------


def _key_q(key: Key) -> Q:
    return Q(cluster=key.cluster, group=key.group, resource=key.resource, namespace=key.namespace, name=key.name)


def get(key: Key, *, for_update: bool = False) -> Obj | None:
    """The stored body at `key`, or None; `for_update` locks the row until the transaction ends.

    Plain SQL made once per table: every API request reads at least one object (or its
    namespace) this way, and compiling the equivalent ORM query cost more than running it. The
    body is decoded by the stdlib json module, exactly as the JSONField would (integers of any size
    stay integers)."""
    model = model_for(key.group, key.resource)
    sql = _get_sql.get((model, for_update))
    if sql is None:
        table = connection.ops.quote_name(model._meta.db_table)
        sql = f"SELECT body FROM {table} WHERE {_key_where(model)}" + (" FOR UPDATE" if for_update else "")
        _get_sql[(model, for_update)] = sql
    with connection.cursor() as cur:
        cur.execute(sql, [key.cluster, key.group, key.resource, key.namespace, key.name])
        row = cur.fetchone()
    if row is None:
        return None
    body = row[0]
    return json.loads(body) if isinstance(body, (str, bytes)) else body


_get_sql: dict[tuple[type[KubeObject], bool], str] = {}


def exists(key: Key) -> bool:
    return model_for(key.group, key.resource).objects.filter(_key_q(key)).exists()


def list_objects(
    scope: ListScope,
    *,
    label_q: Q | None = None,
    field_q: Q | None = None,
    limit: int = 0,
    continue_token: str = "",
) -> ListResult:
    """A consistent page: items and the revision they are current at come from one snapshot, so a
    watch from `revision` misses nothing. Continue tokens carry the first page's revision and the
    last key; a token older than the compaction floor is Expired (410)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cur:
            if outermost:
                # One snapshot for the revision and the rows. (Nested in a caller's transaction the
                # caller owns the isolation level; internal callers do not race with themselves.)
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT value, compacted FROM kube_revision WHERE id = 1")
            row = cur.fetchone()
        revision, compacted = (int(row[0]), int(row[1])) if row else (0, 0)
        qs = model_for(scope.group, scope.resource).objects.filter(group=scope.group, resource=scope.resource)
        if scope.cluster != "*":
            qs = qs.filter(cluster=scope.cluster)
        if scope.namespace:
            qs = qs.filter(namespace=scope.namespace)
        if label_q is not None:
            qs = qs.filter(label_q)
        if field_q is not None:
            qs = qs.filter(field_q)
        if continue_token:
            token_rev, after = decode_continue(continue_token)
            if token_rev < compacted:
                raise errors.Expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the first "
                    "chunk was returned and now may show up in the list."
                )
            c, ns, name = after
            qs = qs.filter(
                Q(cluster__gt=c) | Q(cluster=c, namespace__gt=ns) | Q(cluster=c, namespace=ns, name__gt=name)
            )
            revision = token_rev
        qs = qs.order_by("cluster", "namespace", "name")
        if limit > 0:
            rows = list(qs.values_list("cluster", "namespace", "name", "body")[: limit + 1])
            more = len(rows) > limit
            rows = rows[:limit]
            token = ""
            remaining: int | None = None
            if more:
                last = rows[-1]
                token = encode_continue(revision, (last[0], last[1], last[2]))
                remaining = qs.filter(
                    Q(cluster__gt=last[0])
                    | Q(cluster=last[0], namespace__gt=last[1])
                    | Q(cluster=last[0], namespace=last[1], name__gt=last[2])
                ).count()
            return ListResult([r[3] for r in rows], revision, token, remaining)
        return ListResult(list(qs.values_list("body", flat=True)), revision, "", None)


def encode_continue(revision: int, after: tuple[str, str, str]) -> str:
    raw = orjson.dumps({"v": "kcp.io/v1", "rv": revision, "after": list(after)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str, str]]:
    """The revision and last key of a token `encode_continue` made. A client can send anything:
    whatever is not such a token (a revision that is not a non-negative 64-bit integer, a key that
    is not three strings or holds a NUL) is 400 BadRequest, never a query that fails."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        after, rv = data.get("after"), data.get("rv")
        if data.get("v") != "kcp.io/v1" or not isinstance(after, list) or len(after) != 3:
            raise ValueError("bad token")
        if not all(isinstance(x, str) and "\x00" not in x for x in after):
            raise ValueError("bad key")
        if not isinstance(rv, int) or isinstance(rv, bool) or not 0 <= rv < 2**63:
            raise ValueError("bad resource version")
        return rv, (after[0], after[1], after[2])
    except (ValueError, orjson.JSONDecodeError) as e:
        raise errors.BadRequest("continue key is not valid: " + str(e)) from None


# --- writes ---------------------------------------------------------------------------------------


def _meta(body: Obj) -> Obj:
    md = body.get("metadata")
    if not isinstance(md, dict):
        md = body["metadata"] = {}
    return md


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# One statement per write. The revision bump, the row write and the event append used to be three
# round trips (four with the NOTIFY, now a trigger); chained as data-modifying CTEs they are one:
# `rev` takes the next revision (and the counter row lock, held to commit as before), `doc` is the
# body with that revision as metadata.resourceVersion, `obj` writes the row, and the event insert
# copies `doc`. For update the event is only written when the row was (zero rows back = vanished).
_REVISION_CTE = (
    "WITH rev AS (UPDATE kube_revision SET value = value + 1 WHERE id = 1 RETURNING value), "
    "doc AS (SELECT value AS rv, jsonb_set(%s::jsonb, '{metadata,resourceVersion}', to_jsonb(value::text)) AS body "
    "FROM rev)"
)


def _event_insert(prev_object_sql: str = "NULL") -> str:
    """The event append; `prev_object_sql` an SQL expression for the event's previous object."""
    return (
        'INSERT INTO kube_event (revision, cluster, "group", resource, namespace, name, type, object, prev_labels, '
        f"prev_object, created) SELECT doc.rv, %s, %s, %s, %s, %s, %s, doc.body, %s::jsonb, {prev_object_sql}, %s "
        "FROM doc"
    )


_EVENT_INSERT = _event_insert()
_KEY_COLUMNS = ("cluster", "group", "resource", "namespace", "name")


def _jsonb(value: Any) -> str | None:
    """JSON text for a jsonb parameter (orjson; json for what orjson refuses, e.g. huge integers)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def column_name(model: type[Model], name: str) -> str:
    """The database column of `model`'s field `name` (for SQL written by hand on hot paths)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column, f"{model.__name__}.{name} is not a column"
    return str(field.column)


def _column_sql(model: type[KubeObject], fields: Iterable[str]) -> list[tuple[str, str]]:
    """(quoted column, typed placeholder) for model fields, cached per model and field list.

    The placeholder's cast names the type without its length (`%s::varchar`, not
    `varchar(253)`): an explicit cast to a bounded varchar silently truncates, so a lookup of a
    254-character name would find the object named by its first 253 characters, and a write would
    store a prefix of what it was given. Unbounded, a longer value matches nothing, and a write of
    one fails (`_check_column_lengths` refuses it first, as 422)."""
    cache_key = (model, tuple(fields))
    cached = _columns_cache.get(cache_key)
    if cached is None:
        quote = connection.ops.quote_name
        cached = []
        for f in cache_key[1]:
            field = model._meta.get_field(f)
            db_type = _UNBOUNDED.sub("", str(field.db_type(connection)))
            cached.append((quote(column_name(model, f)), f"%s::{db_type}"))
        _columns_cache[cache_key] = cached
    return cached


_UNBOUNDED = re.compile(r"\(\d+\)$")


def _check_column_lengths(model: type[KubeObject], key: Key, values: dict[str, Any]) -> None:
    """422 Invalid for a value longer than its column: the last line of defence under the kinds'
    own validation (which refuses over-long names and namespaces with Kubernetes' own messages),
    so that no write ever fails in PostgreSQL as a 500."""
    for name, value in values.items():
        limit = _max_lengths(model).get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            field = {"name": "metadata.name", "namespace": "metadata.namespace"}.get(name, name)
            raise errors.invalid(
                key.resource,
                key.name[:253],
                [errors.Cause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", field)],
                key.group,
            )


def _max_lengths(model: type[KubeObject]) -> dict[str, int]:
    lengths = _max_lengths_cache.get(model)
    if lengths is None:
        lengths = {}
        for field in model._meta.concrete_fields:
            if isinstance(field, CharField) and field.max_length is not None:
                lengths[field.name] = field.max_length
        _max_lengths_cache[model] = lengths
    return lengths


_max_lengths_cache: dict[type[KubeObject], dict[str, int]] = {}


_columns_cache: dict[tuple[type[KubeObject], tuple[str, ...]], list[tuple[str, str]]] = {}


def _row_values(key: Key, body: Obj, *, with_key: bool) -> dict[str, Any]:
    """Column values of the row for `body` (not resource_version/body, which come from `doc`)."""
    md = body["metadata"]
    values: dict[str, Any] = dict(_promoted(key.group, key.resource, body))
    if with_key:
        values.update(
            cluster=key.cluster,
            group=key.group,
            resource=key.resource,
            namespace=key.namespace,
            name=key.name,
            uid=md["uid"],
            created=_parse_ts(md["creationTimestamp"]) or timezone.now(),
        )
    values.update(
        generation=int(md.get("generation") or 0),
        deletion_timestamp=_parse_ts(md.get("deletionTimestamp")),
        labels=_jsonb(md.get("labels") or {}),
    )
    return values


def _event_params(
    key: Key, type_: str, prev_labels: dict | None, prev_object_params: list[Any] | None = None
) -> list[Any]:
    return [
        key.cluster,
        key.group,
        key.resource,
        key.namespace,
        key.name,
        type_,
        _jsonb(prev_labels),
        *(prev_object_params or ()),
        timezone.now(),
    ]


def _key_where(model: type[KubeObject]) -> str:
    return " AND ".join(f"{col} = {ph}" for col, ph in _column_sql(model, _KEY_COLUMNS))


def _execute_write(sql: str, params: list[Any], key: Key, failure: str) -> int:
    """Run one write statement; its revision, or InternalError(`failure`) when nothing was logged."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        if not Revision.objects.filter(id=1).exists():
            raise errors.InternalError("storage is not initialised: the revision counter row is missing")
        raise errors.InternalError(f"object {key} {failure}")
    return int(row[0])


def create(key: Key, body: Obj) -> Obj:
    """Insert a new object. Raises AlreadyExists (the caller names the resource) via IntegrityError
    translation in the Store. Assigns uid, creationTimestamp (if unset) and resourceVersion."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    md = _meta(body)
    _stamp_cluster(key, body)
    md.setdefault("uid", str(uuid.uuid4()))
    md.setdefault("creationTimestamp", timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    model = model_for(key.group, key.resource)
    values = _row_values(key, body, with_key=True)
    _check_column_lengths(model, key, values)
    columns = _column_sql(model, values)
    quote = connection.ops.quote_name
    sql = (
        f"{_REVISION_CTE}, obj AS (INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(c for c, _ in columns)}, resource_version, body) "
        f"SELECT {', '.join(ph for _, ph in columns)}, doc.rv, doc.body FROM doc RETURNING 1) "
        f"{_EVENT_INSERT}, obj RETURNING revision"
    )
    rev = _execute_write(
        sql, [_jsonb(body), *values.values(), *_event_params(key, "ADDED", None)], key, "was not written"
    )
    md["resourceVersion"] = str(rev)
    _after_write([key])
    return body


def update(key: Key, body: Obj, *, prev_labels: dict | None) -> Obj:
    """Replace the stored body of an existing (row-locked) object and log MODIFIED.

    `prev_labels` are the stored object's labels. When the write changes them, the event also
    keeps the stored object as it was, stamped with the event's revision (Event.prev_object): read
    by the same statement (its snapshot is the one before the write), so no extra round trip, and
    only for label changes, so an ordinary update logs one body as before."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    md = _meta(body)
    _stamp_cluster(key, body)
    model = model_for(key.group, key.resource)
    values = _row_values(key, body, with_key=False)
    _check_column_lengths(model, key, values)
    columns = _column_sql(model, values)
    where = _key_where(model)
    table = connection.ops.quote_name(model._meta.db_table)
    key_values = [key.cluster, key.group, key.resource, key.namespace, key.name]
    labels_changed = prev_labels is not None and prev_labels != (md.get("labels") or {})
    event_insert = _EVENT_INSERT
    if labels_changed:
        event_insert = _event_insert(
            "(SELECT jsonb_set(p.body, '{metadata,resourceVersion}', to_jsonb(doc.rv::text)) "
            f"FROM {table} p WHERE {where})"
        )
    sql = (
        f"{_REVISION_CTE}, obj AS (UPDATE {table} SET "
        f"{', '.join(f'{c} = {ph}' for c, ph in columns)}, resource_version = doc.rv, body = doc.body "
        f"FROM doc WHERE {where} RETURNING 1) "
        f"{event_insert}, obj RETURNING revision"
    )
    event = _event_params(key, "MODIFIED", prev_labels, key_values if labels_changed else None)
    rev = _execute_write(sql, [_jsonb(body), *values.values(), *key_values, *event], key, "vanished during update")
    md["resourceVersion"] = str(rev)
    _after_write([key])
    return body


def delete(key: Key, body: Obj) -> Obj:
    """Remove an existing (row-locked) object; the DELETED event carries `body` at a new revision."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    _meta(body)
    model = model_for(key.group, key.resource)
    where = _key_where(model)
    sql = (
        f"{_REVISION_CTE}, obj AS (DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE {where}) "
        f"{_EVENT_INSERT} RETURNING revision"
    )
    key_values = [key.cluster, key.group, key.resource, key.namespace, key.name]
    rev = _execute_write(sql, [_jsonb(body), *key_values, *_event_params(key, "DELETED", None)], key, "was not deleted")
    body["metadata"]["resourceVersion"] = str(rev)
    _after_write([key])
    return body


def delete_many(
    keys_and_bodies: Iterable[tuple[Key, Obj]], *, row_ids: dict[type[KubeObject], list[int]] | None = None
) -> int:
    """Delete many objects in one transaction with consecutive revisions, each with its DELETED
    event. With `row_ids` (primary keys per table, of exactly these rows, locked by the caller)
    the rows go in one statement per table instead of one per object (workspace trees)."""
    items = list(keys_and_bodies)
    if not items:
        return 0
    last = _bump(len(items))
    first = last - len(items) + 1
    events = []
    if row_ids is not None:
        for model, ids in row_ids.items():
            for start in range(0, len(ids), 10000):
                model.objects.filter(pk__in=ids[start : start + 10000]).delete()  # fast path: no relations
    for i, (key, body) in enumerate(items):
        rev = first + i
        _meta(body)["resourceVersion"] = str(rev)
        if row_ids is None:
            model_for(key.group, key.resource).objects.filter(_key_q(key)).delete()
        events.append(
            Event(
                revision=rev,
                cluster=key.cluster,
                group=key.group,
                resource=key.resource,
                namespace=key.namespace,
                name=key.name,
                type="DELETED",
                object=body,
            )
        )
    Event.objects.bulk_create(events)
    _after_write(key for key, _ in items)
    return len(items)


# --- event log ------------------------------------------------------------------------------------


def events_between(scope: ListScope, after: int, upto: int, *, batch: int = 1000) -> list[Event]:
    """Logged events of `scope` with after < revision <= upto, in revision order."""
    qs = Event.objects.filter(group=scope.group, resource=scope.resource, revision__gt=after, revision__lte=upto)
    if scope.cluster != "*":
        qs = qs.filter(cluster=scope.cluster)
    if scope.namespace:
        qs = qs.filter(namespace=scope.namespace)
    return list(qs.order_by("revision")[:batch])


def compact(*, older_than_seconds: int) -> int:
    """Trim the event log to the retention window; raises the floor below which watches and
    continue tokens are Expired. Returns how many events were removed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    with transaction.atomic():
        newest_old = (
            Event.objects.filter(created__lt=cutoff).order_by("-revision").values_list("revision", flat=True).first()
        )
        if newest_old is None:
            return 0
        deleted, _ = Event.objects.filter(revision__lte=newest_old).delete()
        Revision.objects.filter(id=1, compacted__lt=newest_old).update(compacted=newest_old)
    return deleted
