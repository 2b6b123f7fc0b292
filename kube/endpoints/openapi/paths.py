"""The ``paths`` of a document: collection, cluster-wide list, item and subresource operations per
resource, with the parameters, bodies, operation ids and ``x-kubernetes-*`` markers kubectl relies on
(``fieldValidation`` on PATCH, ``x-kubernetes-group-version-kind`` as an object, strategic merge patch
only where the strategy allows it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .kinds import Names
from .schemas import DELETE_OPTIONS, JSON, PATCH, SCHEMA_PREFIX, STATUS

if TYPE_CHECKING:
    from kube.registry.resources import ResourceInfo

__all__ = ["PATCH_TYPES_GENERIC", "STRATEGIC_MERGE_PATCH", "add_resource_paths", "gv_path"]

PATCH_TYPES_GENERIC = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

#: Subresources listed by name in `ResourceInfo.subresources`: verbs and, where it differs from the
#: parent's, the kind served. Names not listed default to the parent kind with get/update/patch.
_SUBRESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {
    "status": (("get", "update", "patch"), None),
    "scale": (("get", "update", "patch"), ("autoscaling", "v1", "Scale")),
    "finalize": (("update",), None),
}
_DEFAULT_SUBRESOURCE_VERBS = ("get", "update", "patch")

#: Kubernetes verb → (HTTP method on the item path, operation-id verb, x-kubernetes-action).
_ITEM_VERBS = {
    "get": ("get", "read", "get"),
    "update": ("put", "replace", "put"),
    "patch": ("patch", "patch", "patch"),
    "delete": ("delete", "delete", "delete"),
    "create": ("post", "create", "post"),
}


def gv_path(group: str, version: str) -> str:
    """The index key and URL tail of a group/version: `api/v1` for core, else `apis/<g>/<v>`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _param(name: str, typ: str, description: str) -> JSON:
    return {"name": name, "in": "query", "description": description, "schema": {"type": typ, "uniqueItems": True}}


