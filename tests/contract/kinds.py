"""The contract suite's table: one case per registered kind (built-in, a CRD's, a bound API's),
saying how a client makes an object of it, where, and what the system does for it that a client
does not (finish a deletion, own the object outright).

A kind registered later without a case here fails `test_every_registered_kind_has_a_case`: add
one below. Exceptions to the generic contract are written here, each with its reason, so that
no check is skipped silently."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import Api
from tests.factories import (
    BINDINGS,
    COWBOY_GROUP,
    CRDS,
    EXPORTS,
    RBAC,
    SCHEMAS,
    WS,
    apibinding_body,
    apiexport_body,
    at,
    binding_body,
    cowboy_schema,
    cowboys_bound,
    cowboys_exported,
    event_body,
    events_v1_body,
    logical_cluster,
    make,
    reconcile_all,
    user,
    widget_crd,
    workspace_admin,
)

Body = dict[str, Any]
#: The tenant workspace every case lives in, unless its kind is served in root only.
TENANT = "root:contract"
NS = "/api/v1/namespaces/default"


@dataclass
class World:
    """The identities of one case at its kind's home workspace."""

    path: str
    cluster: str
    admin: Api
    """system:masters (a privileged identity)."""
    actor: Api
    """Who makes and changes the objects: an ordinary user bound to cluster-admin in the workspace
    (the tenant's workspace admin; root's, for kinds served in root only)."""
    outsider: Api
    """An ordinary user with no grants in the workspace."""


@dataclass(frozen=True)
class Case:
    collection: str
    """The collection's URL path in the workspace (namespaced kinds: in `default`)."""
    body: Body | None
    """A create body (its name is filled in); None: the system makes the one object (`name`)."""
    name: str = "contract"
    prepare: Callable[[World], None] | None = None
    """Creates what the object depends on, as the actor."""
    home: str = "tenant"
    """`tenant` (root:contract) or `root`, for kinds served in root only."""
    finalize: Callable[[World, str], None] | None = None
    """Runs the controller that finishes a deletion the kind holds with a finalizer."""
    system_made: str = ""
    """Why clients neither create nor delete objects of the kind (empty: they do)."""
    refused_create: Body | None = None
    """For a system-made kind: a create body that passes validation, refused by admission (403);
    default `{"metadata": {"name": name}}` (a kind with no required fields)."""
    stored: bool = True
    """False for create-only kinds answered from the request (reviews): nothing to read back."""
    columns: tuple[str, ...] = ()
    """kube-apiserver's Table columns for the kind (`*`: priority 1, shown by `-o wide`), from
    k8s.io/kubernetes pkg/printers/internalversion and the CRD's printer columns; empty for kcp's
    own kinds, whose columns come from kcp's CRDs and are not pinned here."""

    def create_body(self, name: str | None = None) -> Body:
        assert self.body is not None
        body = copy.deepcopy(self.body)
        body.setdefault("metadata", {})["name"] = name or self.name
        return body

    def url(self, name: str | None = None) -> str:
        return f"{self.collection}/{name or self.name}"


def world(api: Api, case: Case) -> World:
    """Makes the case's home workspace (root:contract, or root itself) and its identities, then
    what the case depends on."""
    if case.home == "root":
        w = World("root", "root", api, workspace_admin(api, "root"), user(api, "root", name="eve"))
    else:
        make(api, TENANT.rpartition(":")[2])
        cluster = logical_cluster(api, TENANT)
        w = World(TENANT, cluster, at(api, TENANT), workspace_admin(api, TENANT), user(api, TENANT, name="eve"))
    if case.prepare:
        case.prepare(w)
    return w


# --- what cases depend on ------------------------------------------------------------------------


def _ok(r: Any) -> None:
    assert r.status_code in (200, 201), r.content


def _role(w: World) -> None:
    _ok(w.actor.post(f"{RBAC}/namespaces/default/roles", {"metadata": {"name": "r0"}, "rules": []}))


def _clusterrole(w: World) -> None:
    _ok(w.actor.post(f"{RBAC}/clusterroles", {"metadata": {"name": "cr0"}, "rules": []}))


def _crd(w: World) -> None:
    _ok(w.actor.post(CRDS, widget_crd()))


