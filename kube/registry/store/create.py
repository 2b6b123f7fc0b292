"""Create: POST, server-side apply's create, and the two-phase creates (`prepare_creates`,
`write_prepared`) for a caller writing several objects in one transaction."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from kube import errors, meta_validation
from kube.patch import apply as ssa
from kube.storage import backend
from kube.storage.backend import Key
from kube.storage.signature import signatures_pinned
from kube.timefmt import now_rfc3339

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _guard_metadata, _is_key_violation, _key, _meta, _random_suffix, _unique_conflict
from .decoding import Decoding
from .hooks import _admit, _schedule_hooks
from .reads import Reads

_SERVER_OWNED_ON_CREATE = (
    "uid",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generation",
)


class Creates(Reads, Decoding):
    """POST and the system's creates; every new object passes `_new_object` and `_validate_create`."""

    def create(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        body: Obj,
        *,
        hooks: bool = True,
        keep_status: bool = False,
        managed_fields: bool = True,
    ) -> Obj:
        """POST. The keyword flags are for the system's own creates (controllers, bootstrap), never
        a client's: `hooks=False` leaves the kind's controller triggers out; `keep_status=True`
        writes the status the body carries (a kind whose status the system sets with the object,
        e.g. a LogicalCluster created Initializing) where the strategy would drop it;
        `managed_fields=False` records no managedFields (a system object nobody applies)."""
        obj = self._new_object(info, ctx, namespace, body, keep_status=keep_status, managed_fields=managed_fields)
        return self._insert(info, ctx, obj, hooks=hooks)

    def prepare_creates(
        self,
        ctx: RequestContext,
        items: Sequence[tuple[ResourceInfo, str, Obj]],
        *,
        keep_status: bool = False,
        managed_fields: bool = True,
    ) -> builtins.list[tuple[ResourceInfo, Obj]]:
        """The first half of creating several objects in the caller's transaction, all or nothing:
        every `(info, namespace, body)` decoded, defaulted, validated and admitted; nothing written.
        `write_prepared` writes them. Split so that a caller can do all its Python work before its
        first write: each write takes the revision counter's row lock, held until commit. Not for
        dry runs. `keep_status`, `managed_fields`: as for `create`."""
        assert transaction.get_connection().in_atomic_block, "prepare_creates needs the caller's transaction"
        prepared: builtins.list[tuple[ResourceInfo, Obj]] = []
        for info, namespace, body in items:
            obj = self._new_object(info, ctx, namespace, body, keep_status=keep_status, managed_fields=managed_fields)
            md = obj["metadata"]
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + _random_suffix()
            self._validate_create(info, obj)
            prepared.append((info, obj))
        created_namespaces = {
            obj["metadata"]["name"] for info, obj in prepared if (info.group, info.resource) == ("", "namespaces")
        }
        with signatures_pinned():  # nothing is written until every object is admitted
            for info, obj in prepared:
                namespace_created = obj["metadata"].get("namespace", "") in created_namespaces
                self._admit_new(info, ctx, obj, check_namespace=not namespace_created)
        return prepared

    def write_prepared(
        self,
        ctx: RequestContext,
        prepared: Sequence[tuple[ResourceInfo, Obj]],
        *,
        after_commit_hooks: bool = True,
    ) -> builtins.list[Obj]:
        """The second half: write what `prepare_creates` returned, back to back. An existing name
        raises AlreadyExists (the caller's transaction must then roll back).
        `after_commit_hooks=False` leaves the kinds' controller triggers out, for a caller that
        does their work in the same transaction."""
        assert transaction.get_connection().in_atomic_block, "write_prepared needs the caller's transaction"
        stored_all: builtins.list[tuple[ResourceInfo, Obj]] = []
        for info, obj in prepared:
            try:
                stored = self._store_new(info, ctx, obj, hooks=after_commit_hooks)
            except IntegrityError:
                raise errors.already_exists(info.resource, obj["metadata"]["name"], info.group) from None
            stored_all.append((info, stored))
        return [self._out(info, stored) for info, stored in stored_all]

    def _admit_new(self, info: ResourceInfo, ctx: RequestContext, obj: Obj, *, check_namespace: bool = True) -> None:
        """Checks a validated new object passes before it is written: its namespace exists and is
        not terminating (unless the caller creates it too), then admission."""
        if info.namespaced and check_namespace:
            self._check_namespace_open(info, ctx, obj)
        _admit(info, ctx, obj, None)

    def _store_new(self, info: ResourceInfo, ctx: RequestContext, obj: Obj, *, hooks: bool = True) -> Obj:
        """Write an admitted new object (IntegrityError when its key is taken) and, unless told
        not to, enqueue its kind's controller hooks after commit."""
        md = obj["metadata"]
        stored = backend.create(_key(info, ctx, md.get("namespace", ""), md["name"]), obj)
        if hooks:
            _schedule_hooks(info, ctx.cluster, stored, "ADDED")
        return stored

    def _new_object(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        body: Obj,
        *,
        keep_status: bool = False,
        managed_fields: bool = True,
    ) -> Obj:
        """A create's body decoded and given what every new object gets (not yet validated)."""
        obj = self._decode(info, ctx, body, namespace)
        md = _meta(obj)
        if md.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created")
        _guard_metadata(info, ctx, obj, None)
        now = now_rfc3339()
        status = obj.get("status") if keep_status else None
        self._prepare_new(info, obj, now)
        if status is not None:
            obj["status"] = status
        if not managed_fields:
            md.pop("managedFields", None)
            return obj
        md["managedFields"] = ssa.update_managed_fields(
            None,
            obj,
            manager=ctx.field_manager,
            operation="Update",
            api_version=info.group_version,
            schema=info.schema(),
            now=now,
        )
        if not md["managedFields"]:
            md.pop("managedFields")
        return obj

    @staticmethod
    def _prepare_new(info: ResourceInfo, obj: Obj, now: str) -> None:
        """What every new object gets, whether POSTed or created by server-side apply."""
        md = _meta(obj)
        for k in _SERVER_OWNED_ON_CREATE:
            md.pop(k, None)
        md["creationTimestamp"] = now
        info.strategy.prepare_for_create(obj)
        if info.strategy.tracks_generation:
            md["generation"] = 1

    def _insert(self, info: ResourceInfo, ctx: RequestContext, obj: Obj, *, hooks: bool = True) -> Obj:
        md = obj["metadata"]
        generated = not md.get("name") and md.get("generateName")
        if generated:
            md["name"] = md["generateName"] + _random_suffix()
        self._validate_create(info, obj)
        namespace = md.get("namespace", "")
        for attempt in range(8):
            try:
                with transaction.atomic():
                    # No existence check first: the key's unique constraint answers AlreadyExists
                    # (IntegrityError below, this savepoint rolled back), one query fewer per create.
                    # Admission before the storage conflict is the apiserver's order too.
                    self._admit_new(info, ctx, obj)
                    if ctx.dry_run:
                        if backend.exists(_key(info, ctx, namespace, md["name"])):
                            raise errors.already_exists(info.resource, md["name"], info.group)
                        md.setdefault("uid", "00000000-0000-0000-0000-000000000000")
                        return self._out(info, obj)
                    stored = self._store_new(info, ctx, obj, hooks=hooks)
                # Output conversion after the block: a write holds the revision lock until commit.
                return self._out(info, stored)
            except (errors.AlreadyExists, IntegrityError) as e:
                if isinstance(e, IntegrityError) and not _is_key_violation(e):
                    raise _unique_conflict(info, md["name"]) from None
                if generated and attempt < 7:
                    md["name"] = md["generateName"] + _random_suffix()
                    continue
                raise errors.already_exists(info.resource, md["name"], info.group) from None
        raise errors.already_exists(info.resource, md["name"], info.group)

    def _validate_create(self, info: ResourceInfo, obj: Obj) -> None:
        md = obj["metadata"]
        errs = meta_validation.validate_object_meta(
            md,
            namespaced=info.namespaced,
            name_is_label=info.strategy.name_is_dns_label,
            qualified_finalizers=info.strategy.qualified_finalizers,
            name_is_path_segment=info.strategy.name_is_path_segment,
        )
        errs.extend(info.strategy.validate(obj))
        errs.raise_invalid(info.kind, md.get("name") or md.get("generateName", ""), info.group)
        self._check_size(info, obj)

    def _check_namespace_open(self, info: ResourceInfo, ctx: RequestContext, obj: Obj) -> None:
        """The new object's namespace exists (404) and is not Terminating: then the create is
        403 in the apiserver's NamespaceLifecycle words, with the NamespaceTerminating cause
        clients look for."""
        md = obj["metadata"]
        namespace = md.get("namespace", "")
        ns = backend.get(Key(ctx.cluster, "", "namespaces", "", namespace))
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if ns.get("metadata", {}).get("deletionTimestamp"):
            name = md.get("name") or md.get("generateName") or ""
            raise errors.Forbidden(
                f'{info.qualified} "{name}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
                name=name,
                group=info.group,
                kind=info.resource,
                causes=[
                    errors.Cause(
                        "NamespaceTerminating", f"namespace {namespace} is being terminated", "metadata.namespace"
                    )
                ],
            )
