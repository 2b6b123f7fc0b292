"""Delete: one object (finalizers hold it with a deletionTimestamp) and a collection."""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction

from kube import errors
from kube.storage import backend
from kube.storage.backend import ListResult
from kube.timefmt import now_rfc3339

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _key
from .hooks import _schedule_hooks
from .update import Updates


class Deletes(Updates):
    """DELETE and deletecollection; a kind's finalizers hold an object with a deletionTimestamp."""

    def delete(
        self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str, options: Obj | None = None
    ) -> Obj:
        options = options or {}
        _validate_delete_options(options)
        with transaction.atomic():
            old = self._locked(info, ctx, namespace, name)
            info.strategy.admit_delete(old, ctx=ctx)
            if ctx.write_guard is not None:
                ctx.write_guard(old, None)
            md = old["metadata"]
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != md.get("uid"):
                raise errors.conflict(
                    info.resource,
                    name,
                    info.group,
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {md.get('uid')}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
                raise errors.conflict(
                    info.resource,
                    name,
                    info.group,
                    f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {md.get('resourceVersion')}",
                )
            if md.get("deletionTimestamp"):
                return self._out(info, old)
            new = copy.deepcopy(old)
            info.strategy.prepare_for_delete(new)
            key = _key(info, ctx, md.get("namespace", ""), name)
            if info.strategy.deletion_held(new):
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                if ctx.dry_run:
                    return self._out(info, new)
                stored = backend.update(key, new, prev_labels=md.get("labels") or {})
                _schedule_hooks(info, ctx.cluster, stored, "MODIFIED")
                return self._out(info, stored)
            if ctx.dry_run:
                return self._out(info, old)
            stored = backend.delete(key, old)
            _schedule_hooks(info, ctx.cluster, stored, "DELETED")
            return self._out(info, stored)

    def delete_collection(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        *,
        label_q: Any = None,
        field_q: Any = None,
        options: Obj | None = None,
    ) -> ListResult:
        result = self.list(info, ctx, namespace, label_q=label_q, field_q=field_q)
        deleted = []
        for obj in result.items:
            md = obj["metadata"]
            try:
                deleted.append(self.delete(info, ctx, md.get("namespace", ""), md["name"], options))
            except errors.NotFound:
                continue
        result.items = deleted
        return result


def _validate_delete_options(options: Obj) -> None:
    policy = options.get("propagationPolicy")
    errs = errors.FieldErrors()
    if policy is not None and policy not in ("Foreground", "Background", "Orphan"):
        errs.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])
    if policy is not None and options.get("orphanDependents") is not None:
        errs.invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set")
    grace = options.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        errs.invalid("gracePeriodSeconds", grace, "must be an integer")
    errs.raise_invalid("DeleteOptions", "", "meta.k8s.io")