def _export(w: World) -> None:
    """The tenant's own APIResourceSchema and APIExport of Cowboys, its identity reconciled."""
    cowboys_exported(w.actor, cluster=w.cluster)


def _bound(w: World) -> None:
    """The tenant binds its own export: Cowboys are served in the workspace as a bound API."""
    cowboys_bound(w.actor, path=w.path, cluster=w.cluster)


# --- controllers that finish deletions ----------------------------------------------------------


def _namespace_cleanup(w: World, name: str) -> None:
    from kube.builtin.namespaces import namespace_cleanup

    assert namespace_cleanup(cluster=w.cluster, name=name)


def _crd_cleanup(w: World, name: str) -> None:
    from kube.builtin.customresources import crd_cleanup

    assert crd_cleanup(cluster=w.cluster, name=name)


def _binding_reconcile(w: World, name: str) -> None:
    from apis.bindings import apibinding_reconcile

    apibinding_reconcile(cluster=w.cluster, name=name)


def _workspaces_reconcile(w: World, name: str) -> None:
    reconcile_all()


# --- the table -----------------------------------------------------------------------------------


def _review(api_version: str, kind: str, spec: Body | None = None) -> Body:
    return {"apiVersion": api_version, "kind": kind, "metadata": {}, **({"spec": spec} if spec is not None else {})}


EVENT_COLUMNS = (
    "Last Seen",
    "Type",
    "Reason",
    "Object",
    "Subobject*",
    "Source*",
    "Message",
    "First Seen*",
    "Count*",
    "Name*",
)
BINDING_COLUMNS = ("Name", "Role", "Age", "Users*", "Groups*", "ServiceAccounts*")
CM_ATTRIBUTES = {"verb": "get", "resource": "configmaps", "namespace": "default"}
REVIEW = "answered from the request, never stored: create-only"

