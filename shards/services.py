"""Shard services: self-registration, heartbeat and acknowledgement (the shard's own status),
and the scheduler's choice.

Heartbeat (DESIGN "Shards": each shard heartbeats): Celery beat runs `shard_heartbeat` on every
shard every HEARTBEAT_SECONDS. Beat rather than the launcher: it already runs on every shard,
costs one small task per period, and a shard whose workers are stuck stops beating — exactly
the shard that could not create the logical clusters placed on it. The heartbeat is the Ready
condition's `lastHeartbeatTime` (as a Node's), promoted to a column for the placement query. The
Store has no event-less system write, so a heartbeat is a status write (one event per shard per
period, no controller hooks, no managedFields); everything else in the status is written only
when it changes. `status.used.workspaces` is recounted at each heartbeat and acknowledgement —
debounced to the heartbeat period, never per workspace write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
    condition_status,
    heartbeat_of,
    limits,
    registered_label_keys,
)
from .models import ShardRecord, ShardRow
from .selectors import local_shard_name, shard_candidates, shard_pick, shard_unschedulable_reason

Obj = dict[str, Any]

__all__ = [
    "local_shard_name",
    "shard_choose",
    "shard_heartbeat",
    "shard_labels_parse",
    "shard_record_beat",
    "shard_record_register",
    "shard_records_mirror",
    "shard_register_self",
    "shard_unschedulable_reason",
    "shard_virtual_workspace_url",
]


def _ctx() -> RequestContext:
    return RequestContext(cluster=ROOT, field_manager="kcp-shard")


def shard_labels_parse(*, value: str) -> dict[str, str]:
    """`KCP_SHARD_LABELS` (`region=eu,tier=gold`, kcp's `--shard-labels`) as labels."""
    labels: dict[str, str] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"shard label {item!r} is not key=value")
        labels[key.strip()] = val.strip()
    return labels


def shard_register_self(
    *,
    name: str,
    base_url: str,
    external_url: str = "",
    virtual_workspace_url: str = "",
    labels: dict[str, str] | None = None,
) -> Obj:
    """Create or update this shard's Shard object in root (labels `name=<shard>` plus `labels`),
    as kcp's shards do when they start. Idempotent: an unchanged registration writes nothing. What
    operators set (the cordon annotation, spec.resourceLimits) is kept; labels the shard
    registered before and no longer has are removed; other labels are left alone."""
    wanted = {"name": name, **(labels or {})}
    keys = ",".join(sorted(wanted))
    spec = {
        "baseURL": base_url,
        "externalURL": external_url or base_url,
        "virtualWorkspaceURL": virtual_workspace_url or base_url,
    }
    ctx = _ctx()
    body = {"metadata": {"name": name, "labels": wanted, "annotations": {LABELS_ANNOTATION: keys}}, "spec": spec}
    try:
        return STORE.create(SHARDS, ctx, "", body)
    except errors.AlreadyExists:
        pass

    def to_registration(shard: Obj) -> None:
        limits_set = (shard.get("spec") or {}).get("resourceLimits")
        shard["spec"] = {**spec, **({"resourceLimits": limits_set} if limits_set is not None else {})}
        md = shard["metadata"]
        current = {k: v for k, v in (md.get("labels") or {}).items() if k not in registered_label_keys(shard)}
        md["labels"] = {**current, **wanted}
        md.setdefault("annotations", {})[LABELS_ANNOTATION] = keys

    # A guaranteed update: another shard's start (same name, a replica) writing meanwhile is
    # re-read and compared again; the spec goes through the Shard strategy's validation.
    registered = STORE.guaranteed_update(SHARDS, ctx, "", name, to_registration)
    if registered is None:
        raise errors.Conflict(f'shard "{name}" vanished while registering')
    return registered


def _used_workspaces(name: str) -> int:
    # Imported here: workspaces depends on shards (placement), not the other way round; the
    # count is of this shard's own LogicalCluster rows, read by name.
    from django.apps import apps

    model = apps.get_model("workspaces", "LogicalClusterRow")
    return int(model.objects.filter(shard=name, deletion_timestamp__isnull=True).count())


def shard_status(*, shard: Obj, used: int, beat: str | None) -> None:
    """Set what the owning shard reports in `shard["status"]`: used workspaces, Schedulable
    (False, reason Cordoned, while the cordon annotation is present), ResourceLimitsApplied
    (kcp's message `soft/hard: workspaces=S/H`, or InvalidResourceLimits), and, when `beat` is
    given, Ready with that lastHeartbeatTime (otherwise Ready keeps its last heartbeat)."""
    status = shard.setdefault("status", {})
    status["used"] = {"workspaces": used}
    cordoned = CORDON_ANNOTATION in (shard["metadata"].get("annotations") or {})
    if cordoned:
        set_condition(status, type="Schedulable", status=False, reason="Cordoned", message="the shard is cordoned")
    else:
        set_condition(status, type="Schedulable", status=True, reason="Schedulable")
    soft, hard, problem = limits(shard)
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
            message=f"soft/hard: workspaces={soft}/{hard}",
        )
    if beat is not None:
        set_condition(status, type="Ready", status=True, reason="Heartbeat", message="the shard is heartbeating")
        for c in status["conditions"]:
            if c.get("type") == "Ready":
                c["lastHeartbeatTime"] = beat


