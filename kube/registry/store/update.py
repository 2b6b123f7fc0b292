"""Update: PUT, and the shared tail of every update (PUT, patch, apply, system writes)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from kube import errors, meta_validation
from kube.patch import apply as ssa
from kube.storage import backend
from kube.timefmt import now_rfc3339

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _guard_metadata, _key, _meta, _same, _unique_conflict
from .decoding import Decoding
from .hooks import _admit, _schedule_hooks
from .reads import Reads


class Updates(Reads, Decoding):
    """PUT, and `_commit_update`, the tail every update (patch, apply, system writes) shares."""

    def update(
        self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str, body: Any, *, subresource: str = ""
    ) -> Obj:
        new = self._decode(info, ctx, body, namespace, name)
        with transaction.atomic():
            old = self._locked(info, ctx, namespace, name)
            rv = new["metadata"].get("resourceVersion")
            if not rv:
                if not info.strategy.allow_unconditional_update:
                    raise errors.invalid(
                        info.kind,
                        name,
                        [
                            errors.Cause(
                                "FieldValueInvalid",
                                "Invalid value: 0x0: must be specified for an update",
                                "metadata.resourceVersion",
                            )
                        ],
                        info.group,
                    )
            elif rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(info.resource, name, info.group)
            return self._commit_update(info, ctx, old, new, subresource=subresource, operation="Update")

    def _locked(self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Obj:
        old = backend.get(_key(info, ctx, namespace, name), for_update=True)
        if old is None:
            raise errors.not_found(info.resource, name, info.group)
        return old

    def _commit_update(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        old: Obj,
        new: Obj,
        *,
        subresource: str,
        operation: str,
        managed_done: bool = False,
        hooks: bool = True,
        prepare: bool = True,
    ) -> Obj:
        """Shared tail of update and patch: reserved metadata, strategy, metadata rules,
        generation, managedFields, validation, no-op detection, finalizer-driven removal, write.
        `hooks=False` leaves the controller triggers out; `prepare=False` skips the strategy's
        `prepare_for_update` (system writes of fields it protects from clients)."""
        _guard_metadata(info, ctx, new, old)
        md, old_md = _meta(new), old["metadata"]
        uid = md.get("uid")
        if uid and uid != old_md.get("uid"):
            raise errors.conflict(
                info.resource,
                old_md["name"],
                info.group,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old_md.get('uid')}",
            )
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if k in old_md:
                md[k] = old_md[k]
            else:
                md.pop(k, None)
        md["resourceVersion"] = old_md.get("resourceVersion")
        if subresource == "status":
            info.strategy.prepare_for_status_update(new, old)
            md = new["metadata"]
        elif prepare:
            info.strategy.prepare_for_update(new, old)
        if info.strategy.tracks_generation and info.strategy.spec_changed(new, old):
            md["generation"] = int(old_md.get("generation") or 0) + 1
        if not managed_done:
            managed = ssa.update_managed_fields(
                old,
                new,
                manager=ctx.field_manager,
                operation=operation,
                api_version=info.group_version,
                schema=info.schema(),
                now=now_rfc3339(),
                subresource=subresource,
            )
            if managed:
                md["managedFields"] = managed
            else:
                md.pop("managedFields", None)
        _admit(info, ctx, new, old)
        errs = meta_validation.validate_object_meta(
            md,
            namespaced=info.namespaced,
            name_is_label=info.strategy.name_is_dns_label,
            qualified_finalizers=info.strategy.qualified_finalizers,
            name_is_path_segment=info.strategy.name_is_path_segment,
        )
        errs.extend(
            meta_validation.validate_object_meta_update(
                md, old_md, qualified_finalizers=info.strategy.qualified_finalizers
            )
        )
        errs.extend(info.strategy.validate_update(new, old))
        errs.raise_invalid(info.kind, old_md["name"], info.group)
        self._check_size(info, new)
        if _same(new, old):
            return self._out(info, old)
        if ctx.dry_run:
            return self._out(info, new)
        key = _key(info, ctx, old_md.get("namespace", ""), old_md["name"])
        try:
            if md.get("deletionTimestamp") and not info.strategy.deletion_held(new):
                stored = backend.delete(key, new)
                if hooks:
                    _schedule_hooks(info, ctx.cluster, stored, "DELETED")
            else:
                stored = backend.update(key, new, prev_labels=old_md.get("labels") or {})
                if hooks:
                    _schedule_hooks(info, ctx.cluster, stored, "MODIFIED")
        except IntegrityError:  # the caller's transaction.atomic rolls the write back
            raise _unique_conflict(info, old_md["name"]) from None
        return self._out(info, stored)
