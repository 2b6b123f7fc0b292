"""APIBinding admission: creating a binding needs `bind` on the export in the export's
workspace (kcp's delegated SubjectAccessReview); every write keeps the export label the
provider's view lists bindings by."""

from __future__ import annotations

from typing import Any

from kube import errors
from kube.authz.authorizer import authorize, effective_user
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry.context import RequestContext
from kube.registry.strategy import field

from .names import GROUP, export_label
from .remote import export_cluster_resolve

Obj = dict[str, Any]


def export_cluster_for(*, consumer: str, path: str) -> str | None:
    """The logical cluster of `spec.reference.export.path` (empty: the consumer itself), on any
    shard (the directory resolves a path this shard does not hold)."""
    if not path:
        return consumer
    return export_cluster_resolve(path=path)


def apibinding_admit(*, binding: Obj, old: Obj | None, ctx: RequestContext) -> None:
    """Creating a binding needs `bind` on the export in the export's workspace (403 in kcp's words
    otherwise, the same whether or not the export exists); every write keeps the export label."""
    if old is not None and _same_spec_and_labels(binding, old):
        return  # a status or finalizer write: the previous write's admission stands
    ref = field(binding, "spec", "reference", "export") or {}
    if not isinstance(ref, dict) or not ref.get("name"):
        return  # validation reports it
    path, name = str(ref.get("path") or ""), str(ref["name"])
    export_cluster = export_cluster_for(consumer=ctx.cluster, path=path)
    if old is None:
        apibinding_bind_check(user=ctx.user, export_cluster=export_cluster, export_path=path, export_name=name)
    if export_cluster:
        labels = binding.setdefault("metadata", {}).setdefault("labels", {})
        if isinstance(labels, dict):
            labels[export_label(export_cluster=export_cluster, export_name=name)] = ""


def apibinding_bind_check(*, user: UserInfo, export_cluster: str | None, export_path: str, export_name: str) -> None:
    if user.is_admin:
        return
    message = f'unable to create APIBinding: no permission to bind to export "{export_path or "."}:{export_name}"'
    if export_cluster is None:
        raise errors.Forbidden(message, kind="apibindings", group=GROUP)
    actor = effective_user(user, export_cluster)
    try:
        authorize(
            actor,
            export_cluster,
            Attributes.for_resource(actor, "bind", "apiexports", api_group=GROUP, name=export_name),
            replicated=True,  # the export's workspace may be on another shard: its replicated RBAC
        )
    except errors.Forbidden:
        raise errors.Forbidden(message, kind="apibindings", group=GROUP) from None


def _same_spec_and_labels(new: Obj, old: Obj) -> bool:
    """Whether a write leaves spec and labels as they are (the export label was set then)."""
    return new.get("spec") == old.get("spec") and (new.get("metadata") or {}).get("labels") == (
        old.get("metadata") or {}
    ).get("labels")
