"""Bootstrap of a shard: the revision counter, its shard record (registration, a first heartbeat),
the root logical cluster (on the shard that holds it: its namespaces, LogicalCluster, directory
entry, workspace types, and the Shard objects following the records) and the admin identity.
Idempotent: a second start changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from kube import errors
from kube.authz.replication import rbac_marks_forget
from kube.authz.tokens import token_issue
from kube.registry import REGISTRY
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.registry.tables import ensure_storage_ready
from shards.cache.spec import cache_configured
from shards.directory import directory_is_local
from shards.mirror import shard_mirror
from shards.services import shard_heartbeat, shard_labels_parse, shard_register_self
from workspaces.logicalclusters import logicalclusters_publish
from workspaces.services import workspaces_bootstrap

ROOT = "root"
ADMIN_USER = "kcp-admin"
ADMIN_GROUPS = ["system:kcp:admin", "system:masters"]


def bootstrap_root(*, admin_token: str | None = None) -> None:
    """Bootstrap this shard. Every shard: its storage, its shard record (global database), its
    logical clusters the directory lacks, the admin token (global: one token for every shard)
    and the admin operator. Only the shard that holds root (`holds_root`) creates root; another
    shard creating it would hold a second, unreachable root."""
    ensure_storage_ready()
    if not cache_configured():
        # no cache, so RBAC writes keep no replication marks: the next install recomputes them
        rbac_marks_forget()
    shard_register_self(
        name=settings.KCP_SHARD_NAME,
        base_url=settings.KCP_BASE_URL,
        external_url=settings.KCP_EXTERNAL_URL,
        virtual_workspace_url=settings.KCP_VIRTUAL_WORKSPACES_URL,
        labels=shard_labels_parse(value=settings.KCP_SHARD_LABELS),
    )
    if holds_root():
        _bootstrap_root_cluster()
    # this shard's logical clusters the directory lacks (a data dir from before it, a restored one)
    logicalclusters_publish()
    # After the root logical cluster: the heartbeat counts it, and the mirror runs only where it is.
    shard_heartbeat(name=settings.KCP_SHARD_NAME)
    shard_mirror()
    if admin_token:
        token_issue(user_name=ADMIN_USER, groups=ADMIN_GROUPS, description="bootstrap admin", token=admin_token)
    _admin_operator()


def holds_root() -> bool:
    """Whether this shard holds the root logical cluster: the shard named root, or any shard
    without a global database (single-shard mode)."""
    return settings.KCP_SHARD_NAME == ROOT or directory_is_local()


def _bootstrap_root_cluster() -> None:
    info = REGISTRY.resolve(cluster=ROOT, group="", version="v1", resource="namespaces")
    assert info is not None
    ctx = RequestContext(cluster=ROOT, field_manager="kcp-bootstrap")
    for name in ("default", "kube-system", "kube-public"):
        try:
            with transaction.atomic():
                STORE.create(info, ctx, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except errors.AlreadyExists:
            pass
    workspaces_bootstrap()


def _admin_operator() -> None:
    """The bootstrap admin is also the operator of the Django admin (/admin/): staff and superuser,
    signing in with a password set by `manage.py kcp_portal_password --user kcp-admin`."""
    user, _ = get_user_model().objects.get_or_create(username=ADMIN_USER)
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
