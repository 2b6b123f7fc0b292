"""Test fixtures built once: request bodies (CRDs, APIResourceSchemas, APIExports, APIBindings,
Workspaces), workspaces made Ready through the API, and identities (an ordinary user, a workspace
admin, a ServiceAccount with its token).

Plain functions with keyword-only arguments, so a test names what differs from the usual body and
nothing else; every body is a fresh dict the caller may change. Objects are created through the
real API views (an `Api` test client), never written below them, so a fixture passes the same
validation, admission and authorization a client's request does."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

Body = dict[str, Any]

WS = "/apis/tenancy.kcp.io/v1alpha1/workspaces"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
SCHEMAS = "/apis/apis.kcp.io/v1alpha1/apiresourceschemas"
EXPORTS = "/apis/apis.kcp.io/v1alpha2/apiexports"
BINDINGS = "/apis/apis.kcp.io/v1alpha2/apibindings"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
#: The bound API of the binding tests (and the contract suite's bound kind).
COWBOY_GROUP = "wildwest.example.com"


# --- CustomResourceDefinitions and APIResourceSchemas ------------------------------------------------


def crd_version(
    *,
    name: str = "v1",
    schema: Body,
    served: bool = True,
    storage: bool = True,
    subresources: Body | None = None,
    printer_columns: list[Body] | None = None,
    **extra: Any,
) -> Body:
    """One entry of a CRD's `spec.versions` (the schema goes under `schema.openAPIV3Schema`);
    `subresources`/`printer_columns` are left out when None, as a client would leave them."""
    version: Body = {"name": name, "served": served, "storage": storage}
    if subresources is not None:
        version["subresources"] = subresources
    if printer_columns is not None:
        version["additionalPrinterColumns"] = printer_columns
    return {**version, "schema": {"openAPIV3Schema": schema}, **extra}


def resource_names(
    *,
    plural: str,
    kind: str,
    singular: str | None = "",
    list_kind: str | None = "",
    short_names: list[str] | None = None,
    categories: list[str] | None = None,
) -> Body:
    """`spec.names`: `singular`/`list_kind` default to kube's derivation from `kind`; None leaves
    the field out (for the server to default)."""
    names: Body = {"plural": plural}
    if singular is not None:
        names["singular"] = singular or kind.lower()
    names["kind"] = kind
    if list_kind is not None:
        names["listKind"] = list_kind or kind + "List"
    if short_names is not None:
        names["shortNames"] = short_names
    if categories is not None:
        names["categories"] = categories
    return names


def crd_body(*, group: str, names: Body, versions: list[Body], scope: str = "Namespaced") -> Body:
    """A CustomResourceDefinition named `<plural>.<group>`."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names['plural']}.{group}"},
        "spec": {"group": group, "scope": scope, "names": names, "versions": versions},
    }


def widget_crd(
    *, group: str = "example.com", plural: str = "widgets", kind: str = "Widget", scope: str = "Namespaced"
) -> Body:
    """The conformance suite's Widget CRD (shared/conformance/kcpconf.py `widget_crd`): a status
    subresource, a Size printer column, a defaulted color."""
    return crd_body(
        group=group,
        scope=scope,
        names=resource_names(plural=plural, kind=kind),
        versions=[
            crd_version(
                subresources={"status": {}},
                printer_columns=[{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                schema={
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "size": {"type": "integer", "minimum": 0},
                                "color": {"type": "string", "default": "blue"},
                            },
                        },
                        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                    },
                },
            )
        ],
    )


