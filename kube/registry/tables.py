"""What the apps may know of the tables behind the registry: every table that holds objects
(scans across kinds: a workspace's content, claimed objects) and model columns for the few
statements written by hand on hot paths. Tables are declared on ResourceInfo (`table`,
`promoted`), never registered with storage by the apps."""

from __future__ import annotations

from django.db.models import Model

from kube.storage import backend
from kube.storage.models import KubeObject


def storage_models() -> list[type[KubeObject]]:
    """Every table objects are stored in (the shared one first)."""
    return backend.all_models()


def column_name(model: type[Model], name: str) -> str:
    """The database column of `model`'s field `name` (for SQL written by hand)."""
    return backend.column_name(model, name)


def ensure_storage_ready() -> None:
    """The revision counter's row exists (bootstrap of a shard; idempotent)."""
    backend.ensure_revision_row()


def set_cluster_annotation(key: str) -> None:
    """Every object stored from now on carries its logical cluster's name in annotation `key`,
    written by storage with the object (kcp's `kcp.io/cluster`)."""
    backend.CLUSTER_ANNOTATION = key
