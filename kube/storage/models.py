"""Storage rows.

* `KubeObject` is the abstract row of any Kubernetes object; the body (JSONB) is the truth, the
  other columns are derived from it inside the same write for indexing and querying.
* `StoredObject` holds every generic kind, keyed by (cluster, group, resource, namespace, name).
  Its `replicate` column is the system's mark on the RBAC objects other shards need (set by
  kube.authz.replication in the write's transaction, never from the body): the cache's
  publication copies exactly the marked rows.
* `Revision` is a single counter row. Each write transaction increments it as one of its last
  statements; the row lock is held until commit, so revision order equals commit order and a
  rolled-back transaction gives its number back (the log has no gaps). A sequence would not do:
  sequence values are handed out before commit, so a late commit with a smaller number would be
  missed by a watcher that already resumed past it.
* `Event` is the watch log: one row per change, written in the same transaction as the change
  (with the previous object too when the change moved labels).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.db import models


class KubeObject(models.Model):
    cluster = models.CharField(max_length=128)
    group = models.CharField(max_length=253, blank=True)
    resource = models.CharField(max_length=253)
    namespace = models.CharField(max_length=63, blank=True)
    name = models.CharField(max_length=253)
    uid = models.UUIDField()
    resource_version = models.BigIntegerField()
    generation = models.BigIntegerField(default=0)
    deletion_timestamp = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict)
    body = models.JSONField()
    created = models.DateTimeField()

    objects: models.Manager[Any] = models.Manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.cluster}|{self.resource}.{self.group}|{ns}{self.name}"


def object_key_constraint(table: str) -> list[models.BaseConstraint]:
    """The identity of a Kubernetes object row, for concrete tables of KubeObject."""
    return [models.UniqueConstraint(fields=["cluster", "group", "resource", "namespace", "name"], name=f"{table}_key")]


class StoredObject(KubeObject):
    #: Copied into the cache of what crosses shards (kube.authz.replication marks, the publication
    #: filters on it). A database default: storage's own INSERTs do not name the column.
    replicate = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "kube_object"
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "group", "resource", "namespace", "name"], name="kube_object_key"
            ),
            # The replica identity of the cache's publication: the key plus the mark, because a
            # row filter may only read replica-identity columns (then a flip of the mark travels
            # as an insert or a delete). Unique because the key already is.
            models.UniqueConstraint(
                fields=["cluster", "group", "resource", "namespace", "name", "replicate"],
                name="kube_object_replica_identity",
            ),
        ]
        indexes = [
            GinIndex(fields=["labels"], name="kube_object_labels"),
            models.Index(fields=["group", "resource", "namespace", "name"], name="kube_object_wildcard"),
        ]


class Revision(models.Model):
    """The single counter row (id=1): `value` is the latest committed revision, `compacted` the
    highest revision already trimmed from the event log (watches from below it get 410)."""

    value = models.BigIntegerField(default=0)
    compacted = models.BigIntegerField(default=0)

    class Meta:
        db_table = "kube_revision"


class Event(models.Model):
    revision = models.BigIntegerField(primary_key=True)
    cluster = models.CharField(max_length=128)
    group = models.CharField(max_length=253, blank=True)
    resource = models.CharField(max_length=253)
    namespace = models.CharField(max_length=63, blank=True)
    name = models.CharField(max_length=253)
    type = models.CharField(max_length=10)
    object = models.JSONField()
    prev_labels = models.JSONField(null=True)
    #: On a MODIFIED event that changed the labels: the object as it was before, at this event's
    #: revision (a watch whose label selector the object leaves sends it as DELETED, never the new
    #: content). Null otherwise: label changes are rare, so the log stays one body per event.
    prev_object = models.JSONField(null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "kube_event"
        indexes = [models.Index(fields=["group", "resource", "revision"], name="kube_event_gr_rev")]
