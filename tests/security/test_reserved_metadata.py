"""Hostile tenants and kcp-owned metadata.

A workspace admin (cluster-admin of their own workspace, not a privileged identity) must not set,
change or remove annotations, labels and finalizers under the `kcp.io` domain (`kcp.io/...`,
`*.kcp.io/...`) on any kind, through any write: they steer tenancy (the path and type of a logical
cluster, the owner of a workspace, the claim labels a provider sees by, the finalizers that hold
deletion). Forging them used to let a tenant purge every workspace (deleting a workspace selected
its subtree by a path prefix of the tenant-writable `kcp.io/path`), shadow another tenant's path
and escape WorkspaceType rules. Subtree deletion and path lookup now follow ownership (parent
cluster + Workspace name), so even a path forged below the API changes nothing but the label."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import (
    COWBOY_GROUP,
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
    serviceaccount_admin,
    workspace_admin,
)
from tests.kube.test_crds import widget_crd

LC = "/apis/core.kcp.io/v1alpha1/logicalclusters/cluster"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
CM = "/api/v1/namespaces/default/configmaps"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

#: What the privileged admin puts on every sample object first, so that changing and removing
#: reserved metadata can be attempted on every kind (kcp's own kinds carry their real ones too).
HELD_ANNOTATION = "experimental.tenancy.kcp.io/owner"
HELD_LABEL = "internal.apis.kcp.io/export-held"
HELD_FINALIZER = "core.kcp.io/held"
#: Reserved keys the attacker tries to add.
FORGED_ANNOTATIONS = {"kcp.io/path": "root", "internal.tenancy.kcp.io/type": "root:organization"}
FORGED_LABEL = "claimed.internal.apis.kcp.io/forged"
FORGED_FINALIZER = "tenancy.kcp.io/forged"


ATTACKERS: dict[str, Callable[[Api, str], Api]] = {"user": workspace_admin, "serviceaccount": serviceaccount_admin}


cluster_of = logical_cluster


def forbidden_reserved(r: Any, what: str, key: str) -> bool:
    """A 403 Status naming the reserved key (kcp's words)."""
    body = r.json()
    return (
        r.status_code == 403
        and body.get("kind") == "Status"
        and body.get("reason") == "Forbidden"
        and f'modification of reserved {what} "{key}" is forbidden' in body.get("message", "")
    )


# --- one sample object per writable kind ------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """How a workspace admin makes one object of a kind (None: the system makes it) and where
    it lives; `prepare` creates what it depends on, as the same admin."""

    collection: str
    name: str
    body: dict[str, Any] | None
    prepare: Callable[[Api, Api], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.collection}/{self.name}"

    def create_body(self, name: str) -> dict[str, Any]:
        assert self.body is not None
        body = copy.deepcopy(self.body)
        body["metadata"]["name"] = name
        return body

    def second(self) -> dict[str, Any]:
        """A valid create body of another object of the kind (for the create attempts)."""
        if "second" in self.extra:
            return copy.deepcopy(self.extra["second"])
        return self.create_body(f"{self.name}-2")


def _crd(attacker: Api, admin: Api) -> None:
    r = attacker.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widget_crd())
    assert r.status_code == 201, r.content


def _export(attacker: Api, admin: Api) -> None:
    """A schema and an export of the tenant's own, APIExport identity reconciled."""
    cowboys_exported(attacker, cluster=cluster_of(admin, TENANT))


def _bound(attacker: Api, admin: Api) -> None:
    """The tenant binds its own export: its resource is served in the workspace as a bound API."""
    cowboys_bound(attacker, path=TENANT, cluster=cluster_of(admin, TENANT))


def _role(attacker: Api, admin: Api) -> None:
    assert (
        attacker.post(f"{RBAC}/namespaces/default/roles", {"metadata": {"name": "r0"}, "rules": []}).status_code == 201
    )


def _clusterrole(attacker: Api, admin: Api) -> None:
    assert attacker.post(f"{RBAC}/clusterroles", {"metadata": {"name": "cr0"}, "rules": []}).status_code == 201


TENANT = "root:tenant"
EXPORT_V2 = apiexport_body(name="x", resources=[])
SAMPLES: dict[tuple[str, str, str], Sample] = {
    ("", "v1", "namespaces"): Sample("/api/v1/namespaces", "ns1", {"metadata": {"name": ""}}),
    ("", "v1", "configmaps"): Sample(CM, "cm1", {"metadata": {"name": ""}, "data": {"a": "b"}}),
    ("", "v1", "secrets"): Sample(
        "/api/v1/namespaces/default/secrets", "s1", {"metadata": {"name": ""}, "data": {"a": "Yg=="}}
    ),
    ("", "v1", "serviceaccounts"): Sample(
        "/api/v1/namespaces/default/serviceaccounts", "sa1", {"metadata": {"name": ""}}
    ),
    ("", "v1", "events"): Sample("/api/v1/namespaces/default/events", "e1", event_body(name="")),
    ("events.k8s.io", "v1", "events"): Sample(
        "/apis/events.k8s.io/v1/namespaces/default/events", "e2", events_v1_body(name="")
    ),
    ("coordination.k8s.io", "v1", "leases"): Sample(
        "/apis/coordination.k8s.io/v1/namespaces/default/leases", "l1", {"metadata": {"name": ""}, "spec": {}}
    ),
    ("rbac.authorization.k8s.io", "v1", "roles"): Sample(
        f"{RBAC}/namespaces/default/roles", "r1", {"metadata": {"name": ""}, "rules": []}
    ),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): Sample(
        f"{RBAC}/namespaces/default/rolebindings",
        "rb1",
        binding_body(name="", role_kind="Role", role="r0"),
        _role,
    ),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): Sample(
        f"{RBAC}/clusterroles", "cr1", {"metadata": {"name": ""}, "rules": []}
    ),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): Sample(
        f"{RBAC}/clusterrolebindings",
        "crb1",
        binding_body(name="", role_kind="ClusterRole", role="cr0"),
        _clusterrole,
    ),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): Sample(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "widgets.example.com",
        widget_crd(),
        extra={"second": widget_crd(group="example.org")},
    ),
    ("example.com", "v1", "widgets"): Sample(
        "/apis/example.com/v1/namespaces/default/widgets",
        "w1",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": ""}, "spec": {"size": 1}},
        _crd,
    ),
    (COWBOY_GROUP, "v1alpha1", "cowboys"): Sample(
        f"/apis/{COWBOY_GROUP}/v1alpha1/namespaces/default/cowboys",
        "c1",
        {"apiVersion": f"{COWBOY_GROUP}/v1alpha1", "kind": "Cowboy", "metadata": {"name": ""}},
        _bound,
    ),
    ("tenancy.kcp.io", "v1alpha1", "workspaces"): Sample(WS, "child", {"metadata": {"name": ""}}),
    ("tenancy.kcp.io", "v1alpha1", "workspacetypes"): Sample(
        "/apis/tenancy.kcp.io/v1alpha1/workspacetypes", "custom", {"metadata": {"name": ""}, "spec": {}}
    ),
    ("core.kcp.io", "v1alpha1", "logicalclusters"): Sample(
        "/apis/core.kcp.io/v1alpha1/logicalclusters", "cluster", None
    ),
    ("apis.kcp.io", "v1alpha1", "apiresourceschemas"): Sample(
        "/apis/apis.kcp.io/v1alpha1/apiresourceschemas",
        f"v1.cowboys.{COWBOY_GROUP}",
        cowboy_schema(),
        extra={"second": cowboy_schema(prefix="v2")},
    ),
    ("apis.kcp.io", "v1alpha2", "apiexports"): Sample("/apis/apis.kcp.io/v1alpha2/apiexports", "x2", EXPORT_V2),
    ("apis.kcp.io", "v1alpha1", "apiexports"): Sample(
        "/apis/apis.kcp.io/v1alpha1/apiexports",
        "x1",
        {"apiVersion": "apis.kcp.io/v1alpha1", "kind": "APIExport", "metadata": {"name": ""}, "spec": {}},
    ),
    ("apis.kcp.io", "v1alpha1", "apiexportendpointslices"): Sample(
        "/apis/apis.kcp.io/v1alpha1/apiexportendpointslices",
        "slice1",
        {"metadata": {"name": ""}, "spec": {"export": {"path": TENANT, "name": COWBOY_GROUP}}},
    ),
    ("apis.kcp.io", "v1alpha2", "apibindings"): Sample(
        "/apis/apis.kcp.io/v1alpha2/apibindings",
        "b2",
        apibinding_body(name="", path=TENANT, export=COWBOY_GROUP),
        _export,
    ),
    ("apis.kcp.io", "v1alpha1", "apibindings"): Sample(
        "/apis/apis.kcp.io/v1alpha1/apibindings",
        "b1",
        apibinding_body(name="", path=TENANT, export=COWBOY_GROUP, version="v1alpha1"),
        _export,
    ),
}
#: Registered kinds a workspace admin cannot write in their workspace at all, and why.
NOT_WRITABLE_BY_TENANTS = {
    ("core.kcp.io", "v1alpha1", "shards"): "shards live in root",
}