def shard_heartbeat(*, name: str | None = None, beat: bool = True) -> Obj | None:
    """The shard's report on its own Shard object (`name`: this shard): heartbeat (when `beat`),
    used count, cordon and limits acknowledged. A status write without controller hooks or
    managedFields; nothing is written when nothing changed (`beat=False` and the same status).
    None when the Shard is gone."""
    name = name or local_shard_name()
    used = _used_workspaces(name)
    now = format_rfc3339(timezone.now()) if beat else None
    return STORE.guaranteed_update(
        SHARDS,
        _ctx(),
        "",
        name,
        lambda shard: shard_status(shard=shard, used=used, beat=now),
        subresource="status",
        hooks=False,
        managed_fields=False,
    )


def shard_mark_stale(*, cluster: str = ROOT) -> list[str]:
    """Shards whose heartbeat went stale while their Ready condition still says True get Ready
    Unknown, reason HeartbeatStale (as kube's node lifecycle controller does for a silent
    kubelet): watchers and `kubectl get shards -w` see the change. One query; a write per
    transition only. Run by every shard's heartbeat task (idempotent: guaranteed updates)."""
    fresh = timezone.now() - timedelta(seconds=STALE_SECONDS)
    stale = ShardRow.objects.filter(cluster=cluster, heartbeat__lt=fresh).exclude(name=local_shard_name())
    marked = []
    for name in stale.values_list("name", flat=True):

        def silence(shard: Obj) -> None:
            if condition_status(shard, "Ready") == "True":
                set_condition(
                    shard.setdefault("status", {}),
                    type="Ready",
                    status="Unknown",
                    reason="HeartbeatStale",
                    message=f"no heartbeat for more than {STALE_SECONDS}s",
                )
                for c in shard["status"]["conditions"]:
                    if c.get("type") == "Ready":
                        c["lastHeartbeatTime"] = format_rfc3339(heartbeat_of(shard) or timezone.now())

        before = STORE.lookup(SHARDS, cluster=cluster, name=name)
        after = STORE.guaranteed_update(
            SHARDS, _ctx(), "", name, silence, current=before, subresource="status", hooks=False, managed_fields=False
        )
        if (
            before is not None
            and after is not None
            and condition_status(before, "Ready") != condition_status(after, "Ready")
        ):
            marked.append(name)
    return marked


def shard_choose(*, cluster: str, selector: Obj | None = None) -> str | None:
    """The shard a new logical cluster under `cluster` goes to, or None when no shard is eligible
    (`shard_unschedulable_reason` says why): random among the shards that are Ready (a fresh
    heartbeat), not cordoned, below their hard limit and whose labels match `selector` (the
    Workspace's `spec.location.selector`); shards past their soft limit only when no other is.
    One statement."""
    return shard_pick(candidates=shard_candidates(selector=selector))


def shard_virtual_workspace_url(*, name: str) -> str:
    from django.conf import settings

    url = ShardRow.objects.filter(cluster=ROOT, name=name).values_list("virtual_workspace_url", flat=True).first()
    return str(url or settings.KCP_EXTERNAL_URL)


# --- the shard records (global database) ----------------------------------------------------------
#
# Every shard registers its record at start and beats it with its heartbeat task; the shard that
# holds root mirrors the others' records into Shard objects in root (`shard_records_mirror`), so
# `kubectl get shards` lists every shard and placement from root's workspaces sees them. No shard
# writes another's database: the records are the only thing they share. (What operators set on
# the Shard objects, cordon and limits, does not flow back into the records here.)


def shard_record_register(
    *,
    name: str,
    base_url: str,
    external_url: str = "",
    virtual_workspace_url: str = "",
    labels: dict[str, str] | None = None,
) -> None:
    """Create or update this shard's record with what it registers (URLs, labels); the heartbeat,
    cordon and limits stay as they are. Idempotent."""
    ShardRecord.objects.update_or_create(
        name=name,
        defaults={
            "base_url": base_url,
            "external_url": external_url or base_url,
            "virtual_workspace_url": virtual_workspace_url or external_url or base_url,
            "labels": labels or {},
        },
    )


def shard_record_beat(*, name: str | None = None) -> bool:
    """This shard's heartbeat and used count in its record (one UPDATE); False when it has none."""
    name = name or local_shard_name()
    return bool(
        ShardRecord.objects.filter(name=name).update(heartbeat=timezone.now(), used_workspaces=_used_workspaces(name))
    )


def _reported(*, used: int, beat: str | None) -> Callable[[Obj], None]:
    return lambda shard: shard_status(shard=shard, used=used, beat=beat)


def shard_records_mirror() -> list[str]:
    """On the shard holding root: every other shard's record as its Shard object in root (created
    or updated through `shard_register_self`), its heartbeat and used count as the Ready
    condition and `status.used` (so staleness and placement read them as for any shard). Returns
    the names mirrored."""
    me = local_shard_name()
    mirrored = []
    for record in ShardRecord.objects.exclude(name=me).order_by("name"):
        shard_register_self(
            name=record.name,
            base_url=record.base_url,
            external_url=record.external_url,
            virtual_workspace_url=record.virtual_workspace_url,
            labels={str(k): str(v) for k, v in (record.labels or {}).items()},
        )
        STORE.guaranteed_update(
            SHARDS,
            _ctx(),
            "",
            record.name,
            _reported(used=record.used_workspaces, beat=format_rfc3339(record.heartbeat) if record.heartbeat else None),
            subresource="status",
            hooks=False,
            managed_fields=False,
        )
        mirrored.append(record.name)
    return mirrored
