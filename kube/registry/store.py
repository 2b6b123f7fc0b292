"""The generic Store: Kubernetes object semantics on top of `kube.storage`, parametrised by a
ResourceInfo and its Strategy (as the apiserver's `genericregistry.Store`).

Contract: every mutation runs in one transaction that locks the target row, applies the kind's
strategy, validation and managedFields bookkeeping, and writes through `kube.storage.backend`,
which assigns the revision and appends the event. dryRun runs everything but the write.
Side effects (controllers) are enqueued with `transaction.on_commit` only.
"""

from __future__ import annotations

import builtins
import copy
import functools
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction

from kube import errors, meta_validation
from kube.patch import apply as ssa
from kube.patch.json_patch import apply_json_patch
from kube.patch.merge import apply_merge_patch
from kube.patch.strategic import apply_strategic_merge_patch
from kube.storage import backend
from kube.storage.backend import Key, ListResult, ListScope
from kube.storage.signature import signatures_pinned
from kube.timefmt import now_rfc3339

from .context import RequestContext
from .reserved import reserved_metadata_check
from .resources import REGISTRY, ResourceInfo

Obj = dict[str, Any]

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY)

_SERVER_OWNED_ON_CREATE = (
    "uid",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generation",
)

#: Hooks run after commit when objects of a (group, resource) change: fn(cluster, obj, event_type).
_after_commit_hooks: dict[tuple[str, str], list[Callable[[str, Obj, str], None]]] = {}


def on_change(group: str, resource: str, fn: Callable[[str, Obj, str], None]) -> None:
    """Register a controller trigger; it runs after the transaction commits (never on dry runs)."""
    _after_commit_hooks.setdefault((group, resource), []).append(fn)


#: Mutating admission across kinds, run inside the write transaction after the kind's own `admit`:
#: fn(info, ctx, new, old) (old is None on create). kcp's claim labelling is one.
_admission_hooks: list[Callable[[ResourceInfo, RequestContext, Obj, Obj | None], None]] = []


def on_admission(fn: Callable[[ResourceInfo, RequestContext, Obj, Obj | None], None]) -> None:
    _admission_hooks.append(fn)


def _admit(info: ResourceInfo, ctx: RequestContext, new: Obj, old: Obj | None) -> None:
    """The kind's admission, the cross-kind hooks, then the request's write guard: last, so it
    judges the object exactly as it will be written (e.g. with the labels admission gave it)."""
    info.strategy.admit(new, old, ctx=ctx)
    for fn in _admission_hooks:
        fn(info, ctx, new, old)
    if ctx.write_guard is not None:
        ctx.write_guard(old, new)


def _schedule_hooks(info: ResourceInfo, cluster: str, obj: Obj, event_type: str) -> None:
    for fn in _after_commit_hooks.get((info.group, info.resource), []):
        snapshot = copy.deepcopy(obj)
        # robust: a broker outage must not fail a committed write; the periodic resync redoes the work.
        transaction.on_commit(functools.partial(fn, cluster, snapshot, event_type), robust=True)


