"""Shard services: self-registration and heartbeat in the shard's record (global database), the
operators' settings applied to it, de-registration, and the scheduler's choice.

Registration (`shard_register_self`, at start-up): an upsert of the record by name, so a restart
with other URLs or labels updates the one row; what operators set (cordon, limits) and the
heartbeat are not touched.

Heartbeat (DESIGN "Shards": each shard heartbeats): Celery beat runs `shard_heartbeat` on every
shard every HEARTBEAT_SECONDS. Beat rather than the launcher: it already runs on every shard, and a
shard whose workers are stuck stops beating, exactly the shard that could not create the logical
clusters placed on it. A beat is one UPDATE of the record (heartbeat, used count): no stored object,
no event, nothing any watcher sees, so 10,000 shards cost 1,000 small updates a second on the global
database and nothing on any shard. A beat never creates a record: a de-registered shard (its record
deleted, see `shard_deregister`) stays out of placement until it restarts and registers again, as a
kcp shard whose Shard object was deleted.

Operators cordon a shard and set its limits on the Shard object in root (the API, `kubectl kcp
shard cordon`); `shard_settings_apply` copies them to the record, from the write's trigger and
again from every mirror pass (`shards.mirror`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import router, transaction
from django.utils import timezone

from kube.errors import FieldErrors
from kube.meta_validation.fields import validate_labels, validate_name
from kube.registry.store import STORE

from .kinds import CORE, ROOT, SHARDS, URL_FIELDS, is_url, operator_settings
from .models import ShardRecord
from .selectors import (
    local_shard_name,
    shard_candidates,
    shard_choose_in_sql,
    shard_pick,
    shard_unschedulable_reason,
    shard_used_workspaces,
    shard_virtual_workspace_urls,
)

logger = logging.getLogger(__name__)
#: The longest shard name a record holds.
NAME_MAX = ShardRecord._meta.get_field("name").max_length or 128

__all__ = [
    "local_shard_name",
    "shard_choose",
    "shard_deregister",
    "shard_heartbeat",
    "shard_labels_parse",
    "shard_register_self",
    "shard_settings_apply",
    "shard_unschedulable_reason",
    "shard_virtual_workspace_urls",
]


def _global() -> str:
    """The alias the records live on (the global database, or the shard's own in single-shard
    mode), as the project's router says."""
    return str(router.db_for_write(ShardRecord))


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
) -> ShardRecord:
    """Create or update shard `name`'s record, as kcp's shards do when they start: its URLs
    (`externalURL` and `virtualWorkspaceURL` default to `base_url`) and its labels (`name=<shard>`
    plus `labels`: what placement selectors match). Validated as the Shard object will be
    (422 Invalid otherwise), since the mirror writes one from it. Idempotent: one row per name,
    whoever registers it how often; the heartbeat, the cordon and the limits are left as they are.
    The Shard object in root follows at the next mirror pass (`shards.mirror`)."""
    wanted = {"name": name, **(labels or {})}
    urls = {
        "base_url": base_url,
        "external_url": external_url or base_url,
        "virtual_workspace_url": virtual_workspace_url or base_url,
    }
    errs = FieldErrors()
    if not name or len(name) > NAME_MAX:
        errs.invalid("metadata.name", name, f"must be 1 to {NAME_MAX} characters")
    errs.extend(validate_name(name))
    errs.extend(validate_labels(wanted))
    for key, value in zip(URL_FIELDS, urls.values(), strict=True):
        if not is_url(value):
            errs.invalid(f"spec.{key}", value, "must be an http(s) URL")
    errs.raise_invalid("Shard", name, CORE)
    record, _ = ShardRecord.objects.update_or_create(name=name, defaults={**urls, "labels": wanted})
    return record


def shard_heartbeat(*, name: str | None = None) -> bool:
    """Shard `name`'s (default: this shard's) heartbeat: its record's `heartbeat` set to now and
    `used_workspaces` to the live logical clusters this shard's database holds for it, in one
    UPDATE (after one count on the shard's database). Writes no stored object and no event.
    False when there is no record: the shard was de-registered, and a heartbeat does not bring it
    back (it registers again when it restarts)."""
    name = name or local_shard_name()
    used = shard_used_workspaces(name=name)
    return ShardRecord.objects.filter(name=name).update(heartbeat=timezone.now(), used_workspaces=used) == 1


def shard_settings_apply(*, name: str) -> bool:
    """Copy what operators set on Shard `name` in root (the cordon annotation, valid
    spec.resourceLimits) to its record; returns whether the record changed. The record row is
    locked and the object read under the lock, so of two concurrent appliers (a write's trigger,
    a mirror pass that read the object earlier) the later one writes the newer object's settings:
    a stale read never undoes a cordon. Run on the shard hosting root (nowhere else has the
    object: then nothing happens)."""
    with transaction.atomic(using=_global()):
        record = ShardRecord.objects.select_for_update().filter(name=name).first()
        shard = STORE.lookup(SHARDS, cluster=ROOT, name=name) if record is not None else None
        if record is None or shard is None:
            return False
        cordoned, soft, hard = operator_settings(shard)
        if (record.cordoned, record.soft_limit, record.hard_limit) == (cordoned, soft, hard):
            return False
        record.cordoned, record.soft_limit, record.hard_limit = cordoned, soft, hard
        record.save(update_fields=["cordoned", "soft_limit", "hard_limit"])
    logger.info("shard %s: cordoned=%s, limits %s/%s applied to its record", name, cordoned, soft, hard)
    return True


def shard_deregister(*, name: str, registered_before: datetime | None = None) -> bool:
    """Delete shard `name`'s record: no new logical clusters go there, its heartbeat stops counting
    and the mirror removes its Shard object; the shard registers again when it restarts (kcp:
    deleting a Shard object de-registers it). `registered_before`: only a record registered
    before then (the Shard object's creationTimestamp, rounded up to the second): a shard that
    registered again after that object was made keeps its new record."""
    records = ShardRecord.objects.filter(name=name)
    if registered_before is not None:
        records = records.filter(registered_at__lt=registered_before + timedelta(seconds=1))
    deleted, _ = records.delete()
    if deleted:
        logger.info("shard %s de-registered", name)
    return bool(deleted)


def shard_choose(*, cluster: str, selector: dict[str, object] | None = None) -> str | None:
    """The shard a new logical cluster under `cluster` goes to, or None when no shard is eligible
    (`shard_unschedulable_reason` says why): random among the shards that are Ready (a fresh
    heartbeat), not cordoned, below their hard limit and whose labels match `selector` (the
    Workspace's `spec.location.selector`); shards past their soft limit only when no other is.
    One statement on the records, returning one row unless the selector needs matchExpressions
    (then every eligible record is read and matched here)."""
    chosen = shard_choose_in_sql(selector=selector)
    if chosen is not False:
        return chosen if isinstance(chosen, str) else None
    return shard_pick(candidates=shard_candidates(cluster=cluster, selector=selector))