@pytest.fixture
def tenant(api: Api) -> tuple[Api, Api]:
    """(attacker, admin) at root:tenant: a Ready workspace whose admin is an ordinary user."""
    make(api, "tenant")
    return workspace_admin(api, TENANT), at(api, TENANT)


def test_every_writable_kind_has_a_case(tenant: tuple[Api, Api]) -> None:
    """The kinds below are the registry's, built-in and per workspace (a CRD's resource, a bound
    API's resource): a kind added later without a case here fails this test."""
    from kube.registry import REGISTRY

    attacker, admin = tenant
    _crd(attacker, admin)
    _bound(attacker, admin)
    served = {
        (i.group, i.version, i.resource)
        for i in REGISTRY.resources(cluster_of(admin, TENANT))
        if not i.strategy.virtual
    }
    assert {("example.com", "v1", "widgets"), (COWBOY_GROUP, "v1alpha1", "cowboys")} <= served
    assert served - set(SAMPLES) - set(NOT_WRITABLE_BY_TENANTS) == set()
    shard = {"metadata": {"name": "mine"}, "spec": {"baseURL": "https://evil.example.com"}}
    assert attacker.post("/apis/core.kcp.io/v1alpha1/shards", shard).status_code == 403


@dataclass(frozen=True)
class Attempt:
    """One write a workspace admin must be refused: 403 naming `key` (a reserved `what`)."""

    case: str
    method: str
    url: str
    body: Any
    content_type: str
    what: str
    key: str