def widget(*, name: str, group: str = "example.com", **spec: Any) -> Body:
    return {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def apiresourceschema_body(
    *, group: str, names: Body, versions: list[Body], prefix: str = "v1", scope: str = "Namespaced"
) -> Body:
    """An APIResourceSchema named `<prefix>.<plural>.<group>`; its versions carry the OpenAPI
    schema directly under `schema` (see `schema_version`)."""
    return {
        "apiVersion": "apis.kcp.io/v1alpha1",
        "kind": "APIResourceSchema",
        "metadata": {"name": f"{prefix}.{names['plural']}.{group}"},
        "spec": {"group": group, "scope": scope, "names": names, "versions": versions},
    }


def schema_version(
    *, name: str = "v1", schema: Body, served: bool = True, storage: bool = True, subresources: Body | None = None
) -> Body:
    """One entry of an APIResourceSchema's `spec.versions`."""
    version: Body = {"name": name, "served": served, "storage": storage}
    if subresources is not None:
        version["subresources"] = subresources
    return {**version, "schema": schema}


def schema_for_crd(crd: Body, *, prefix: str = "v1") -> Body:
    """The APIResourceSchema defining what `crd` defines."""
    spec = crd["spec"]
    versions = [{**v, "schema": v["schema"]["openAPIV3Schema"]} for v in spec["versions"]]
    return {
        "apiVersion": "apis.kcp.io/v1alpha1",
        "kind": "APIResourceSchema",
        "metadata": {"name": f"{prefix}.{spec['names']['plural']}.{spec['group']}"},
        "spec": {**spec, "versions": versions},
    }


def crd_for_schema(schema: Body) -> Body:
    """The CustomResourceDefinition defining what the APIResourceSchema `schema` defines."""
    spec = schema["spec"]
    versions = [{**v, "schema": {"openAPIV3Schema": v["schema"]}} for v in spec["versions"]]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{spec['names']['plural']}.{spec['group']}"},
        "spec": {**{k: v for k, v in spec.items() if k != "versions"}, "versions": versions},
    }


def cowboy_schema(*, prefix: str = "v1", group: str = COWBOY_GROUP) -> Body:
    """The binding tests' Cowboy (kcp's wildwest example): v1alpha1 with a status subresource and
    a defaulted `spec.intent`."""
    return apiresourceschema_body(
        prefix=prefix,
        group=group,
        names=resource_names(plural="cowboys", kind="Cowboy"),
        versions=[
            schema_version(
                name="v1alpha1",
                subresources={"status": {}},
                schema={
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "intent": {"type": "string", "default": "ride"},
                                "horses": {"type": "integer"},
                            },
                        },
                        "status": {"type": "object", "properties": {"result": {"type": "string"}}},
                    },
                },
            )
        ],
    )


# --- APIExports and APIBindings ------------------------------------------------------------------


def export_resource(*, group: str, plural: str, schema: str, crd_storage: bool = True) -> Body:
    """One entry of an APIExport's `spec.resources` (v1alpha2)."""
    resource: Body = {"group": group, "name": plural, "schema": schema}
    if crd_storage:
        resource["storage"] = {"crd": {}}
    return resource


def apiexport_body(*, name: str, resources: list[Body], **spec: Any) -> Body:
    """A v1alpha2 APIExport; `spec` adds fields such as `permissionClaims`."""
    return {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIExport",
        "metadata": {"name": name},
        "spec": {"resources": resources, **spec},
    }


def apibinding_body(*, name: str, path: str, export: str, version: str = "v1alpha2") -> Body:
    return {
        "apiVersion": f"apis.kcp.io/{version}",
        "kind": "APIBinding",
        "metadata": {"name": name},
        "spec": {"reference": {"export": {"path": path, "name": export}}},
    }


def cowboys_exported(api: Api, *, cluster: str) -> None:
    """Creates the Cowboy APIResourceSchema and an APIExport of it (named after its group) where
    `api` points, as `api`'s user, and reconciles the export's identity; `cluster` is that
    workspace's logical cluster."""
    from apis.services import apiexport_reconcile

    assert api.post(SCHEMAS, cowboy_schema()).status_code == 201
    cowboys = export_resource(group=COWBOY_GROUP, plural="cowboys", schema=f"v1.cowboys.{COWBOY_GROUP}")
    r = api.post(EXPORTS, apiexport_body(name=COWBOY_GROUP, resources=[cowboys]))
    assert r.status_code == 201, r.content
    assert apiexport_reconcile(cluster=cluster, name=COWBOY_GROUP)


def cowboys_bound(api: Api, *, path: str, cluster: str, name: str = "own") -> None:
    """Exports Cowboys from the workspace at `path` (where `api` points) and binds that export
    there: Cowboys are served in the workspace as a bound API (the binding reconciled to Bound)."""
    from apis.bindings import apibinding_reconcile

    cowboys_exported(api, cluster=cluster)
    r = api.post(BINDINGS, apibinding_body(name=name, path=path, export=COWBOY_GROUP))
    assert r.status_code == 201, r.content
    apibinding_reconcile(cluster=cluster, name=name)
    assert api.get(f"{BINDINGS}/{name}").json()["status"]["phase"] == "Bound"


