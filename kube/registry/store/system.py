"""The system's own writes (controllers, reconcilers): reads by key, the apiserver's
GuaranteedUpdate, writes over a row the caller locked, and label-only writes by storage key."""

from __future__ import annotations

import copy
from collections.abc import Callable

from django.db import transaction

from kube import meta_validation
from kube.storage import backend
from kube.storage.backend import Key

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj
from .update import Updates


class SystemWrites(Updates):
    """Writes by controllers and reconcilers: no client body, explicit flags for hooks and prepare."""

    def lookup(
        self, info: ResourceInfo, *, cluster: str, namespace: str = "", name: str, for_update: bool = False
    ) -> Obj | None:
        """The stored object, or None: a controller's read, without a request. `for_update` locks
        the row until the caller's transaction ends (then pass it to `update_locked`). Returned in
        the stored shape (the storage version), as `guaranteed_update` hands it to its mutate."""
        key = Key(cluster, info.storage_group, info.storage_resource, namespace if info.namespaced else "", name)
        return backend.get(key, for_update=for_update)

    def guaranteed_update(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        name: str,
        mutate: Callable[[Obj], None],
        *,
        current: Obj | None = None,
        subresource: str = "",
        hooks: bool = True,
        managed_fields: bool = True,
        prepare: bool = True,
    ) -> Obj | None:
        """The apiserver's GuaranteedUpdate: `mutate` changes a copy of the stored object in place
        (it may read, but must not write); when it changed nothing, nothing is locked or written.
        Otherwise, in one transaction, the row is locked and, if it is still at the
        resourceVersion `mutate` saw, the change is written as an update (strategy, admission,
        validation, managedFields, finalizer-driven removal). If another writer came between,
        `mutate` runs again on the locked row and that result is written: a conflict costs one
        more mutate, never a lost write, and contention cannot starve a writer (an optimistic
        retry loop can: under four writers hammering one row, eight retries were not enough).

        `current`: the object as the caller already read it (spares a read; a stale one only
        costs the second mutate). Returns the object written (or, unchanged, the one stored);
        None when there is no such object. `subresource="status"` writes only the status.
        `hooks`, `prepare`: as for `update_locked`; `managed_fields=False` leaves managedFields
        as they are (system writes on hot paths). Inside a caller's transaction no savepoint is
        taken (a failure fails the caller's transaction)."""
        seen = current
        if seen is None:
            seen = self.lookup(info, cluster=ctx.cluster, namespace=namespace, name=name)
            if seen is None:
                return None
        desired = copy.deepcopy(seen)
        mutate(desired)
        if desired == seen:
            return self._out(info, seen)
        with transaction.atomic(savepoint=False):
            old = self.lookup(info, cluster=ctx.cluster, namespace=namespace, name=name, for_update=True)
            if old is None:
                return None
            if old["metadata"].get("resourceVersion") != seen["metadata"].get("resourceVersion"):
                desired = copy.deepcopy(old)  # another writer came between: mutate what is stored now
                mutate(desired)
                if desired == old:
                    return self._out(info, old)
            return self.update_locked(
                info,
                ctx,
                old,
                desired,
                subresource=subresource,
                hooks=hooks,
                managed_fields=managed_fields,
                prepare=prepare,
            )

    def update_locked(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        old: Obj,
        new: Obj,
        *,
        subresource: str = "",
        hooks: bool = True,
        managed_fields: bool = True,
        prepare: bool = True,
    ) -> Obj:
        """Write `new` over `old`, which the caller read with `lookup(for_update=True)` in its
        still open transaction: the update path of a PUT without the decoding (both are stored
        shapes). `hooks=False` leaves the kind's controller triggers out (a controller writing
        what it will not react to); `prepare=False` skips the strategy's `prepare_for_update`,
        which keeps system-set fields (a Workspace's spec.cluster) from clients: for the system
        writing those fields."""
        assert transaction.get_connection().in_atomic_block, "update_locked needs the caller's transaction"
        return self._commit_update(
            info,
            ctx,
            old,
            copy.deepcopy(new),
            subresource=subresource,
            operation="Update",
            managed_done=not managed_fields,
            hooks=hooks,
            prepare=prepare,
        )

    def relabel(
        self, *, cluster: str, group: str, resource: str, namespace: str, name: str, labels: Callable[[Obj], Obj]
    ) -> bool:
        """A system write of metadata.labels alone on any stored object, by storage key (claimed
        objects of any kind, including kinds no longer served): the row locked, `labels(current
        labels)` gives the new ones, metadata validated, written when they differ, no controller
        hooks. No strategy runs: the rest of the object is the stored one, and a label change the
        system must make (taking a provider's access away) must not fail on an object that
        predates today's validation. Returns whether it wrote."""
        key = Key(cluster, group, resource, namespace, name)
        with transaction.atomic():
            current = backend.get(key, for_update=True)
            if current is None:
                return False
            old_labels = current["metadata"].get("labels") or {}
            wanted = labels(dict(old_labels))
            if wanted == old_labels:
                return False
            new = copy.deepcopy(current)
            if wanted:
                new["metadata"]["labels"] = wanted
            else:
                new["metadata"].pop("labels", None)
            meta_validation.validate_labels(wanted).raise_invalid(resource, name, group)
            backend.update(key, new, prev_labels=old_labels)
            return True