def _json_pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _refused_writes(info: Any, sample: Sample, current: dict[str, Any]) -> list[Attempt]:
    """Every way of setting, changing or removing reserved metadata on `current` (an object of
    `info` carrying the HELD_* keys), and of creating one with reserved metadata."""
    url = sample.url
    md = current["metadata"]
    finalizers = list(md.get("finalizers") or [])
    head = {"apiVersion": current["apiVersion"], "kind": current["kind"]}
    ident = {"name": md["name"], **({"namespace": md["namespace"]} if md.get("namespace") else {})}
    forced_apply = url + "?fieldManager=mallory&force=true"

    def merge(case: str, metadata: dict[str, Any], what: str, key: str, *, at: str = url) -> Attempt:
        return Attempt(f"merge: {case}", "PATCH", at, {"metadata": metadata}, MERGE, what, key)

    def json_patch(case: str, op: dict[str, Any], what: str, key: str) -> Attempt:
        return Attempt(f"json: {case}", "PATCH", url, [op], JSON_PATCH, what, key)

    attempts = [
        merge("add annotation", {"annotations": {k: v}}, "annotation", k) for k, v in FORGED_ANNOTATIONS.items()
    ]
    attempts += [
        merge("change annotation", {"annotations": {HELD_ANNOTATION: "x"}}, "annotation", HELD_ANNOTATION),
        merge("remove annotation", {"annotations": {HELD_ANNOTATION: None}}, "annotation", HELD_ANNOTATION),
        merge("add label", {"labels": {FORGED_LABEL: ""}}, "label", FORGED_LABEL),
        merge("change label", {"labels": {HELD_LABEL: "x"}}, "label", HELD_LABEL),
        merge("remove label", {"labels": {HELD_LABEL: None}}, "label", HELD_LABEL),
        merge("add finalizer", {"finalizers": [*finalizers, FORGED_FINALIZER]}, "finalizer", FORGED_FINALIZER),
        merge(
            "remove finalizer",
            {"finalizers": [f for f in finalizers if f != HELD_FINALIZER]},
            "finalizer",
            HELD_FINALIZER,
        ),
        json_patch(
            "add annotation",
            {"op": "add", "path": _json_pointer("metadata", "annotations", "kcp.io/path"), "value": "root"},
            "annotation",
            "kcp.io/path",
        ),
        json_patch(
            "replace annotation",
            {"op": "replace", "path": _json_pointer("metadata", "annotations", HELD_ANNOTATION), "value": "x"},
            "annotation",
            HELD_ANNOTATION,
        ),
        json_patch(
            "remove label",
            {"op": "remove", "path": _json_pointer("metadata", "labels", HELD_LABEL)},
            "label",
            HELD_LABEL,
        ),
        json_patch(
            "remove finalizer",
            {"op": "remove", "path": f"/metadata/finalizers/{finalizers.index(HELD_FINALIZER)}"},
            "finalizer",
            HELD_FINALIZER,
        ),
        Attempt(
            "apply: add annotation",
            "PATCH",
            forced_apply,
            {**head, "metadata": {**ident, "annotations": {"kcp.io/path": "root"}}},
            APPLY,
            "annotation",
            "kcp.io/path",
        ),
        Attempt(
            "apply: change label",
            "PATCH",
            forced_apply,
            {**head, "metadata": {**ident, "labels": {HELD_LABEL: "x"}}},
            APPLY,
            "label",
            HELD_LABEL,
        ),
    ]
    if info.strategy.allow_strategic_merge_patch:
        attempts += [
            Attempt(
                "strategic: add annotation",
                "PATCH",
                url,
                {"metadata": {"annotations": {"kcp.io/path": "root"}}},
                STRATEGIC,
                "annotation",
                "kcp.io/path",
            ),
            Attempt(
                "strategic: delete finalizer",
                "PATCH",
                url,
                {"metadata": {"$deleteFromPrimitiveList/finalizers": [HELD_FINALIZER]}},
                STRATEGIC,
                "finalizer",
                HELD_FINALIZER,
            ),
        ]
    put = copy.deepcopy(current)
    put["metadata"]["annotations"]["kcp.io/path"] = "root"
    attempts.append(Attempt("put: add annotation", "PUT", url, put, "application/json", "annotation", "kcp.io/path"))
    put = copy.deepcopy(current)
    del put["metadata"]["labels"][HELD_LABEL]
    attempts.append(Attempt("put: remove label", "PUT", url, put, "application/json", "label", HELD_LABEL))
    put = copy.deepcopy(current)
    put["metadata"]["finalizers"] = [f for f in finalizers if "kcp.io/" not in f]  # only the reserved ones go
    first_reserved = next(f for f in finalizers if "kcp.io/" in f)
    attempts.append(Attempt("put: remove finalizers", "PUT", url, put, "application/json", "finalizer", first_reserved))
    if "status" in info.subresources:
        put = copy.deepcopy(current)
        put["metadata"]["annotations"][HELD_ANNOTATION] = "x"
        attempts.append(
            Attempt(
                "status put: change", "PUT", url + "/status", put, "application/json", "annotation", HELD_ANNOTATION
            )
        )
        attempts.append(
            merge("status: add label", {"labels": {FORGED_LABEL: ""}}, "label", FORGED_LABEL, at=url + "/status")
        )
    if sample.body is not None:
        second = sample.second()
        name = second["metadata"]["name"]
        for what, key, metadata in (
            ("annotation", "kcp.io/path", {"annotations": {"kcp.io/path": "root"}}),
            ("label", FORGED_LABEL, {"labels": {FORGED_LABEL: ""}}),
            ("finalizer", FORGED_FINALIZER, {"finalizers": [FORGED_FINALIZER]}),
        ):
            body = copy.deepcopy(second)
            body["metadata"].update(metadata)
            attempts.append(Attempt(f"create: {what}", "POST", sample.collection, body, "application/json", what, key))
        applied = {**head, "metadata": {**ident, "name": name, "annotations": {"kcp.io/path": "root"}}}
        attempts.append(
            Attempt(
                "apply create: annotation",
                "PATCH",
                f"{sample.collection}/{name}?fieldManager=mallory",
                applied,
                APPLY,
                "annotation",
                "kcp.io/path",
            )
        )
    return attempts