def _key(info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Key:
    return Key(ctx.cluster, info.storage_group, info.storage_resource, namespace if info.namespaced else "", name)


def _meta(obj: Obj) -> Obj:
    md = obj.get("metadata")
    if md is None:
        md = obj["metadata"] = {}
    if not isinstance(md, dict):
        raise errors.BadRequest("metadata must be an object")
    return md


def _guard_metadata(info: ResourceInfo, ctx: RequestContext, new: Obj, old: Obj | None) -> None:
    """What the client asked for (`new`, before any strategy or admission hook touched it) against
    the stored object (`old`, None on create): the server's cluster annotation overwrites whatever
    the client sent for it (clients echo it back from a GET; it is never trusted), reserved
    metadata is refused to non-privileged identities (kube.registry.reserved), and on create the
    server's own labels (`ctx.server_labels`) are added — after the check, so they do not count
    as the client's."""
    md = _meta(new)
    stamp = backend.CLUSTER_ANNOTATION
    if stamp:
        annotations = md.get("annotations")
        if isinstance(annotations, dict):
            annotations[stamp] = ctx.cluster
        elif annotations is None:
            md["annotations"] = {stamp: ctx.cluster}
    reserved_metadata_check(info=info, ctx=ctx, new=new, old=old, exempt_annotation=stamp)
    if old is None and ctx.server_labels:
        labels = md.get("labels")
        if labels is None:
            labels = md["labels"] = {}
        if isinstance(labels, dict):
            for key, value in ctx.server_labels.items():
                labels.setdefault(key, value)


class Store:
    # --- reads ------------------------------------------------------------------------------------
    def get(self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Obj:
        obj = backend.get(_key(info, ctx, namespace, name))
        if obj is None:
            raise errors.not_found(info.resource, name, info.group)
        return self._out(info, obj)

    def list(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        *,
        label_q: Any = None,
        field_q: Any = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        scope = ListScope(ctx.cluster, info.storage_group, info.storage_resource, namespace if info.namespaced else "")
        result = backend.list_objects(
            scope, label_q=label_q, field_q=field_q, limit=limit, continue_token=continue_token
        )
        result.items = [self._out(info, o) for o in result.items]
        return result

    def output(self, info: ResourceInfo, obj: Obj) -> Obj:
        """A stored body as `info`'s version shows it (watch streams use this too)."""
        return self._out(info, obj)

    def _out(self, info: ResourceInfo, obj: Obj) -> Obj:
        """Stored bodies are kept at the served version; a later version of a kind rewrites apiVersion;
        a version with another shape converts."""
        if info.conversion is not None:
            return info.conversion.from_storage(obj)
        if obj.get("apiVersion") != info.group_version:
            obj = dict(obj)
            obj["apiVersion"] = info.group_version
        return obj

    # --- create -----------------------------------------------------------------------------------
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

    def _check_size(self, info: ResourceInfo, obj: Obj) -> None:
        try:
            size = len(orjson.dumps(obj))
        except TypeError:  # an integer beyond 64 bits (YAML or embedded JSON can hold one)
            size = len(json.dumps(obj))
        if size > settings.KUBE_MAX_OBJECT_BYTES:
            md = obj.get("metadata", {})
            raise errors.invalid(
                info.kind,
                md.get("name", ""),
                [
                    errors.Cause(
                        "FieldValueTooLong",
                        f"Too long: object is {size} bytes, must have at most {settings.KUBE_MAX_OBJECT_BYTES} bytes",
                        "",
                    )
                ],
                info.group,
            )

    # --- decoding and field validation ----------------------------------------------------------------
    def _decode(
        self, info: ResourceInfo, ctx: RequestContext, body: Any, namespace: str, name: str | None = None
    ) -> Obj:
        """Check kind/apiVersion/namespace/name against the URL and apply fieldValidation."""
        if not isinstance(body, dict):
            raise errors.BadRequest(f"the body of the request must be a {info.kind} object")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion") or info.group_version
        kind = obj.get("kind") or info.kind
        if kind != info.kind or api_version != info.group_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({info.group_version})"
                if api_version != info.group_version
                else f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        obj["apiVersion"], obj["kind"] = api_version, kind
        md = _meta(obj)
        if info.namespaced:
            if md.get("namespace") and md["namespace"] != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if name is not None and md.get("name") and md["name"] != name:
            raise errors.BadRequest(
                f"the name of the object ({md['name']}) does not match the name on the URL ({name})"
            )
        if name is not None:
            md["name"] = name
        # Already too large to store: refused before the work proportional to its size (managed
        # fields, validation of every list item) that could only end in the same answer.
        self._check_size(info, obj)
        obj = self._field_validation(info, ctx, obj)
        return info.conversion.to_storage(obj) if info.conversion is not None else obj

    def _field_validation(self, info: ResourceInfo, ctx: RequestContext, obj: Obj) -> Obj:
        return info.strategy.decode_fields(obj, info=info, ctx=ctx)

    # --- update -----------------------------------------------------------------------------------
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

    # --- controllers: reads by key, guaranteed updates ----------------------------------------------
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

    # --- patch ------------------------------------------------------------------------------------
    def patch(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        name: str,
        patch_type: str,
        patch: Any,
        *,
        force: bool = False,
        subresource: str = "",
    ) -> tuple[Obj, bool]:
        """Returns (object, created); only server-side apply creates."""
        if patch_type == PATCH_STRATEGIC and not info.strategy.allow_strategic_merge_patch:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                f"{PATCH_JSON}, {PATCH_MERGE}, {PATCH_APPLY}"
            )
        if patch_type not in PATCH_TYPES:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(t for t in PATCH_TYPES if t != PATCH_STRATEGIC or info.strategy.allow_strategic_merge_patch)
            )
        if patch_type == PATCH_APPLY:
            if not ctx.field_manager:
                raise _invalid_patch_options("FieldValueRequired", "Required value: is required for apply patch",
                                             "fieldManager")
            return self._apply(info, ctx, namespace, name, patch, force=force, subresource=subresource)
        if force:
            raise _invalid_patch_options("FieldValueForbidden", "Forbidden: may not be specified for non-apply patch",
                                         "force")
        with transaction.atomic():
            old = self._locked(info, ctx, namespace, name)
            current = self._out(info, copy.deepcopy(old))  # patches apply to the version addressed
            if patch_type == PATCH_JSON:
                patched = apply_json_patch(current, patch)
            elif patch_type == PATCH_MERGE:
                patched = apply_merge_patch(current, patch)
            else:
                patched = apply_strategic_merge_patch(current, patch, info.schema())
            if not isinstance(patched, dict):
                raise errors.BadRequest("the patch result is not an object")
            patched_rv = _meta(patched).get("resourceVersion")
            if patched_rv and patched_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(info.resource, name, info.group)
            new = self._decode(info, ctx, patched, namespace, name)
            return self._commit_update(info, ctx, old, new, subresource=subresource, operation="Update"), False

    def _apply(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        name: str,
        patch: Any,
        *,
        force: bool,
        subresource: str,
    ) -> tuple[Obj, bool]:
        version = patch.get("apiVersion") if isinstance(patch, dict) else None
        if isinstance(patch, dict) and version != info.group_version:
            # Before decoding, as kube's field manager does: an apply patch names the version it
            # was written for, and a missing one is not taken to mean the endpoint's.
            raise errors.BadRequest(
                "Incorrect version specified in apply patch. Specified patch version: "
                f"{version if isinstance(version, str) else ''}, expected: {info.group_version}"
            )
        applied = self._decode(info, ctx, patch, namespace, name)
        if "managedFields" in applied["metadata"]:
            raise errors.BadRequest("metadata.managedFields must be nil")
        now = now_rfc3339()
        with transaction.atomic():
            old = backend.get(_key(info, ctx, namespace, name), for_update=True)
            rv = applied["metadata"].get("resourceVersion")
            if old is None and rv:
                raise errors.not_found(info.resource, name, info.group)
            if old is not None and rv and rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(info.resource, name, info.group)
            new = ssa.server_side_apply(
                copy.deepcopy(old) if old is not None else None,
                applied,
                manager=ctx.field_manager,
                api_version=info.group_version,
                force=force,
                schema=info.schema(),
                now=now,
                subresource=subresource,
            )
            if old is None:
                _guard_metadata(info, ctx, new, None)
                self._prepare_new(info, new, now)
                return self._insert(info, ctx, new), True
            return self._commit_update(
                info, ctx, old, new, subresource=subresource, operation="Apply", managed_done=True
            ), False

    # --- delete -----------------------------------------------------------------------------------
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


def _invalid_patch_options(cause_type: str, message: str, field: str) -> errors.Invalid:
    """422 on PatchOptions.meta.k8s.io, as kube-apiserver's patch handler answers invalid options."""
    return errors.invalid("PatchOptions", "", [errors.Cause(cause_type, message, field)], "meta.k8s.io")


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


def _is_key_violation(e: IntegrityError) -> bool:
    """Whether a unique violation is of the object's key (cluster, group, resource, namespace,
    name: the tables' `<table>_key` constraints) rather than of a kind's own unique column."""
    constraint = getattr(getattr(e.__cause__, "diag", None), "constraint_name", None) or ""
    return not constraint or constraint.endswith("_key")


def _unique_conflict(info: ResourceInfo, name: str) -> errors.Conflict:
    """A kind's unique column (a promoted column such as a LogicalCluster's path) already holds
    the value this write would give it in another object: 409, nothing written."""
    return errors.conflict(
        info.resource, name, info.group, "another object already holds a value this object must hold alone"
    )


def _random_suffix() -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from managedFields timestamps: such a write changes nothing and is skipped."""

    def strip(o: Obj) -> Obj:
        o = dict(o)
        md = dict(o.get("metadata", {}))
        mf = md.pop("managedFields", None)
        md["managedFields"] = [{k: v for k, v in e.items() if k != "time"} for e in mf or []]
        o["metadata"] = md
        return o

    return strip(a) == strip(b)


STORE = Store()
__all__ = ["STORE", "Store", "REGISTRY", "on_change", "PATCH_TYPES"]
