"""The Celery application: reconcilers and periodic housekeeping of one shard."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kcpsite.settings")

app = Celery("kcpsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "kube-compact-event-log": {"task": "kube.tasks.compact_event_log", "schedule": 60.0},
    "kube-resync-deletions": {"task": "kube.tasks.resync_deletions", "schedule": 10.0},
    "workspaces-resync": {"task": "workspaces.tasks.resync_workspaces", "schedule": 10.0},
    "apis-resync-bindings": {"task": "apis.tasks.resync_apibindings", "schedule": 10.0},
}
