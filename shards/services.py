"""Shard services: self-registration at start-up and the scheduler's choice."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from kube import errors
from kube.registry.context import RequestContext
from kube.registry.store import STORE

from .kinds import ROOT, SHARDS
from .models import ShardRow

Obj = dict[str, Any]


def shard_register_self(*, name: str, base_url: str, external_url: str = "", virtual_workspace_url: str = "") -> Obj:
    """Create or update this shard's Shard object in root (label `name=<shard>`), as kcp's shards
    do when they start. Idempotent."""
    spec = {
        "baseURL": base_url,
        "externalURL": external_url or base_url,
        "virtualWorkspaceURL": virtual_workspace_url or base_url,
    }
    ctx = RequestContext(cluster=ROOT, field_manager="kcp-shard")
    try:
        return STORE.create(SHARDS, ctx, "", {"metadata": {"name": name, "labels": {"name": name}}, "spec": spec})
    except errors.AlreadyExists:
        pass

    def to_spec(shard: Obj) -> None:
        shard["spec"] = spec

    # A guaranteed update: another shard's start (same name, a replica) writing meanwhile is
    # re-read and compared again; the spec goes through the Shard strategy's validation.
    registered = STORE.guaranteed_update(SHARDS, ctx, "", name, to_spec)
    if registered is None:
        raise errors.Conflict(f'shard "{name}" vanished while registering')
    return registered


def shard_choose(*, cluster: str) -> str:
    """The shard a new logical cluster under `cluster` goes to. One shard per deployment today
    (DESIGN: placement goes through this function so a multi-shard scheduler replaces only it):
    this process's own shard."""
    return str(getattr(settings, "KCP_SHARD_NAME", ROOT))


def shard_virtual_workspace_url(*, name: str) -> str:
    url = ShardRow.objects.filter(cluster=ROOT, name=name).values_list("virtual_workspace_url", flat=True).first()
    return str(url or settings.KCP_EXTERNAL_URL)
