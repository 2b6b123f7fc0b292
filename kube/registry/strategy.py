"""Strategies: everything kind-specific about storing an object (as in the Kubernetes apiserver's
`rest.RESTCreateStrategy` family). The generic `Store` calls these hooks; a new kind is a schema
and a Strategy, never new views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kube import errors
from kube.errors import FieldErrors
from kube.schema import prune_unknown, type_errors, unknown_fields

if TYPE_CHECKING:
    from .context import RequestContext
    from .resources import ResourceInfo

Obj = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """A Table column: `cell(obj)` renders the value; type is string|integer|number|boolean|date."""

    name: str
    type: str
    cell: Callable[[Obj], Any]
    format: str = ""
    description: str = ""
    priority: int = 0


class Strategy:
    """Defaults are those of a plain built-in kind such as ConfigMap."""

    #: PUT without metadata.resourceVersion is allowed (built-ins; helm relies on it).
    allow_unconditional_update: bool = True
    #: strategic-merge-patch is accepted (built-ins only; CRs answer 415).
    allow_strategic_merge_patch: bool = True
    #: the kind has a /status subresource: main writes ignore .status, /status writes only it.
    has_status_subresource: bool = False
    #: generation is tracked (bumped on changes outside metadata and status).
    tracks_generation: bool = False
    #: extra field-selector labels beyond metadata.name / metadata.namespace.
    field_labels: tuple[str, ...] = ()
    #: the kind's name is a DNS label (namespaces) rather than a DNS subdomain.
    name_is_dns_label: bool = False
    #: names are any URL path segment (RBAC: `system:kcp:workspace:access`).
    name_is_path_segment: bool = False
    #: the table convertor appends an Age column after the kind's own columns.
    append_age_column: bool = True
    #: finalizers must be qualified names with a `/` (built-ins); custom resources only get a warning.
    qualified_finalizers: bool = True

    def decode_fields(self, obj: Obj, *, info: ResourceInfo, ctx: RequestContext) -> Obj:
        """What decoding into the typed object does upstream: ill-typed values → 400; unknown
        fields → 400 under fieldValidation=Strict, a warning under Warn, and dropped."""
        schema = info.schema()
        if schema is None:
            return obj
        bad_types = type_errors(obj, schema)
        if bad_types:
            raise errors.BadRequest(
                f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: ' + "; ".join(bad_types)
            )
        unknown = unknown_fields(obj, schema)
        if not unknown:
            return obj
        report_unknown_fields(info, ctx, unknown)
        return prune_unknown(obj, schema)

    #: create-only kinds that are answered, never stored (access reviews, SelfSubjectReview).
    virtual: bool = False

    def create_virtual(self, info: ResourceInfo, ctx: RequestContext, body: Any) -> Obj:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")

    def create_subresource(
        self, info: ResourceInfo, ctx: RequestContext, namespace: str, name: str, subresource: str, body: Any
    ) -> Obj:
        """POST to a subresource (serviceaccounts/token)."""
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        """Checks and changes that need the logical cluster (run inside the write transaction)."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset fields clients may not set on create (e.g. status when it is a subresource)."""
        if self.has_status_subresource:
            obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Carry over what a main-resource update may not change."""
        if self.has_status_subresource:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """A /status write changes only .status: everything else comes from the stored object."""
        status = new.get("status")
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        new["metadata"] = dict(old["metadata"])
        if status is not None:
            new["status"] = status

    def admit_delete(self, obj: Obj, *, ctx: RequestContext) -> None:
        """Checks a DELETE of the stored `obj` must pass beyond RBAC (run inside the delete's
        transaction, on the locked row); raise a StatusError to refuse it."""

    def prepare_for_delete(self, obj: Obj) -> None:
        """Changes a DELETE makes besides deletionTimestamp (namespaces turn Terminating)."""

    def deletion_held(self, obj: Obj) -> bool:
        """Whether a deleted object must stay until something clears its finalizers."""
        return bool(obj.get("metadata", {}).get("finalizers"))

    def validate(self, obj: Obj) -> FieldErrors:
        """Kind-specific validation of a new object (metadata is validated generically)."""
        return FieldErrors()

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        return self.validate(new)

    def field_values(self, obj: Obj) -> dict[str, str]:
        """Values of the selectable fields of `obj` for field selectors."""
        md = obj.get("metadata", {})
        out = {"metadata.name": md.get("name", ""), "metadata.namespace": md.get("namespace", "")}
        for label in self.field_labels:
            cur: Any = obj
            for part in label.split("."):
                cur = cur.get(part) if isinstance(cur, dict) else None
            out[label] = "" if cur is None else str(cur)
        return out

    def columns(self) -> list[Column]:
        """Table columns after Name; Age is appended by the table convertor."""
        return []

    def table_columns(self, name: Column, age: Column) -> list[Column]:
        """The Table's columns in order, given the generic Name and Age columns: Name, the kind's
        own columns, then Age unless `append_age_column` is off. Kinds whose kube printer orders
        them otherwise (events, role bindings) override this, so `kubectl get -o wide` shows
        the same columns in the same order as against kube-apiserver."""
        cols = self.columns()
        return [name, *cols, age] if self.append_age_column else [name, *cols]

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Whether generation should be bumped: anything outside metadata and status changed."""
        ignore = {"metadata", "status", "apiVersion", "kind"}
        return {k: v for k, v in new.items() if k not in ignore} != {k: v for k, v in old.items() if k not in ignore}


def report_unknown_fields(info: ResourceInfo, ctx: RequestContext, unknown: list[str]) -> None:
    """fieldValidation: Strict → 400 naming every unknown field; Warn → `Warning` headers; Ignore → nothing."""
    if not unknown:
        return
    if ctx.field_validation == "Strict":
        detail = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.BadRequest(
            f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: '
            f"strict decoding error: {detail}"
        )
    if ctx.field_validation == "Warn":
        for u in unknown:
            ctx.warn(f'unknown field "{u}"')


def field(obj: Obj, *path: str) -> Any:
    """obj[path[0]][path[1]]…, or None where a step is missing or not an object (for columns)."""
    cur: Any = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def ensure_finalizer(obj: Obj, finalizer: str) -> None:
    """Add `finalizer` to metadata.finalizers once (controllers that must run before removal)."""
    md = obj.setdefault("metadata", {})
    finalizers = list(md.get("finalizers") or [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)
    md["finalizers"] = finalizers
