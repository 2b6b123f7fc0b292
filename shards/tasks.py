"""Celery tasks of the shards app (keys in, idempotent) and the trigger that follows operators'
writes on the Shard objects (registered in shards.apps)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from kube.timefmt import parse_rfc3339

from .kinds import ROOT
from .mirror import shard_mirror
from .selectors import local_shard_name
from .services import shard_deregister, shard_heartbeat, shard_settings_apply

Obj = dict[str, Any]
logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def heartbeat_shard() -> bool:
    """Celery beat, every HEARTBEAT_SECONDS on every shard: this shard's heartbeat (one UPDATE of
    its record). False, with a warning, when the shard was de-registered."""
    if shard_heartbeat():
        return True
    logger.warning("shard %s has no record (de-registered): it registers again when restarted", local_shard_name())
    return False


@shared_task(acks_late=True)
def mirror_shards(names: list[str] | None = None) -> int:
    """Celery beat, every MIRROR_SECONDS on every shard (a no-op but on the shard hosting root),
    and for one shard after its record changed: the Shard objects follow the records. No retry:
    the next beat is the retry."""
    return shard_mirror(names=names)


def shard_changed(cluster: str, obj: Obj, event_type: str) -> None:
    """A Shard object in root changed (after commit). Deleted: its shard is de-registered (its
    record deleted, unless the shard registered again after that object was made). Otherwise
    what operators set on it (cordon, limits) is applied to the record at once, so placement
    obeys it from now on, and the object's status acknowledges it at the next step (a mirror of
    that one shard, enqueued). A mirror's own writes change no setting and enqueue nothing."""
    if cluster != ROOT:
        return
    name = obj["metadata"]["name"]
    if event_type == "DELETED":
        created = obj["metadata"].get("creationTimestamp")
        shard_deregister(name=name, registered_before=parse_rfc3339(created) if created else None)
    elif shard_settings_apply(name=name):
        mirror_shards.delay([name])
