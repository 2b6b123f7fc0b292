"""The Celery application: reconcilers and periodic housekeeping of one shard."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kcpsite.settings")

app = Celery("kcpsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "kube-compact-event-log": {"task": "kube.tasks.compact_event_log", "schedule": 60.0},
    "kube-resync-deletions": {"task": "kube.tasks.resync_deletions", "schedule": 10.0},
    "workspaces-resync": {"task": "workspaces.tasks.resync_workspaces", "schedule": 10.0},
    "apis-resync-bindings": {"task": "apis.tasks.resync_apibindings", "schedule": 10.0},
    # apis.presence.RESYNC_SECONDS
    "apis-resync-export-shards": {"task": "apis.tasks.resync_apiexport_shards", "schedule": 30.0,
                                  "options": {"expires": 30.0}},
    # shards.kinds.HEARTBEAT_SECONDS and MIRROR_SECONDS. A beat or a pass that waited a whole
    # period in the queue is dropped: the next one is already due (no burst after an outage).
    "shards-heartbeat": {"task": "shards.tasks.heartbeat_shard", "schedule": 10.0, "options": {"expires": 10.0}},
    "shards-mirror": {"task": "shards.tasks.mirror_shards", "schedule": 10.0, "options": {"expires": 10.0}},
}


@task_postrun.connect
def return_database_connections(task: Any = None, **_: Any) -> None:
    """After a task, as after a request: connections back to the pool, broken ones closed (see
    CELERY_DB_REUSE_MAX in the settings). Not for eager tasks, which run inside their caller's
    request or transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    # Not at the top: kcpsite/__init__ imports this module, and the launcher imports kcpsite
    # before any Django settings exist.
    from django.db import close_old_connections

    close_old_connections()
