"""Names of kcp's tenancy kinds that several modules agree on: groups, annotations, finalizers,
the root's name and what a path segment may be."""

from __future__ import annotations

import re

TENANCY = "tenancy.kcp.io"
CORE = "core.kcp.io"
VERSION = "v1alpha1"
LC_FINALIZER = "core.kcp.io/logicalcluster"
PATH_ANNOTATION = "kcp.io/path"
TYPE_ANNOTATION = "internal.tenancy.kcp.io/type"
OWNER_ANNOTATION = "experimental.tenancy.kcp.io/owner"
CLUSTER_ANNOTATION = "kcp.io/cluster"
#: Annotations, labels and finalizers under this domain are kcp's own (kube.registry.reserved).
RESERVED_DOMAIN = "kcp.io"
SEGMENT = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
PHASES = ("Scheduling", "Initializing", "Ready", "Unavailable", "Inactive", "Terminating", "Deleting")
SHARD_ANNOTATION = "core.kcp.io/shard"
ROOT = "root"
#: WorkspaceTypes live in root (their references' `path`).
ROOT_TYPES_PATH = "root"