_P = {
    "allowWatchBookmarks": _param(
        "allowWatchBookmarks", "boolean", 'allowWatchBookmarks requests watch events with type "BOOKMARK".'
    ),
    "continue": _param("continue", "string", "The continue token of a previous paginated list response."),
    "dryRun": _param(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run "
        "stages will be processed",
    ),
    "fieldManager": _param(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. It is required "
        "for apply requests (application/apply-patch).",
    ),
    "fieldSelector": _param("fieldSelector", "string", "A selector to restrict the returned objects by their fields."),
    "fieldValidation": _param(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
        "unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) - Strict: fail the request "
        "with a BadRequest error listing the unknown and duplicate fields.",
    ),
    "force": _param(
        "force",
        "boolean",
        'Force is going to "force" Apply requests: re-acquire conflicting fields owned by other managers. It must '
        "be unset for non-apply patch requests.",
    ),
    "gracePeriodSeconds": _param(
        "gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."
    ),
    "labelSelector": _param("labelSelector", "string", "A selector to restrict the returned objects by their labels."),
    "limit": _param("limit", "integer", "The maximum number of responses to return for a list call."),
    "propagationPolicy": _param(
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
    ),
    "resourceVersion": _param(
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    "resourceVersionMatch": _param(
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    "sendInitialEvents": _param(
        "sendInitialEvents",
        "boolean",
        "With watch=true, begin the stream with synthetic events for the current state, ended by a bookmark "
        'annotated "k8s.io/initial-events-end".',
    ),
    "timeoutSeconds": _param("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    "watch": _param("watch", "boolean", "Watch for changes to the described resources and return them as a stream."),
}

_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_DELETE_COLLECTION_PARAMS = (
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
)

_PATH_NAME = {
    "name": "name",
    "in": "path",
    "description": "name of the object",
    "required": True,
    "schema": {"type": "string", "uniqueItems": True},
}
_PATH_NAMESPACE = {
    "name": "namespace",
    "in": "path",
    "description": "object name and auth scope, such as for teams and projects",
    "required": True,
    "schema": {"type": "string", "uniqueItems": True},
}
_UNAUTHORIZED = {"description": "Unauthorized"}


def _content(schema_name: str) -> JSON:
    return {"application/json": {"schema": {"$ref": SCHEMA_PREFIX + schema_name}}}


def _responses(schema_name: str, *codes: str) -> JSON:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: JSON = {code: {"description": text[code], "content": _content(schema_name)} for code in codes}
    out["401"] = _UNAUTHORIZED
    return out


def _operation_id_prefix(group: str, version: str) -> tuple[str, str]:
    """(group+version part of operation ids, tag) the way upstream's apiserver derives them."""
    trimmed = group.removesuffix(".k8s.io") if group else "core"
    return _valid_id(trimmed, True) + _valid_id(
        version, True
    ), f"{_valid_id(trimmed, False)}_{_valid_id(version, False)}"


def _valid_id(s: str, capitalize_first: bool) -> str:
    """Upstream's ToValidOperationID: drop non-letters, capitalise the letter after each."""
    out: list[str] = []
    capitalize = capitalize_first
    for i, ch in enumerate(s):
        if ch.isalpha() or ch == "_" or (i and ch.isdigit()):
            out.append(ch.upper() if capitalize else ch)
            capitalize = False
        else:
            capitalize = True
    return "".join(out)


def _operation(
    *,
    op_id: str,
    tag: str,
    action: str,
    gvk: tuple[str, str, str],
    description: str,
    params: Iterable[str] = (),
    request: JSON | None = None,
    responses: JSON,
) -> JSON:
    op: JSON = {"tags": [tag], "description": description, "operationId": op_id}
    param_list = [_P[p] for p in params]
    if param_list:
        op["parameters"] = param_list
    if request is not None:
        op["requestBody"] = request
    op["responses"] = responses
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = {"group": gvk[0], "version": gvk[1], "kind": gvk[2]}
    return op


def _patch_body(allow_smp: bool) -> JSON:
    types = (*PATCH_TYPES_GENERIC, STRATEGIC_MERGE_PATCH) if allow_smp else PATCH_TYPES_GENERIC
    return {"content": {t: {"schema": {"$ref": SCHEMA_PREFIX + PATCH}} for t in sorted(types)}}


def _body(schema_name: str) -> JSON:
    return {"content": {"*/*": {"schema": {"$ref": SCHEMA_PREFIX + schema_name}}}, "required": True}


def _item_ops(
    verbs: Iterable[str],
    *,
    id_prefix: str,
    tag: str,
    id_suffix: str,
    gvk: tuple[str, str, str],
    schema_name: str,
    allow_smp: bool,
    what: str,
) -> JSON:
    """Operations on one object (or one subresource of it) for the given Kubernetes verbs."""
    ops: JSON = {}
    for verb in verbs:
        mapped = _ITEM_VERBS.get(verb)
        if mapped is None or mapped[0] in ops:
            continue
        method, id_verb, action = mapped
        params: tuple[str, ...] = ()
        request: JSON | None = None
        if method == "get":
            description, responses = f"read {what}", _responses(schema_name, "200")
        elif method == "put":
            description, responses = f"replace {what}", _responses(schema_name, "200", "201")
            params, request = _WRITE_PARAMS, _body(schema_name)
        elif method == "patch":
            description, responses = f"partially update {what}", _responses(schema_name, "200", "201")
            params, request = _PATCH_PARAMS, _patch_body(allow_smp)
        elif method == "delete":
            description, responses = f"delete {what}", _responses(STATUS, "200", "202")
            params, request = _DELETE_PARAMS, _body(DELETE_OPTIONS)
        else:  # post
            description, responses = f"create {what}", _responses(schema_name, "200", "201", "202")
            params, request = _WRITE_PARAMS, _body(schema_name)
        ops[method] = _operation(
            op_id=f"{id_verb}{id_prefix}{id_suffix}",
            tag=tag,
            action=action,
            gvk=gvk,
            description=description,
            params=params,
            request=request,
            responses=responses,
        )
    return {m: ops[m] for m in sorted(ops)}


def add_resource_paths(paths: dict[str, JSON], info: ResourceInfo, kind_ref: str, list_ref: str, names: Names) -> None:
    """Add the collection, cluster-wide list, item and subresource paths of one resource."""
    root = f"/{gv_path(info.group, info.version)}"
    collection = f"{root}/namespaces/{{namespace}}/{info.resource}" if info.namespaced else f"{root}/{info.resource}"
    item = f"{collection}/{{name}}"
    scope_params = [_PATH_NAMESPACE] if info.namespaced else []
    id_prefix, tag = _operation_id_prefix(info.group, info.version)
    scoped_kind = ("Namespaced" if info.namespaced else "") + info.kind
    gvk = (info.group, info.version, info.kind)
    allow_smp = bool(info.strategy.allow_strategic_merge_patch)
    verbs = set(info.verbs)

    ops: JSON = {}
    if "list" in verbs:
        ops["get"] = _operation(
            op_id=f"list{id_prefix}{scoped_kind}",
            tag=tag,
            action="list",
            gvk=gvk,
            description=f"list or watch objects of kind {info.kind}",
            params=_LIST_PARAMS,
            responses=_responses(list_ref, "200"),
        )
    if "create" in verbs:
        ops["post"] = _operation(
            op_id=f"create{id_prefix}{scoped_kind}",
            tag=tag,
            action="post",
            gvk=gvk,
            description=f"create a {info.kind}",
            params=_WRITE_PARAMS,
            request=_body(kind_ref),
            responses=_responses(kind_ref, "200", "201", "202"),
        )
    if "deletecollection" in verbs:
        ops["delete"] = _operation(
            op_id=f"delete{id_prefix}Collection{scoped_kind}",
            tag=tag,
            action="deletecollection",
            gvk=gvk,
            description=f"delete collection of {info.kind}",
            params=_DELETE_COLLECTION_PARAMS,
            request=_body(DELETE_OPTIONS),
            responses=_responses(STATUS, "200"),
        )
    if ops:
        paths[collection] = {**{m: ops[m] for m in sorted(ops)}, **_path_params(scope_params)}

    if info.namespaced and "list" in verbs:
        paths[f"{root}/{info.resource}"] = {
            "get": _operation(
                op_id=f"list{id_prefix}{info.kind}ForAllNamespaces",
                tag=tag,
                action="list",
                gvk=gvk,
                description=f"list or watch objects of kind {info.kind}",
                params=_LIST_PARAMS,
                responses=_responses(list_ref, "200"),
            )
        }

    item_ops = _item_ops(
        sorted(verbs & {"get", "update", "patch", "delete"}),
        id_prefix=id_prefix,
        tag=tag,
        id_suffix=scoped_kind,
        gvk=gvk,
        schema_name=kind_ref,
        allow_smp=allow_smp,
        what=f"the specified {info.kind}",
    )
    if item_ops:
        paths[item] = {**item_ops, **_path_params([_PATH_NAME, *scope_params])}

    subresources: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {}
    for sub in info.subresources:
        subresources[sub] = _SUBRESOURCES.get(sub, (_DEFAULT_SUBRESOURCE_VERBS, None))
    for sub, (g, v, k, sub_verbs) in info.extra_subresources.items():
        subresources[sub] = (tuple(sub_verbs), (g, v, k))
    for sub in sorted(subresources):
        sub_verbs, sub_gvk = subresources[sub]
        if sub_gvk is None:
            sub_gvk, schema_name = gvk, kind_ref
        else:
            schema_name = names.other_kind(*sub_gvk)
        ops = _item_ops(
            sub_verbs,
            id_prefix=id_prefix,
            tag=tag,
            id_suffix=scoped_kind + _valid_id(sub, True),
            gvk=sub_gvk,
            schema_name=schema_name,
            allow_smp=allow_smp,
            what=f"{sub} of the specified {info.kind}",
        )
        if ops:
            paths[f"{item}/{sub}"] = {**ops, **_path_params([_PATH_NAME, *scope_params])}


def _path_params(params: list[JSON]) -> JSON:
    return {"parameters": params} if params else {}
