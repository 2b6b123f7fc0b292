"""The directory follower: one small process per shard (in sharded mode) that listens to the
directory's notifications and turns the ones that concern this shard into Celery tasks.

- An entry placed on this shard (Scheduling) or marked for deletion (Deleting): the shard pulls
  (`pull_logical_clusters`, which drains everything pending, so bursts cost one task each).
- An entry that reached Initializing or Ready whose parent logical cluster lives here: the
  parent's Workspace is reconciled, which mirrors the phase and completes it.
- A notification on a channel another app registered (`shards.notifications`, e.g. the shards
  holding bindings of an export): its handler.

Notifications are a doorbell, not a log: anything missed while the follower was away (the global
database restarted, the follower was killed) is found by the periodic resync
(`resync_workspaces`), which pulls and reconciles whatever is pending. So the follower keeps no
state and never needs to catch up.

Why a process of its own and not a task: LISTEN holds a connection open on the global database;
the Celery workers' solo pools would each have to block in it. Why not in daphne: the serving
processes are several and replaceable, and a notification must enqueue one task, not one each."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.db import close_old_connections

from shards.directory import directory_alias
from shards.models import DIRECTORY_CHANNEL, PHASE_DELETING, PHASE_SCHEDULING, ROUTED_PHASES
from shards.notifications import global_channels
from shards.selectors import local_shard_name

from .addressing import cluster_resolve

log = logging.getLogger(__name__)

#: Seconds between reconnection attempts when the global database is unreachable.
RETRY_SECONDS = 1.0


def global_conninfo() -> str:
    db = settings.DATABASES[directory_alias()]
    parts = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


def follower_dispatch(
    *, payload: str, shard: str, pull: Callable[[], Any], reconcile: Callable[[str, str], Any]
) -> str:
    """What one notification asks of this shard: "pull", "reconcile" or "" (nothing). Malformed
    payloads are ignored (the resync covers whatever they may have meant)."""
    try:
        entry = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(entry, dict):
        return ""
    phase, op = entry.get("phase"), entry.get("op")
    if entry.get("shard") == shard and op != "DELETE" and phase in (PHASE_SCHEDULING, PHASE_DELETING):
        pull()
        return "pull"
    parent, workspace = entry.get("parent"), entry.get("workspace")
    if op != "DELETE" and phase in ROUTED_PHASES and parent and workspace and cluster_resolve(str(parent)):
        reconcile(str(parent), str(workspace))
        return "reconcile"
    return ""


def follow_directory(*, stop: Callable[[], bool] = lambda: False) -> None:
    """LISTEN on the directory channel until `stop()`; reconnects after any database error."""
    from .tasks import pull_logical_clusters, reconcile_workspace

    shard = local_shard_name()
    others = global_channels()
    while not stop():
        try:
            with psycopg.connect(global_conninfo(), autocommit=True) as conn:
                for channel in (DIRECTORY_CHANNEL, *others):
                    conn.execute(f"LISTEN {channel}")
                # Whatever was placed while nobody listened.
                pull_logical_clusters.delay()
                while not stop():
                    for note in conn.notifies(timeout=1.0):
                        if note.channel in others:
                            others[note.channel](note.payload)
                            continue
                        follower_dispatch(
                            payload=note.payload,
                            shard=shard,
                            pull=pull_logical_clusters.delay,
                            reconcile=reconcile_workspace.delay,
                        )
        except Exception as exc:  # the global or the shard's database, or the broker, went away
            log.warning("directory follower: %s; reconnecting in %ss", exc, RETRY_SECONDS)
            close_old_connections()
            time.sleep(RETRY_SECONDS)