def _kind_id(kind: Any) -> str:
    return "/".join(p for p in kind if p) if isinstance(kind, tuple) else str(kind)


@pytest.mark.parametrize("kind", sorted(SAMPLES), ids=_kind_id)
def test_workspace_admin_cannot_touch_reserved_metadata(tenant: tuple[Api, Api], kind: tuple[str, str, str]) -> None:
    from kube.registry import REGISTRY

    attacker, admin = tenant
    sample = SAMPLES[kind]
    if sample.prepare is not None:
        sample.prepare(attacker, admin)
    if sample.body is not None:
        r = attacker.post(sample.collection, sample.create_body(sample.name))
        assert r.status_code == 201, r.content  # ordinary creates work
    info = REGISTRY.resolve(cluster=cluster_of(admin, TENANT), group=kind[0], version=kind[1], resource=kind[2])
    assert info is not None
    # the privileged admin may set reserved metadata
    finalizers = list(admin.get(sample.url).json()["metadata"].get("finalizers") or [])
    r = admin.patch(
        sample.url,
        {
            "metadata": {
                "annotations": {HELD_ANNOTATION: "held"},
                "labels": {HELD_LABEL: "held"},
                "finalizers": [*finalizers, HELD_FINALIZER],
            }
        },
    )
    assert r.status_code == 200, r.content
    before = attacker.get(sample.url).json()
    assert before["metadata"]["labels"][HELD_LABEL] == "held"

    for attempt in _refused_writes(info, sample, before):
        r = attacker.request(attempt.method, attempt.url, attempt.body, content_type=attempt.content_type)
        if any(word in attempt.case.split() for word in ("remove", "delete")):
            # Leaving a reserved key out keeps it (kube.registry.reserved): refused or a no-op.
            unchanged = r.status_code == 200 and r.json()["metadata"] == before["metadata"]
            assert unchanged or forbidden_reserved(r, attempt.what, attempt.key), (attempt.case, r.status_code)
            continue
        assert forbidden_reserved(r, attempt.what, attempt.key), (attempt.case, r.status_code, r.content[:400])
        if attempt.case.startswith(("create", "apply create")):
            created = attempt.body["metadata"]["name"]
            assert attacker.get(f"{sample.collection}/{created}").status_code == 404, attempt.case
    assert attacker.get(sample.url).json() == before  # nothing was written

    # round trips of what the attacker read are no modification
    r = attacker.put(sample.url, before)
    assert r.status_code == 200, r.content
    assert r.json()["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # a no-op
    r = attacker.patch(
        sample.url,
        {"metadata": {"annotations": {HELD_ANNOTATION: "held", "note": "mine"}, "labels": {HELD_LABEL: "held"}}},
    )
    assert r.status_code == 200, r.content
    assert r.json()["metadata"]["annotations"]["note"] == "mine"
    apply = {
        "apiVersion": before["apiVersion"],
        "kind": before["kind"],
        "metadata": {
            "name": sample.name,
            **({"namespace": "default"} if before["metadata"].get("namespace") else {}),
            "annotations": {HELD_ANNOTATION: "held", "applied": "yes"},
        },
    }
    r = attacker.patch(sample.url + "?fieldManager=mallory", apply, content_type=APPLY)
    assert r.status_code == 200, r.content
    current = r.json()
    if "status" in info.subresources:
        r = attacker.put(sample.url + "/status", current)
        assert r.status_code == 200, r.content
    # kcp.io/cluster is the server's: what a client sends for it is overwritten, never stored
    forged = copy.deepcopy(attacker.get(sample.url).json())
    forged["metadata"]["annotations"]["kcp.io/cluster"] = "root"
    forged["metadata"]["annotations"]["note"] = "again"
    r = attacker.put(sample.url, forged)
    assert r.status_code == 200, r.content
    own = cluster_of(admin, TENANT)
    assert attacker.get(sample.url).json()["metadata"]["annotations"]["kcp.io/cluster"] == own
    final = attacker.get(sample.url).json()["metadata"]
    assert final["labels"][HELD_LABEL] == "held" and HELD_FINALIZER in final["finalizers"]
    if sample.body is not None:
        body = sample.second()
        body["metadata"]["annotations"] = {"kcp.io/cluster": "root"}
        r = attacker.post(sample.collection, body)
        assert r.status_code == 201, r.content
        assert r.json()["metadata"]["annotations"]["kcp.io/cluster"] == own


def test_apply_cannot_drop_reserved_metadata_another_manager_applied(tenant: tuple[Api, Api]) -> None:
    """Server-side apply removes what a manager applied before and omits now: an attacker
    applying as the admin's field manager must not remove reserved metadata that way."""
    attacker, admin = tenant
    head = {"apiVersion": "v1", "kind": "ConfigMap"}
    applied = {**head, "metadata": {"name": "held", "namespace": "default", "labels": {HELD_LABEL: "x"}}}
    r = admin.patch(f"{CM}/held?fieldManager=operator", applied, content_type=APPLY)
    assert r.status_code == 201, r.content
    r = attacker.patch(
        f"{CM}/held?fieldManager=operator",
        {**head, "metadata": {"name": "held", "namespace": "default"}},
        content_type=APPLY,
    )
    assert r.status_code == 200 or forbidden_reserved(r, "label", HELD_LABEL), r.content
    assert attacker.get(f"{CM}/held").json()["metadata"]["labels"] == {HELD_LABEL: "x"}


def test_an_update_that_leaves_out_reserved_metadata_keeps_it(tenant: tuple[Api, Api]) -> None:
    """`kubectl replace -f manifest.yaml` or a helm PUT of a tenant's own object cannot know the
    system's claim labels or finalizers: the write succeeds and keeps them."""
    attacker, admin = tenant
    created = attacker.post(CM, {"metadata": {"name": "mine", "labels": {"app": "a"}}, "data": {"k": "1"}})
    assert created.status_code == 201, created.content
    r = admin.patch(f"{CM}/mine", {"metadata": {"labels": {HELD_LABEL: "held"}, "finalizers": [HELD_FINALIZER]}})
    assert r.status_code == 200, r.content
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "labels": {"app": "b"}}}
    r = attacker.put(f"{CM}/mine", {**manifest, "data": {"k": "2"}})
    assert r.status_code == 200, r.content
    stored = attacker.get(f"{CM}/mine").json()
    assert stored["data"] == {"k": "2"}
    assert stored["metadata"]["labels"] == {"app": "b", HELD_LABEL: "held"}
    assert HELD_FINALIZER in stored["metadata"]["finalizers"]


