"""Bootstrap of a shard: the revision counter, its shard record, the root logical cluster (on the
shard that holds it) and the admin identity. Idempotent: a second start changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from kcpsite.dbrouter import SHARD, global_alias
from kube import errors
from kube.authz.tokens import token_issue
from kube.registry import REGISTRY
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.registry.tables import ensure_storage_ready
from shards.services import (
    shard_heartbeat,
    shard_labels_parse,
    shard_record_beat,
    shard_record_register,
    shard_records_mirror,
    shard_register_self,
)
from workspaces.logicalclusters import logicalclusters_publish
from workspaces.services import workspaces_bootstrap

ROOT = "root"
ADMIN_USER = "kcp-admin"
ADMIN_GROUPS = ["system:kcp:admin", "system:masters"]


def bootstrap_root(*, admin_token: str | None = None) -> None:
    """Bootstrap this shard. Every shard: its storage, its shard record (global database), the
    admin token (global: one token for every shard) and the admin operator. Only the shard that
    holds root (the one named `root`, or the only shard without a global database) creates root:
    its namespaces, LogicalCluster and directory entry, the Shard objects (its own and the other
    shards' records mirrored) and the workspace types; another shard creating them would hold a
    second, unreachable root."""
    ensure_storage_ready()
    labels = shard_labels_parse(value=settings.KCP_SHARD_LABELS)
    shard_record_register(name=settings.KCP_SHARD_NAME, base_url=settings.KCP_BASE_URL,
                          external_url=settings.KCP_EXTERNAL_URL, labels=labels)
    shard_record_beat(name=settings.KCP_SHARD_NAME)
    if holds_root():
        _bootstrap_root_cluster(labels)
    # this shard's logical clusters the directory lacks (a data dir from before it, a restored one)
    logicalclusters_publish()
    if admin_token:
        token_issue(user_name=ADMIN_USER, groups=ADMIN_GROUPS, description="bootstrap admin", token=admin_token)
    _admin_operator()


def holds_root() -> bool:
    """Whether this shard holds the root logical cluster: the shard named root, or any shard
    without a global database (single-shard mode)."""
    return settings.KCP_SHARD_NAME == ROOT or global_alias() == SHARD


def _bootstrap_root_cluster(labels: dict[str, str]) -> None:
    info = REGISTRY.resolve(cluster=ROOT, group="", version="v1", resource="namespaces")
    assert info is not None
    ctx = RequestContext(cluster=ROOT, field_manager="kcp-bootstrap")
    for name in ("default", "kube-system", "kube-public"):
        try:
            with transaction.atomic():
                STORE.create(info, ctx, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except errors.AlreadyExists:
            pass
    shard_register_self(
        name=settings.KCP_SHARD_NAME,
        base_url=settings.KCP_BASE_URL,
        external_url=settings.KCP_EXTERNAL_URL,
        labels=labels,
    )
    shard_heartbeat(name=settings.KCP_SHARD_NAME)
    shard_records_mirror()
    workspaces_bootstrap()


def _admin_operator() -> None:
    """The bootstrap admin is also the operator of the Django admin (/admin/): staff and superuser,
    signing in with a password set by `manage.py kcp_portal_password --user kcp-admin`."""
    user, _ = get_user_model().objects.get_or_create(username=ADMIN_USER)
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
