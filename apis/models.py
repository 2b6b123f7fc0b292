"""Concrete tables of apis.kcp.io kinds (promoted columns derived from the body in the same write)."""

from __future__ import annotations

from django.db import models

from kube.storage.models import KubeObject, object_key_constraint


class APIResourceSchemaRow(KubeObject):
    api_group = models.CharField(max_length=253, blank=True)
    plural = models.CharField(max_length=253, blank=True)

    class Meta:
        db_table = "apis_apiresourceschema"
        constraints = object_key_constraint("apis_apiresourceschema")


class APIExportRow(KubeObject):
    identity_hash = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        db_table = "apis_apiexport"
        constraints = object_key_constraint("apis_apiexport")


class APIExportEndpointSliceRow(KubeObject):
    export_path = models.CharField(max_length=2048, blank=True)
    export_name = models.CharField(max_length=253, blank=True)

    class Meta:
        db_table = "apis_apiexportendpointslice"
        constraints = object_key_constraint("apis_apiexportendpointslice")


class APIBindingRow(KubeObject):
    """A consumer's binding. `export_cluster` (status.apiExportClusterName) and `export_name` find
    every binding of an export (the provider's view, export changes); `phase` serves the portal."""

    export_path = models.CharField(max_length=2048, blank=True)
    export_name = models.CharField(max_length=253, blank=True)
    export_cluster = models.CharField(max_length=253, blank=True)
    phase = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "apis_apibinding"
        constraints = object_key_constraint("apis_apibinding")
        indexes = [models.Index(fields=["export_cluster", "export_name"], name="apis_binding_export")]


class APIExportShard(models.Model):
    """A shard that holds at least one binding of an export (global database, table
    kcp_apiexport_shards): the export's shard lists that shard's provider virtual workspace in
    the export's APIExportEndpointSlice. Each shard writes only its own rows
    (`apis.presence.apiexport_shard_presence_sync`); a trigger announces inserts and deletes on
    PRESENCE_CHANNEL so that the export's shard recomputes the slice within a second."""

    export_cluster = models.CharField(max_length=253)
    export_name = models.CharField(max_length=253)
    shard = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "kcp_apiexport_shards"
        constraints = [
            models.UniqueConstraint(fields=["export_cluster", "export_name", "shard"], name="kcp_apiexport_shard")
        ]
        indexes = [models.Index(fields=["shard"], name="kcp_apiexport_shards_shard")]

    def __str__(self) -> str:
        return f"{self.export_cluster}:{self.export_name} on {self.shard}"


#: The NOTIFY channel of kcp_apiexport_shards (insert and delete; JSON payload with the row).
PRESENCE_CHANNEL = "kcp_apiexport_shards"
