"""The Shard objects in root as a view of the shard records (`ShardRecord`, global database).

Only the shard hosting the root logical cluster serves root, so it alone writes these objects; any
other shard's pass does nothing (one query). It runs from Celery beat every MIRROR_SECONDS and,
for one shard, after an operator's write changed that shard's record (`shards.tasks`).

A pass, in this order (each step needs the one before):
1. nothing unless this shard hosts root;
2. read the records and the Shard objects (one query each, or one lookup per name given);
3. operators' settings on each object (cordon, limits) copied to its record where they differ: a
   trigger lost after the object's commit heals here, before the status reports them;
4. objects whose record is gone deleted (the shard de-registered);
5. records without an object get one: their URLs, labels, the cordon and limits the record
   holds (kept across the object's loss), and the status;
6. every other object is set to its record (spec URLs, registered labels, status) in one write,
   and only when something differs.

What the status says, all from the record: `used.workspaces` (the count the shard's last
heartbeat reported), `Schedulable` (False, reason Cordoned, while the record is cordoned),
`ResourceLimitsApplied` (the record's limits, or InvalidResourceLimits for the object's invalid
pair) and `Ready` (True while the heartbeat is fresh, Unknown reason HeartbeatStale after
STALE_SECONDS, Unknown reason NoHeartbeat before the first). Heartbeats are not mirrored one by
one: Ready's `lastHeartbeatTime` is the heartbeat the mirror saw when Ready last changed, and the
object is written when a condition or the count changes, never because a shard beat. So the view
costs writes (and watch events) per change, whatever the number of shards and beats."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from kube import errors
from kube.registry.conditions import set_condition
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.timefmt import format_rfc3339

from .kinds import (
    CORDON_ANNOTATION,
    LABELS_ANNOTATION,
    ROOT,
    SHARDS,
    STALE_SECONDS,
    limits,
    operator_settings,
    registered_label_keys,
)
from .models import ShardRecord
from .selectors import shard_hosts_root, shard_is_fresh
from .services import shard_settings_apply

Obj = dict[str, Any]
logger = logging.getLogger(__name__)


def _ctx() -> RequestContext:
    return RequestContext(cluster=ROOT, field_manager="kcp-shard")


def _settings(record: ShardRecord) -> tuple[bool, int, int]:
    return record.cordoned, record.soft_limit, record.hard_limit


def shard_registration_view(*, shard: Obj, record: ShardRecord) -> None:
    """Set in `shard` what the shard registered: the spec URLs (operators' resourceLimits kept),
    its labels (labels it registered before and no longer has removed, other labels kept) and the
    list of registered keys that protects them from clients."""
    old = shard.get("spec")
    resource_limits = old.get("resourceLimits") if isinstance(old, dict) else None
    shard["spec"] = {
        "baseURL": record.base_url,
        "externalURL": record.external_url or record.base_url,
        "virtualWorkspaceURL": record.virtual_workspace_url or record.base_url,
        **({"resourceLimits": resource_limits} if resource_limits is not None else {}),
    }
    md = shard.setdefault("metadata", {})
    wanted = dict(record.labels or {})
    kept = {k: v for k, v in (md.get("labels") or {}).items() if k not in registered_label_keys(shard)}
    md["labels"] = {**kept, **wanted}
    md.setdefault("annotations", {})[LABELS_ANNOTATION] = ",".join(sorted(wanted))


def shard_status_view(*, shard: Obj, record: ShardRecord, now: datetime) -> None:
    """Set `shard["status"]` to what the record says at `now` (see the module docstring); an
    equal status is left as the same value, so an unchanged shard compares equal."""
    status = shard.setdefault("status", {})
    if not isinstance(status.get("used"), dict) or status["used"].get("workspaces") != record.used_workspaces:
        status["used"] = {**(status.get("used") or {}), "workspaces": record.used_workspaces}
    beat = record.heartbeat
    if shard_is_fresh(heartbeat=beat, now=now):
        ready = ("True", "Heartbeat", "the shard is heartbeating")
    elif beat is None:
        ready = ("Unknown", "NoHeartbeat", "the shard has not heartbeat since it registered")
    else:
        ready = ("Unknown", "HeartbeatStale", f"no heartbeat for more than {STALE_SECONDS}s")
    current: Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    if (current.get("status"), current.get("reason"), current.get("message")) != ready:
        # A transition (or a new message): the heartbeat seen now goes with it; never otherwise.
        changed = set_condition(status, type="Ready", status=ready[0], reason=ready[1], message=ready[2])
        for c in status["conditions"]:
            if changed and c.get("type") == "Ready" and beat is not None:  # the new dict, never a shared one
                c["lastHeartbeatTime"] = format_rfc3339(beat)
    if record.cordoned:
        set_condition(status, type="Schedulable", status=False, reason="Cordoned", message="the shard is cordoned")
    else:
        set_condition(status, type="Schedulable", status=True, reason="Schedulable")
    _, _, problem = limits(shard)
    if problem:
        set_condition(
            status, type="ResourceLimitsApplied", status=False, reason="InvalidResourceLimits", message=problem
        )
    else:
        set_condition(
            status,
            type="ResourceLimitsApplied",
            status=True,
            reason="Applied",
            message=f"soft/hard: workspaces={record.soft_limit}/{record.hard_limit}",
        )


def _new_shard(record: ShardRecord, now: datetime) -> Obj:
    """A Shard object for a record that has none, with the operators' settings the record kept."""
    annotations = {CORDON_ANNOTATION: "true"} if record.cordoned else {}
    shard: Obj = {"metadata": {"name": record.name, "annotations": annotations}, "spec": {}}
    resource_limits = {
        level: {"workspaces": value}
        for level, value in (("soft", record.soft_limit), ("hard", record.hard_limit))
        if value
    }
    if resource_limits:
        shard["spec"]["resourceLimits"] = resource_limits
    shard_registration_view(shard=shard, record=record)
    shard_status_view(shard=shard, record=record, now=now)
    return shard


def _objects(names: Sequence[str] | None) -> dict[str, Obj]:
    if names is None:
        return {o["metadata"]["name"]: o for o in STORE.list(SHARDS, _ctx(), "").items}
    found = {name: STORE.lookup(SHARDS, cluster=ROOT, name=name) for name in names}
    return {name: o for name, o in found.items() if o is not None}


def _records(names: Sequence[str] | None) -> dict[str, ShardRecord]:
    rows = ShardRecord.objects.all() if names is None else ShardRecord.objects.filter(name__in=list(names))
    return {r.name: r for r in rows}


def _write(name: str, write: Callable[[], bool]) -> bool:
    """One shard's write in its own savepoint: a record the Shard strategy refuses (it was
    registered by a version with other rules) is logged and skipped, not the end of the pass.
    Whether it wrote."""
    try:
        with transaction.atomic():
            return write()
    except errors.StatusError as e:
        logger.warning("shard %s: its Shard object could not follow its record: %s", name, e)
        return False


def shard_mirror(*, names: Sequence[str] | None = None) -> int:
    """One mirror pass over every shard, or over `names` (see the module docstring for the steps
    and what the status says). Idempotent; returns the number of Shard objects written."""
    if not shard_hosts_root():
        return 0
    now = timezone.now()
    records, objects = _records(names), _objects(names)
    for name, shard in objects.items():
        record = records.get(name)
        if record is not None and operator_settings(shard) != _settings(record) and shard_settings_apply(name=name):
            fresh = ShardRecord.objects.filter(name=name).first()
            if fresh is None:
                records.pop(name)
            else:
                records[name] = fresh
    written = 0
    for name in objects.keys() - records.keys():
        # Checked again: a shard registering since the records were read keeps its object.
        if not ShardRecord.objects.filter(name=name).exists():
            written += _write(name, functools.partial(_delete, name))
    for name, record in records.items():
        if name not in objects:
            written += _write(name, functools.partial(_create, record, now))
            continue
        shard = objects[name]
        desired = _view_copy(shard)
        shard_registration_view(shard=desired, record=record)
        shard_status_view(shard=desired, record=record, now=now)
        if desired != shard:
            written += _write(name, functools.partial(_update, record, shard, now))
    return written


def _view_copy(shard: Obj) -> Obj:
    """A copy of `shard` the two views may change while `shard` stays as stored: what they change
    in place (metadata, its annotations, status) copied one level, what they replace or only
    read (spec, labels, conditions, managedFields) shared. A deep copy of every object made a
    pass over 2,000 unchanged shards three times slower."""
    md = dict(shard.get("metadata") or {})
    if isinstance(md.get("annotations"), dict):
        md["annotations"] = dict(md["annotations"])
    view = {**shard, "metadata": md}
    if isinstance(shard.get("status"), dict):
        view["status"] = dict(shard["status"])
    return view


def _create(record: ShardRecord, now: datetime) -> bool:
    try:
        STORE.create(SHARDS, _ctx(), "", _new_shard(record, now), keep_status=True)
    except errors.AlreadyExists:
        return False  # a concurrent pass made it; the next one compares it
    return True


def _update(record: ShardRecord, shard: Obj, now: datetime) -> bool:
    def follow(obj: Obj) -> None:
        shard_registration_view(shard=obj, record=record)
        shard_status_view(shard=obj, record=record, now=now)

    # One write for spec, labels and status (prepare=False keeps the status a main-resource
    # update would take from the stored object): one event per change, not two.
    written = STORE.guaranteed_update(SHARDS, _ctx(), "", record.name, follow, current=shard, prepare=False)
    return written is not None and written["metadata"].get("resourceVersion") != shard["metadata"].get(
        "resourceVersion"
    )


def _delete(name: str) -> bool:
    try:
        STORE.delete(SHARDS, _ctx(), "", name)
    except errors.NotFound:
        return False
    return True