CASES: dict[tuple[str, str, str], Case] = {
    ("", "v1", "namespaces"): Case(
        "/api/v1/namespaces", {"metadata": {}}, finalize=_namespace_cleanup, columns=("Name", "Status", "Age")
    ),
    ("", "v1", "configmaps"): Case(
        f"{NS}/configmaps", {"metadata": {}, "data": {"a": "b"}}, columns=("Name", "Data", "Age")
    ),
    ("", "v1", "secrets"): Case(
        f"{NS}/secrets", {"metadata": {}, "data": {"a": "Yg=="}}, columns=("Name", "Type", "Data", "Age")
    ),
    ("", "v1", "serviceaccounts"): Case(f"{NS}/serviceaccounts", {"metadata": {}}, columns=("Name", "Secrets", "Age")),
    ("", "v1", "events"): Case(f"{NS}/events", event_body(name=""), columns=EVENT_COLUMNS),
    ("events.k8s.io", "v1", "events"): Case(
        "/apis/events.k8s.io/v1/namespaces/default/events", events_v1_body(name=""), columns=EVENT_COLUMNS
    ),
    ("coordination.k8s.io", "v1", "leases"): Case(
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        {"metadata": {}, "spec": {}},
        columns=("Name", "Holder", "Age"),
    ),
    ("rbac.authorization.k8s.io", "v1", "roles"): Case(
        f"{RBAC}/namespaces/default/roles", {"metadata": {}, "rules": []}, columns=("Name", "Created At")
    ),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): Case(
        f"{RBAC}/namespaces/default/rolebindings",
        binding_body(name="", role_kind="Role", role="r0"),
        prepare=_role,
        columns=BINDING_COLUMNS,
    ),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): Case(
        f"{RBAC}/clusterroles", {"metadata": {}, "rules": []}, columns=("Name", "Created At")
    ),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): Case(
        f"{RBAC}/clusterrolebindings",
        binding_body(name="", role_kind="ClusterRole", role="cr0"),
        prepare=_clusterrole,
        columns=BINDING_COLUMNS,
    ),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"): Case(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        _review("authorization.k8s.io/v1", "SelfSubjectAccessReview", {"resourceAttributes": CM_ATTRIBUTES}),
        stored=False,
    ),
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"): Case(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        _review("authorization.k8s.io/v1", "SelfSubjectRulesReview", {"namespace": "default"}),
        stored=False,
    ),
    ("authorization.k8s.io", "v1", "subjectaccessreviews"): Case(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        _review("authorization.k8s.io/v1", "SubjectAccessReview", {"user": "eve", "resourceAttributes": CM_ATTRIBUTES}),
        stored=False,
    ),
    ("authentication.k8s.io", "v1", "selfsubjectreviews"): Case(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        _review("authentication.k8s.io/v1", "SelfSubjectReview"),
        stored=False,
    ),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): Case(
        CRDS, widget_crd(), name="widgets.example.com", finalize=_crd_cleanup, columns=("Name", "Created At")
    ),
    ("example.com", "v1", "widgets"): Case(
        "/apis/example.com/v1/namespaces/default/widgets",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}, "spec": {"size": 1}},
        prepare=_crd,
        columns=("Name", "Size"),  # the CRD's additionalPrinterColumns, and no Age: kube adds it only without any
    ),
    (COWBOY_GROUP, "v1alpha1", "cowboys"): Case(
        f"/apis/{COWBOY_GROUP}/v1alpha1/namespaces/default/cowboys",
        {"apiVersion": f"{COWBOY_GROUP}/v1alpha1", "kind": "Cowboy", "metadata": {}, "spec": {"horses": 1}},
        prepare=_bound,
        columns=("Name", "Age"),
    ),
    ("tenancy.kcp.io", "v1alpha1", "workspaces"): Case(WS, {"metadata": {}}, finalize=_workspaces_reconcile),
    ("tenancy.kcp.io", "v1alpha1", "workspacetypes"): Case(
        "/apis/tenancy.kcp.io/v1alpha1/workspacetypes", {"metadata": {}, "spec": {}}
    ),
    ("core.kcp.io", "v1alpha1", "logicalclusters"): Case(
        "/apis/core.kcp.io/v1alpha1/logicalclusters",
        None,
        name="cluster",
        system_made="made and deleted with its Workspace by the system (kcp's LogicalCluster admission)",
    ),
    ("core.kcp.io", "v1alpha1", "shards"): Case(
        "/apis/core.kcp.io/v1alpha1/shards",
        None,
        name="root",
        home="root",
        system_made="registered by each shard at start-up; clients may only cordon it and set its limits (kcp 0.34)",
        refused_create={"metadata": {"name": "root"}, "spec": {"baseURL": "https://shard.example.com"}},
    ),
    ("apis.kcp.io", "v1alpha1", "apiresourceschemas"): Case(
        SCHEMAS, cowboy_schema(), name=f"v1.cowboys.{COWBOY_GROUP}"
    ),
    ("apis.kcp.io", "v1alpha2", "apiexports"): Case(EXPORTS, apiexport_body(name="", resources=[])),
    ("apis.kcp.io", "v1alpha1", "apiexports"): Case(
        "/apis/apis.kcp.io/v1alpha1/apiexports",
        {"apiVersion": "apis.kcp.io/v1alpha1", "kind": "APIExport", "metadata": {}, "spec": {}},
    ),
    ("apis.kcp.io", "v1alpha1", "apiexportendpointslices"): Case(
        "/apis/apis.kcp.io/v1alpha1/apiexportendpointslices",
        {"metadata": {}, "spec": {"export": {"path": TENANT, "name": COWBOY_GROUP}}},
    ),
    ("apis.kcp.io", "v1alpha2", "apibindings"): Case(
        BINDINGS,
        apibinding_body(name="", path=TENANT, export=COWBOY_GROUP),
        prepare=_export,
        finalize=_binding_reconcile,
    ),
    ("apis.kcp.io", "v1alpha1", "apibindings"): Case(
        "/apis/apis.kcp.io/v1alpha1/apibindings",
        apibinding_body(name="", path=TENANT, export=COWBOY_GROUP, version="v1alpha1"),
        prepare=_export,
        finalize=_binding_reconcile,
    ),
}


def kind_id(kind: tuple[str, str, str]) -> str:
    group, version, resource = kind
    return f"{resource}.{group}/{version}" if group else f"{resource}/{version}"


def info_of(w: World, kind: tuple[str, str, str]) -> Any:
    """The registry's ResourceInfo of `kind` as served in the case's workspace."""
    from kube.registry import REGISTRY

    served = {(i.group, i.version, i.resource): i for i in REGISTRY.resources(w.cluster)}
    assert kind in served, f"{kind_id(kind)} is not served in {w.path}"
    return served[kind]
