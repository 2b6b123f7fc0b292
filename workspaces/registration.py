"""The workspaces app wired into kube at start-up (AppConfig.ready): its kinds (each with its
table), the cluster annotation every stored object carries, kcp's reserved metadata domain, path
resolution for request URLs, and the controllers' triggers. Here, above every other module of
the app, so that nothing below needs a function-local import to reach its neighbours."""

from __future__ import annotations

from kube.authz.replication import Grant, replicated_grant_register
from kube.endpoints.paths import set_cluster_resolver
from kube.registry import REGISTRY
from kube.registry.reserved import reserve_metadata_domain
from kube.registry.store import on_change
from kube.registry.tables import set_cluster_annotation

from .addressing import cluster_resolve
from .kinds import KINDS
from .members import RBAC
from .names import CLUSTER_ANNOTATION, CORE, RESERVED_DOMAIN, TENANCY
from .tasks import cluster_role_binding_changed, shard_changed, workspace_changed


def register() -> None:
    for info in KINDS:
        REGISTRY.register(info)
    set_cluster_annotation(CLUSTER_ANNOTATION)
    # kcp's metadata (paths, types, owners, claim labels, finalizers) is the system's to write
    reserve_metadata_domain(RESERVED_DOMAIN)
    set_cluster_resolver(cluster_resolve)
    on_change(TENANCY, "workspaces", workspace_changed)
    on_change(RBAC, "clusterrolebindings", cluster_role_binding_changed)
    on_change(CORE, "shards", shard_changed)
    # Checked in root from every shard (a workspace's type, an initializer finishing), so the RBAC
    # granting them is replicated into the cache (kube.authz.replication); with them `access`, the
    # gate every check passes first (kube.authz.authorizer).
    for verb in ("use", "initialize"):
        replicated_grant_register(Grant(verb=verb, api_group=TENANCY, resource="workspacetypes"))
    replicated_grant_register(Grant(verb="access", path="/"))
