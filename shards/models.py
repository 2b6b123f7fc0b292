"""Shards (core.kcp.io/v1alpha1 Shard, living in root): promoted columns for the scheduler and the
operators' admin; the body stays the truth (written only through the storage layer)."""

from __future__ import annotations

from django.db import models

from kube.storage.models import KubeObject, object_key_constraint


class ShardRow(KubeObject):
    base_url = models.CharField(max_length=2048, blank=True)
    external_url = models.CharField(max_length=2048, blank=True)
    virtual_workspace_url = models.CharField(max_length=2048, blank=True)

    class Meta:
        db_table = "shards_shard"
        constraints = object_key_constraint("shards_shard")
        verbose_name = "shard"

    def __str__(self) -> str:
        return self.name
