"""Shard services: self-registration at start-up and the scheduler's choice."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.db import transaction

from kube import errors
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage import backend
from kube.storage.backend import Key

from .kinds import CORE, ROOT, SHARDS
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
    key = Key(ROOT, CORE, "shards", "", name)
    with transaction.atomic():
        current = backend.get(key, for_update=True)
        if current is None:
            raise errors.Conflict(f'shard "{name}" vanished while registering')
        if current.get("spec") == spec:
            return current
        new = copy.deepcopy(current)
        new["spec"] = spec
        return backend.update(key, new, prev_labels=current["metadata"].get("labels") or {})


def shard_choose(*, cluster: str) -> str:
    """The shard a new logical cluster under `cluster` goes to. One shard per deployment today
    (DESIGN: placement goes through this function so a multi-shard scheduler replaces only it):
    this process's own shard."""
    return str(getattr(settings, "KCP_SHARD_NAME", ROOT))


def shard_virtual_workspace_url(*, name: str) -> str:
    url = ShardRow.objects.filter(cluster=ROOT, name=name).values_list("virtual_workspace_url", flat=True).first()
    return str(url or settings.KCP_EXTERNAL_URL)
