"""Celery tasks of the shards app (keys in, idempotent) and the trigger that enqueues them when a
Shard changes (registered in shards.apps)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .selectors import local_shard_name
from .services import shard_heartbeat, shard_mark_stale, shard_record_beat, shard_records_mirror

Obj = dict[str, Any]


@shared_task(acks_late=True)
def heartbeat_shard() -> bool:
    """Celery beat, every HEARTBEAT_SECONDS on every shard: this shard's heartbeat and report (in
    its record; on the shard holding root, which alone has its own Shard object, also there, with
    the other shards' records mirrored), and Ready=Unknown on the shards that stopped beating."""
    shard_record_beat()
    beat = shard_heartbeat() is not None
    if beat:
        shard_records_mirror()
    shard_mark_stale()
    return beat


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def acknowledge_shard(name: str) -> bool:
    """This shard acknowledges an operator's change (cordon, limits) without a heartbeat."""
    return shard_heartbeat(name=name, beat=False) is not None


def shard_changed(cluster: str, obj: Obj, event_type: str) -> None:
    """A Shard changed (registered, cordoned, uncordoned, limits set): the owning shard
    acknowledges it (workspaces waiting for an eligible shard follow through their own trigger,
    workspaces.tasks.shard_changed)."""
    name = obj["metadata"]["name"]
    if event_type != "DELETED" and name == local_shard_name():
        acknowledge_shard.delay(name)