# --- objects of built-in kinds -----------------------------------------------------------------


def event_body(*, name: str, regarding: str = "cm1") -> Body:
    """A core/v1 Event about the ConfigMap `regarding` in `default` (which need not exist)."""
    return {
        "metadata": {"name": name},
        "involvedObject": {"kind": "ConfigMap", "name": regarding, "namespace": "default"},
        "reason": "Tested",
        "message": "m",
        "type": "Normal",
    }


def events_v1_body(*, name: str, regarding: str = "cm1") -> Body:
    """An events.k8s.io/v1 Event about the ConfigMap `regarding` in `default`."""
    return {
        "metadata": {"name": name},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "example.com/ctl",
        "reportingInstance": "ctl-1",
        "action": "Test",
        "reason": "Tested",
        "type": "Normal",
        "regarding": {"kind": "ConfigMap", "name": regarding, "namespace": "default"},
    }


def binding_body(*, name: str, role_kind: str, role: str) -> Body:
    """A RoleBinding or ClusterRoleBinding (by `role_kind`) of `role`, without subjects."""
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
    }


# --- workspaces ----------------------------------------------------------------------------------


def reconcile_all() -> None:
    """Runs the workspace reconciler over every Workspace until the tree settles (what the Celery
    worker does in a running server)."""
    from workspaces.models import WorkspaceRow
    from workspaces.services import workspace_reconcile

    for _ in range(3):
        for cluster, name in list(WorkspaceRow.objects.values_list("cluster", "name")):
            workspace_reconcile(cluster=cluster, name=name)


def make(api: Api, name: str, type_: str | None = None) -> Body:
    """Creates the Workspace `name` where `api` points and reconciles it to Ready."""
    body: Body = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}}
    if type_:
        body["spec"] = {"type": {"name": type_, "path": "root"}}
    r = api.post(WS, body)
    assert r.status_code == 201, r.content
    reconcile_all()
    return api.get(f"{WS}/{name}").json()


def at(api: Api, path: str) -> Api:
    """The same client and credentials, pointed at the workspace `path`."""
    return Api(api.client, api.token, cluster=path)


def logical_cluster(api: Api, path: str) -> str:
    """The logical cluster name of the workspace at `path`."""
    lc = at(api, path).get("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster").json()
    return str(lc["metadata"]["annotations"]["kcp.io/cluster"])


# --- identities ----------------------------------------------------------------------------------


def user(api: Api, path: str, *, name: str, groups: tuple[str, ...] = ("tenants", "developers")) -> Api:
    """An ordinary user (no privileged group) at `path`, with no grants of its own there."""
    from kube.authz.tokens import token_issue

    return at(Api(api.client, token_issue(user_name=name, groups=list(groups))), path)


def workspace_admin(api: Api, path: str, *, user: str = "mallory") -> Api:
    """A user token with ordinary groups, made cluster-admin of the workspace at `path` (a tenant
    who owns a workspace, nothing more)."""
    from kube.authz.tokens import token_issue

    r = at(api, path).post(
        f"{RBAC}/clusterrolebindings",
        {
            "metadata": {"name": f"{user}-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    assert r.status_code == 201, r.content
    return at(Api(api.client, token_issue(user_name=user, groups=["tenants", "developers"])), path)


def sa_token(api: Api, name: str = "robot") -> str:
    """Creates the ServiceAccount `name` in `default` where `api` points; returns a token of it
    (TokenRequest)."""
    assert api.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": name}}).status_code == 201
    r = api.post(
        f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert r.status_code == 201, r.content
    token = r.json()["status"]["token"]
    assert token.count(".") == 2 and r.json()["status"]["expirationTimestamp"]
    return str(token)


def serviceaccount_admin(api: Api, path: str) -> Api:
    """A ServiceAccount of the workspace at `path`, bound to cluster-admin there, with its token."""
    ws = at(api, path)
    token = sa_token(ws, "robot")
    r = ws.post(
        f"{RBAC}/clusterrolebindings",
        {
            "metadata": {"name": "robot-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
        },
    )
    assert r.status_code == 201, r.content
    return at(Api(api.client, token), path)
