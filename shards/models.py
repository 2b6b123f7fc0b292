"""Shards (core.kcp.io/v1alpha1 Shard, living in root): promoted columns for the scheduler and the
operators' admin; the body stays the truth (written only through the storage layer).

The placement query (`shards.selectors.shard_candidates`) reads the columns only: the heartbeat
(the Ready condition's `lastHeartbeatTime`), the cordon annotation, the limits and the used count,
so choosing a shard is one indexed statement whatever the number of shards."""

from __future__ import annotations

from django.db import models

from kube.storage.models import KubeObject, object_key_constraint


class ShardRow(KubeObject):
    base_url = models.CharField(max_length=2048, blank=True)
    external_url = models.CharField(max_length=2048, blank=True)
    virtual_workspace_url = models.CharField(max_length=2048, blank=True)
    #: the last heartbeat the shard wrote (Ready's lastHeartbeatTime); None: never beat
    heartbeat = models.DateTimeField(null=True, blank=True)
    #: the cordon annotation is present (what the scheduler obeys, whether acknowledged yet or not)
    cordoned = models.BooleanField(default=False)
    #: status.used.workspaces as the shard last reported it
    used_workspaces = models.IntegerField(default=0)
    #: spec.resourceLimits.{soft,hard}.workspaces when valid; 0: no limit
    soft_limit = models.IntegerField(default=0)
    hard_limit = models.IntegerField(default=0)

    class Meta:
        db_table = "shards_shard"
        constraints = object_key_constraint("shards_shard")
        verbose_name = "shard"

    def __str__(self) -> str:
        return self.name
