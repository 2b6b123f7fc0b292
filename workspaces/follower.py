"""The directory follower: one small process per shard (in sharded mode) that listens to the
directory's notifications and turns the ones that concern this shard into Celery tasks.

- An entry placed on this shard (Scheduling) or marked for deletion (Deleting): the shard pulls
  (`pull_logical_clusters`, which drains everything pending, so bursts cost one task each).
- An entry that reached Initializing or Ready whose parent logical cluster lives here: the
  parent's Workspace is reconciled, which mirrors the phase and completes it (unless it already
  shows that phase: placed on its parent's shard, it became Ready in its scheduling transaction,
  whose Scheduling entry needs no pull either; see `follower_dispatch`).
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
from .selectors import workspace_progress

log = logging.getLogger(__name__)

#: Seconds between reconnection attempts when the global database is unreachable.
RETRY_SECONDS = 1.0
#: After a notification, those arriving within this many seconds join its batch.
BATCH_WINDOW = 0.02


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
    payloads are ignored (the resync covers whatever they may have meant).

    Two notifications of a workspace placed on its parent's shard need nothing: its entry
    placed (Scheduling) by this very shard, whose scheduling transaction creates the logical
    cluster itself, and its entry turned Ready, which the Workspace already shows. Skipping them
    saves a task each for half of all new workspaces on two shards (should the scheduler die in
    between, its retry or the resync completes the placement, as for any interrupted one)."""
    try:
        entry = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(entry, dict):
        return ""
    phase, op = entry.get("phase"), entry.get("op")
    parent, workspace = str(entry.get("parent") or ""), str(entry.get("workspace") or "")
    if entry.get("shard") == shard and op != "DELETE" and phase in (PHASE_SCHEDULING, PHASE_DELETING):
        if phase == PHASE_SCHEDULING and parent and cluster_resolve(parent):
            return ""  # placed here by this shard's scheduler, in the transaction it commits
        pull()
        return "pull"
    if op != "DELETE" and phase in ROUTED_PHASES and parent and workspace:
        progress = workspace_progress(cluster=parent, name=workspace)
        if progress is None or progress == (str(entry.get("name") or ""), str(phase)):
            return ""  # the parent is not here, or its Workspace already shows the phase
        reconcile(parent, workspace)
        return "reconcile"
    return ""


def follower_batch(*, notes: list[tuple[str, str]], shard: str) -> tuple[bool, list[tuple[str, str]]]:
    """A batch of (channel, payload) notifications: the other channels' handlers called, and for
    the directory's, whether to pull and which Workspaces (cluster, name) to reconcile, once each."""
    others = global_channels()
    pulls: list[bool] = []
    keys: set[tuple[str, str]] = set()
    for channel, payload in notes:
        if channel in others:
            others[channel](payload)
            continue
        follower_dispatch(
            payload=payload,
            shard=shard,
            pull=lambda: pulls.append(True),
            reconcile=lambda cluster, name: keys.add((cluster, name)),
        )
    return bool(pulls), sorted(keys)


def follow_directory(*, stop: Callable[[], bool] = lambda: False) -> None:
    """LISTEN on the directory channel until `stop()`; reconnects after any database error.

    Notifications are taken in batches (the first, then whatever arrives within BATCH_WINDOW):
    a batch enqueues at most one pull and one task reconciling every Workspace it names, so a
    burst of placements costs a few tasks, not one per notification (each task costs about as
    much CPU as the work it does; bench `--only sharded`)."""
    from .tasks import pull_logical_clusters, reconcile_workspaces

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
                    batch = list(conn.notifies(timeout=1.0, stop_after=1))
                    if batch:
                        batch += conn.notifies(timeout=BATCH_WINDOW)
                    pull, keys = follower_batch(notes=[(n.channel, n.payload) for n in batch], shard=shard)
                    if pull:
                        pull_logical_clusters.delay()
                    if keys:
                        reconcile_workspaces.delay(keys)
        except Exception as exc:  # the global or the shard's database, or the broker, went away
            log.warning("directory follower: %s; reconnecting in %ss", exc, RETRY_SECONDS)
            close_old_connections()
            time.sleep(RETRY_SECONDS)
