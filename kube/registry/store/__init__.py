"""The generic Store: Kubernetes object semantics on top of `kube.storage`, parametrised by a
ResourceInfo and its Strategy (as the apiserver's `genericregistry.Store`).

Contract: every mutation runs in one transaction that locks the target row, applies the kind's
strategy, validation and managedFields bookkeeping, and writes through `kube.storage.backend`,
which assigns the revision and appends the event. dryRun runs everything but the write.
Side effects (controllers) are enqueued with `transaction.on_commit` only.

One `Store` object, written in sections (one module each, each class building on the ones it
uses): `reads` (get, list, output conversion), `decoding` (a client's body checked against the
URL, fieldValidation, the size limit), `create`, `update` (PUT and the tail every update shares),
`system` (the system's writes: `lookup`, `guaranteed_update`, `update_locked`, `relabel`),
`patch` (the four patch types, server-side apply), `delete`; `hooks` holds the controller
triggers (`on_change`) and cross-kind admission (`on_admission`), `common` what they share.
The hook registries are re-exported (with `as`) for the benchmark seeder, which silences some.
"""

from __future__ import annotations

from ..resources import REGISTRY
from .delete import Deletes
from .hooks import _admission_hooks as _admission_hooks
from .hooks import _after_commit_hooks as _after_commit_hooks
from .hooks import on_admission, on_change
from .patch import PATCH_APPLY, PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_TYPES, Patches
from .system import SystemWrites


class Store(Patches, SystemWrites, Deletes):
    """Every verb of the generic registry: the sections' classes together (their bases, `Reads`,
    `Decoding`, `Creates` and `Updates`, come in through them)."""


STORE = Store()
__all__ = [
    "STORE",
    "Store",
    "REGISTRY",
    "on_change",
    "on_admission",
    "PATCH_JSON",
    "PATCH_MERGE",
    "PATCH_STRATEGIC",
    "PATCH_APPLY",
    "PATCH_TYPES",
]