# --- the forged-path attack, end to end -------------------------------------------------------------


@pytest.fixture
def landscape(api: Api) -> dict[str, str]:
    """root:victim with a child, root:tenant (the attacker's) with a child the attacker created
    (and so administers); every workspace holds a ConfigMap. Returns path → logical cluster."""
    make(api, "victim")
    at(api, "root:victim").post(WS, {"metadata": {"name": "inner"}})
    make(api, "tenant")
    reconcile_all()
    clusters = {}
    for path in ("root", "root:victim", "root:victim:inner", TENANT):
        assert at(api, path).post(CM, {"metadata": {"name": "data"}}).status_code == 201
        clusters[path] = cluster_of(api, path)
    return clusters


def _force_path(cluster: str, path: str) -> None:
    """Rewrite a LogicalCluster's path annotation (and its derived column) below the API, as a
    future bypass of admission might. The unique index on live paths refuses a duplicate, so it is
    dropped first inside the test's transaction (rolled back with it)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS core_lc_live_path")
        cur.execute(
            "UPDATE core_logicalcluster SET path = %s, "
            "body = jsonb_set(body, '{metadata,annotations,kcp.io/path}', to_jsonb(%s::text)) "
            "WHERE cluster = %s AND name = 'cluster'",
            [path, path, cluster],
        )


@pytest.mark.parametrize("attacker_kind", sorted(ATTACKERS))
def test_forging_the_path_or_type_of_a_logical_cluster_is_refused(
    api: Api, landscape: dict[str, str], attacker_kind: str
) -> None:
    attacker = ATTACKERS[attacker_kind](api, TENANT)
    before = attacker.get(LC).json()
    for key, value in (
        ("kcp.io/path", "root"),
        ("kcp.io/path", "root:victim"),
        ("internal.tenancy.kcp.io/type", "root:organization"),
        ("core.kcp.io/shard", "elsewhere"),
    ):
        r = attacker.patch(LC, {"metadata": {"annotations": {key: value}}})
        assert forbidden_reserved(r, "annotation", key), r.content
        r = attacker.patch(
            LC,
            [{"op": "replace", "path": f"/metadata/annotations/{key.replace('/', '~1')}", "value": value}],
            content_type=JSON_PATCH,
        )
        assert forbidden_reserved(r, "annotation", key), r.content
    r = attacker.patch(LC, {"metadata": {"finalizers": []}})  # leaving them out keeps them
    assert r.status_code == 200 or forbidden_reserved(r, "finalizer", "core.kcp.io/logicalcluster-deletion")
    assert attacker.get(LC).json() == before
    assert api.get("/api/v1/namespaces/default/configmaps/data").status_code == 200


def test_deleting_a_workspace_with_a_forged_path_deletes_only_its_own_subtree(
    api: Api, landscape: dict[str, str]
) -> None:
    from workspaces.models import LogicalClusterRow

    attacker = workspace_admin(api, TENANT)
    assert attacker.post(WS, {"metadata": {"name": "sub"}}).status_code == 201
    reconcile_all()
    sub = cluster_of(api, f"{TENANT}:sub")
    mine = at(attacker, f"{TENANT}:sub")
    assert mine.post(CM, {"metadata": {"name": "mine"}}).status_code == 201  # the attacker owns sub
    r = mine.patch(LC, {"metadata": {"annotations": {"kcp.io/path": "root"}}})
    assert forbidden_reserved(r, "annotation", "kcp.io/path")
    _force_path(sub, "root")  # as if it had got through
    assert attacker.delete(f"{WS}/sub").status_code == 200
    reconcile_all()
    assert not LogicalClusterRow.objects.filter(cluster=sub).exists()
    for path in ("root", "root:victim", "root:victim:inner", TENANT):
        cluster = landscape[path]
        assert LogicalClusterRow.objects.filter(cluster=cluster).exists(), path
        assert at(api, path).get(f"{CM}/data").status_code == 200, path
    assert at(api, f"{TENANT}:sub").get(f"{CM}/mine").status_code == 404


def test_a_forged_path_does_not_shadow_another_tenants_path(api: Api, landscape: dict[str, str]) -> None:
    from kube.authz.user import UserInfo
    from workspaces.selectors import workspace_get_for_user
    from workspaces.services import cluster_path, cluster_resolve

    _force_path(landscape[TENANT], "root:victim")
    _force_path(landscape["root:victim:inner"], "root:tenant")
    assert cluster_resolve("root:victim") == landscape["root:victim"]
    assert cluster_resolve(TENANT) == landscape[TENANT]
    assert cluster_resolve("root:victim:inner") == landscape["root:victim:inner"]
    assert cluster_path(landscape[TENANT]) == TENANT
    assert (
        at(api, "root:victim").get(f"{CM}/data").json()["metadata"]["annotations"]["kcp.io/cluster"]
        == landscape["root:victim"]
    )
    admin = UserInfo(name="admin", groups=("system:masters",))
    assert workspace_get_for_user(path="root:victim", user=admin).cluster == landscape["root:victim"]
    assert workspace_get_for_user(path=TENANT, user=admin).cluster == landscape[TENANT]


def test_a_forged_type_does_not_escape_workspace_type_rules(api: Api, landscape: dict[str, str]) -> None:
    """`team` workspaces need an `organization` (or `team`) parent; root:tenant is `universal`."""
    from django.db import connection

    attacker = workspace_admin(api, TENANT)
    team = {"metadata": {"name": "t"}, "spec": {"type": {"name": "team", "path": "root"}}}
    r = attacker.patch(LC, {"metadata": {"annotations": {"internal.tenancy.kcp.io/type": "root:organization"}}})
    assert forbidden_reserved(r, "annotation", "internal.tenancy.kcp.io/type")
    r = attacker.post(WS, team)
    assert r.status_code == 422 and "does not allow parent type root:universal" in r.json()["message"]
    with connection.cursor() as cur:  # as if the forged type had got through
        cur.execute(
            "UPDATE core_logicalcluster SET type = 'root:organization', "
            "body = jsonb_set(body, '{metadata,annotations,internal.tenancy.kcp.io/type}', '\"root:organization\"') "
            "WHERE cluster = %s AND name = 'cluster'",
            [landscape[TENANT]],
        )
    r = attacker.post(WS, team)
    assert r.status_code == 422 and "does not allow parent type root:universal" in r.json()["message"]
    # the rules still let the right parents have their children
    make(api, "org", "organization")
    org_admin = workspace_admin(api, "root:org", user="olivia")
    assert org_admin.post(WS, team).status_code == 201


def test_at_most_one_live_logical_cluster_holds_a_path(api: Api, landscape: dict[str, str]) -> None:
    from django.db import IntegrityError, transaction

    from kube.storage import backend
    from kube.storage.backend import Key
    from workspaces.models import LogicalClusterRow

    victim = backend.get(Key(landscape["root:victim"], "core.kcp.io", "logicalclusters", "", "cluster"))
    assert victim is not None
    copy_ = copy.deepcopy(victim)
    copy_["metadata"].pop("uid")
    with pytest.raises(IntegrityError), transaction.atomic():
        backend.create(Key("impostor0000000", "core.kcp.io", "logicalclusters", "", "cluster"), copy_)
    assert LogicalClusterRow.objects.filter(path="root:victim").count() == 1
    # the same through the system's own Store: refused, nothing written
    from kube.errors import StatusError
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from workspaces.kinds import LOGICAL_CLUSTERS

    body = {"metadata": {"name": "cluster", "annotations": {"kcp.io/path": "root:victim"}}, "spec": {}}
    with pytest.raises((IntegrityError, StatusError)):
        STORE.create(LOGICAL_CLUSTERS, RequestContext(cluster="impostor0000001"), "", body)
    assert LogicalClusterRow.objects.filter(path="root:victim").count() == 1


def test_privileged_identities_keep_setting_reserved_metadata(api: Api, landscape: dict[str, str]) -> None:
    tenant = at(api, TENANT)
    r = tenant.patch(
        f"{CM}/data", {"metadata": {"annotations": {"kcp.io/path": "anything"}, "labels": {FORGED_LABEL: ""}}}
    )
    assert r.status_code == 200, r.content
    r = tenant.patch(LC, {"metadata": {"labels": {"tenancy.kcp.io/tier": "gold"}}})
    assert r.status_code == 200 and r.json()["metadata"]["labels"]["tenancy.kcp.io/tier"] == "gold"


def test_a_providers_create_through_its_virtual_workspace_gets_the_claim_label(api: Api) -> None:
    """The APIExport view adds its claim label to a provider's create itself: that is the
    server's label, not the provider's, and must not trip the reserved-metadata check (the
    provider is an ordinary user); a claim label of the provider's own making still does."""
    from tests.apis.test_bindings import CM_CLAIM, CONFIGMAPS, consumer, provider, vw

    p = provider(api, claims=[CM_CLAIM])
    yes = consumer(
        api,
        "yes",
        claims=[{"group": "", "resource": "configmaps", "selector": {"matchAll": True}, "state": "Accepted"}],
    )
    p.post(
        f"{RBAC}/clusterroles",
        {
            "metadata": {"name": "content"},
            "rules": [
                {"apiGroups": ["apis.kcp.io"], "resources": ["apiexports/content"], "verbs": ["*"]},
                {"nonResourceURLs": ["/"], "verbs": ["access"]},
            ],
        },
    )
    p.post(
        f"{RBAC}/clusterrolebindings",
        {
            "metadata": {"name": "operator-content"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "content"},
            "subjects": [{"kind": "User", "name": "operator", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    from kube.authz.tokens import token_issue

    view = vw(api, token=token_issue(user_name="operator", groups=["providers"]))
    consumer_cluster = cluster_of(api, "root:yes")
    r = view.request("POST", consumer_cluster, CONFIGMAPS, {"metadata": {"name": "from-provider"}})
    assert r.status_code == 201, r.content
    labels = r.json()["metadata"]["labels"]
    claim = next(k for k in labels if k.startswith("claimed.internal.apis.kcp.io/"))
    assert yes.get(f"{CONFIGMAPS}/from-provider").json()["metadata"]["labels"] == labels
    # resending the label the view adds anyway is no modification
    r = view.request("POST", consumer_cluster, CONFIGMAPS, {"metadata": {"name": "echo", "labels": {claim: ""}}})
    assert r.status_code == 201, r.content
    r = view.request("POST", consumer_cluster, CONFIGMAPS, {"metadata": {"name": "forged", "labels": {claim: "x"}}})
    assert forbidden_reserved(r, "label", claim), r.content
    r = view.request(
        "POST", consumer_cluster, CONFIGMAPS, {"metadata": {"name": "forged", "labels": {FORGED_LABEL: ""}}}
    )
    assert forbidden_reserved(r, "label", FORGED_LABEL), r.content
    assert yes.get(f"{CONFIGMAPS}/forged").status_code == 404


def test_the_endpoint_slice_opt_out_stays_the_export_owners_to_set(tenant: tuple[Api, Api]) -> None:
    """`apiexports.apis.kcp.io/skip-endpointslice` is a user-facing switch in kcp: exempt."""
    attacker, admin = tenant
    skip = {"apiexports.apis.kcp.io/skip-endpointslice": "true"}
    body = {**copy.deepcopy(EXPORT_V2), "metadata": {"name": "quiet", "annotations": skip}}
    r = attacker.post("/apis/apis.kcp.io/v1alpha2/apiexports", body)
    assert r.status_code == 201, r.content
    r = attacker.patch("/apis/apis.kcp.io/v1alpha2/apiexports/quiet", {"metadata": {"annotations": {**skip, "x": "y"}}})
    assert r.status_code == 200, r.content
    r = attacker.patch(
        "/apis/apis.kcp.io/v1alpha2/apiexports/quiet", {"metadata": {"annotations": {"kcp.io/path": "x"}}}
    )
    assert forbidden_reserved(r, "annotation", "kcp.io/path")


def test_a_hostile_path_is_refused_cheaply(api: Api, landscape: dict[str, str]) -> None:
    """Path lookup walks Workspaces segment by segment: a path of thousands of segments (or one
    that is not a path) must cost no more than a short one (the guard checks the CPU)."""
    for path in ("root:" + ":".join(["victim"] * 3000), "root:victim:" + "x" * 5000, "root:Victim", "root::victim"):
        r = at(api, path).get("/api/v1/namespaces")
        assert r.status_code == 404, (path[:40], r.status_code)


def test_a_privileged_write_duplicating_a_live_path_is_a_conflict_not_a_server_error(
    api: Api, landscape: dict[str, str]
) -> None:
    """Even the admin cannot give two live logical clusters one path: the unique index refuses
    it, answered as a 409 Status (never a 5xx), nothing written."""
    tenant = at(api, TENANT)
    before = tenant.get(LC).json()
    r = tenant.patch(LC, {"metadata": {"annotations": {"kcp.io/path": "root:victim"}}})
    assert r.status_code == 409 and r.json()["reason"] == "Conflict", r.content
    assert tenant.get(LC).json() == before
    assert tenant.patch(LC, {"metadata": {"annotations": {"kcp.io/path": TENANT}}}).status_code == 200


#: Every kcp-owned key the system itself writes somewhere (grep the apps for `kcp.io/`): each is
#: the tenant's to leave alone on any object, theirs included.
SYSTEM_KEYS = [
    ("annotation", "kcp.io/path"),
    ("annotation", "internal.tenancy.kcp.io/type"),
    ("annotation", "experimental.tenancy.kcp.io/owner"),
    ("annotation", "core.kcp.io/shard"),
    ("annotation", "apis.kcp.io/v1alpha2-spec"),
    ("label", "claimed.internal.apis.kcp.io/abc"),
    ("label", "internal.apis.kcp.io/export-abc"),
    ("finalizer", "core.kcp.io/logicalcluster"),
    ("finalizer", "core.kcp.io/logicalcluster-deletion"),
    ("finalizer", "apis.kcp.io/apibinding-finalizer"),
]


@pytest.mark.parametrize(("what", "key"), SYSTEM_KEYS, ids=[k for _, k in SYSTEM_KEYS])
def test_no_key_the_system_writes_can_be_forged(tenant: tuple[Api, Api], what: str, key: str) -> None:
    attacker, _ = tenant
    field_name = {"annotation": "annotations", "label": "labels", "finalizer": "finalizers"}[what]
    value: Any = [key] if what == "finalizer" else {key: "forged"}
    r = attacker.post(CM, {"metadata": {"name": "forged", field_name: value}})
    assert forbidden_reserved(r, what, key), r.content
    assert attacker.get(f"{CM}/forged").status_code == 404
    assert attacker.post(CM, {"metadata": {"name": "mine"}}).status_code == 201
    r = attacker.patch(f"{CM}/mine", {"metadata": {field_name: value}})
    assert forbidden_reserved(r, what, key), r.content
    ws = {"metadata": {"name": "child", field_name: value}}
    r = attacker.post("/apis/tenancy.kcp.io/v1alpha1/workspaces", ws)
    assert forbidden_reserved(r, what, key), r.content
