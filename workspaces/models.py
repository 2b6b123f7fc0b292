"""Concrete tables of kcp's tenancy kinds. The body stays the truth; the promoted columns are
derived from it by the storage layer in the same write (see `workspaces.kinds`)."""

from __future__ import annotations

from django.db import models

from kube.storage.models import KubeObject, object_key_constraint


class LogicalClusterRow(KubeObject):
    """core.kcp.io LogicalCluster `cluster`: one per logical cluster. `path` mirrors its
    `kcp.io/path` annotation (written by the system only) for display and queries; requests
    resolve paths through the Workspaces that own each cluster (workspaces.services)."""

    path = models.CharField(max_length=2048, db_index=True)
    phase = models.CharField(max_length=32, blank=True)
    type = models.CharField(max_length=512, blank=True)
    shard = models.CharField(max_length=128, blank=True)

    class Meta:
        db_table = "core_logicalcluster"
        constraints = [
            *object_key_constraint("core_logicalcluster"),
            # At most one live logical cluster holds a path: no lookup by path can be ambiguous.
            models.UniqueConstraint(
                fields=["path"],
                condition=models.Q(deletion_timestamp__isnull=True) & ~models.Q(path=""),
                name="core_lc_live_path",
            ),
        ]
        indexes = [
            models.Index(fields=["cluster"], name="core_lc_cluster"),
            # The periodic resync's scan for logical clusters still Initializing (a few among
            # millions): only those rows are indexed.
            models.Index(fields=["phase"], name="core_lc_initializing", condition=models.Q(phase="Initializing")),
        ]
        # The portal's membership index (django-guardian rows keyed by logical cluster name, kept
        # in agreement with the cluster's RBAC by workspaces.members): view_logicalclusterrow =
        # member, admin_workspace = admin.
        permissions = [("admin_workspace", "Administer the workspace")]


class WorkspaceRow(KubeObject):
    """tenancy.kcp.io Workspace, stored in its parent logical cluster."""

    phase = models.CharField(max_length=32, blank=True)
    type_name = models.CharField(max_length=253, blank=True)
    type_path = models.CharField(max_length=2048, blank=True)
    logical_cluster = models.CharField(max_length=128, blank=True, db_index=True)

    class Meta:
        db_table = "tenancy_workspace"
        constraints = object_key_constraint("tenancy_workspace")
        indexes = [models.Index(fields=["phase"], name="tenancy_ws_phase")]


class WorkspaceTypeRow(KubeObject):
    class Meta:
        db_table = "tenancy_workspacetype"
        constraints = object_key_constraint("tenancy_workspacetype")
