"""Low-level storage operations. Callers (the registry's Store) run them inside
`transaction.atomic()`; every mutation assigns revisions, writes the row and appends to the event
log in that transaction, and rings the `kube_events` doorbell (NOTIFY is delivered on commit).

Contract of revisions: dense, strictly increasing in commit order; an object's
`metadata.resourceVersion` is the revision of its last write; a DELETED event carries the final
object with the revision of the deletion.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from kube import errors

from .models import Event, KubeObject, Revision, StoredObject

NOTIFY_CHANNEL = "kube_events"
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
    qs = model_for(key.group, key.resource).objects.filter(_key_q(key))
    if for_update:
        qs = qs.select_for_update()
    row = qs.values_list("body", flat=True).first()
    return row


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
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        after = data["after"]
        if data.get("v") != "kcp.io/v1" or len(after) != 3 or not all(isinstance(x, str) for x in after):
            raise ValueError("bad token")
        return int(data["rv"]), (after[0], after[1], after[2])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as e:
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


def _notify() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


def _append_event(key: Key, revision: int, type_: str, body: Obj, prev_labels: dict | None) -> None:
    Event.objects.create(
        revision=revision,
        cluster=key.cluster,
        group=key.group,
        resource=key.resource,
        namespace=key.namespace,
        name=key.name,
        type=type_,
        object=body,
        prev_labels=prev_labels,
    )


def create(key: Key, body: Obj) -> Obj:
    """Insert a new object. Raises AlreadyExists (the caller names the resource) via IntegrityError
    translation in the Store. Assigns uid, creationTimestamp (if unset) and resourceVersion."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    md = _meta(body)
    _stamp_cluster(key, body)
    md.setdefault("uid", str(uuid.uuid4()))
    md.setdefault("creationTimestamp", timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    rev = _bump()
    md["resourceVersion"] = str(rev)
    model_for(key.group, key.resource).objects.create(
        **_promoted(key.group, key.resource, body),
        cluster=key.cluster,
        group=key.group,
        resource=key.resource,
        namespace=key.namespace,
        name=key.name,
        uid=md["uid"],
        resource_version=rev,
        generation=int(md.get("generation") or 0),
        deletion_timestamp=_parse_ts(md.get("deletionTimestamp")),
        labels=md.get("labels") or {},
        body=body,
        created=_parse_ts(md["creationTimestamp"]) or timezone.now(),
    )
    _append_event(key, rev, "ADDED", body, None)
    _notify()
    return body


def update(key: Key, body: Obj, *, prev_labels: dict | None) -> Obj:
    """Replace the stored body of an existing (row-locked) object and log MODIFIED."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    md = _meta(body)
    _stamp_cluster(key, body)
    rev = _bump()
    md["resourceVersion"] = str(rev)
    n = (
        model_for(key.group, key.resource)
        .objects.filter(_key_q(key))
        .update(
            **_promoted(key.group, key.resource, body),
            resource_version=rev,
            generation=int(md.get("generation") or 0),
            deletion_timestamp=_parse_ts(md.get("deletionTimestamp")),
            labels=md.get("labels") or {},
            body=body,
        )
    )
    if n != 1:
        raise errors.InternalError(f"object {key} vanished during update")
    _append_event(key, rev, "MODIFIED", body, prev_labels)
    _notify()
    return body


def delete(key: Key, body: Obj) -> Obj:
    """Remove an existing (row-locked) object; the DELETED event carries `body` at a new revision."""
    assert transaction.get_connection().in_atomic_block, "storage writes need a transaction"
    rev = _bump()
    _meta(body)["resourceVersion"] = str(rev)
    model_for(key.group, key.resource).objects.filter(_key_q(key)).delete()
    _append_event(key, rev, "DELETED", body, None)
    _notify()
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
    _notify()
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
