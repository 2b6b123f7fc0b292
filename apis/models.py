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
