"""A hostile tenant's malformed input: every case is refused with a 4xx metav1.Status naming what
is wrong, changes nothing stored, and costs the server little (the conftest guard fails any
request of this file answered 5xx or costing more than a second of CPU).

The tenant is a ServiceAccount with cluster-admin in its own workspace (root:evil): everything
it may do, it may do there; a neighbour workspace (root:victim) holds data nothing may touch."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Api
from tests.factories import at, make, sa_token
from tests.kube.test_protobuf import entry, envelope, m, s

CM = "/api/v1/namespaces/default/configmaps"
NAMESPACES = "/api/v1/namespaces"
CLUSTERROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
ROLEBINDINGS = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"
BINDINGS = "/apis/apis.kcp.io/v1alpha2/apibindings"
PROTOBUF = "application/vnd.kubernetes.protobuf"

#: The review's 485-byte "billion laughs": nine lists of nine references, eight levels deep
#: (9**8 = 43 million strings once expanded).
BILLION_LAUGHS = (
    b'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 ["lol","lol","lol","lol","lol","lol","lol",'
    b'"lol","lol"]\n'
    + b"".join(b"l%d: &l%d [" % (i, i) + b",".join([b"*l%d" % (i - 1)] * 9) + b"]\n" for i in range(1, 9))
)


@pytest.fixture
def tenant(api: Api) -> Api:
    """The hostile tenant: cluster-admin of root:evil through a ServiceAccount token."""
    make(api, "evil")
    evil = at(api, "root:evil")
    token = sa_token(evil, "mallory")
    r = evil.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "mallory-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "mallory", "namespace": "default"}],
        },
    )
    assert r.status_code == 201, r.content
    assert evil.post(CM, {"metadata": {"name": "keep"}, "data": {"a": "1"}}).status_code == 201
    make(api, "victim")
    assert at(api, "root:victim").post(CM, {"metadata": {"name": "precious"}, "data": {"b": "2"}}).status_code == 201
    return Api(api.client, token, cluster="root:evil")


def stored_state() -> tuple[int, list[Any]]:
    """The revision counter and every stored row's key and revision: any write changes one."""
    from kube.storage import backend

    rows = []
    for model in backend.all_models():
        keys = ("cluster", "group", "resource", "namespace", "name", "resource_version")
        rows += list(model.objects.order_by("pk").values_list(*keys))
    return backend.current_revision(), rows


@contextlib.contextmanager
def nothing_stored() -> Iterator[None]:
    before = stored_state()
    yield
    assert stored_state() == before, "a refused request changed stored data"


def refused(r: Any, code: int, reason: str, *, field: str | None = None, says: str = "") -> dict[str, Any]:
    """Assert `r` is a metav1.Status with `code`/`reason` (and the cause naming `field`)."""
    assert r.status_code == code, (r.status_code, r.content[:500])
    status = r.json()
    assert (status["kind"], status["status"], status["code"], status["reason"]) == ("Status", "Failure", code, reason)
    if field is not None:
        assert field in [c.get("field") for c in status["details"]["causes"]], status
    assert says in status["message"], status["message"]
    return status


# --- YAML that expands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", CM, "application/yaml"),
        ("PUT", f"{CM}/lol", "application/yaml"),
        ("PATCH", f"{CM}/lol?fieldManager=evil", "application/apply-patch+yaml"),
        ("PATCH", f"{NAMESPACES}/lol?fieldManager=evil", "application/apply-patch+yaml"),
    ],
)
def test_yaml_aliases_are_refused_before_they_expand(tenant: Api, method: str, path: str, content_type: str) -> None:
    """485 bytes used to cost 20-30 s of CPU (blocking every tenant of the process) and end in 500."""
    assert len(BILLION_LAUGHS) < 500
    with nothing_stored():
        r = tenant.request(method, path, BILLION_LAUGHS, content_type=content_type)
    refused(r, 400, "BadRequest", says="aliases are not allowed")


def test_yaml_too_big_to_build_cheaply_is_refused(tenant: Api) -> None:
    from kube.decoding import MAX_YAML_DEPTH, MAX_YAML_NODES

    many = b"metadata: {name: many}\ndata: [" + b"a," * MAX_YAML_NODES + b"a]\n"
    deep = b"metadata: {name: deep}\ndata: " + b"[" * 20_000 + b"]" * 20_000 + b"\n"
    with nothing_stored():
        refused(tenant.post(CM, many, content_type="application/yaml"), 400, "BadRequest", says=f"{MAX_YAML_NODES}")
        refused(tenant.post(CM, deep, content_type="application/yaml"), 400, "BadRequest", says="nested too deeply")
    levels = MAX_YAML_DEPTH - 2
    shallow = b"metadata: {name: shallow}\ndata: {a: b}\nx: " + b"[" * levels + b"]" * levels
    assert tenant.post(CM, shallow, content_type="application/yaml").status_code == 201


def test_yaml_anchors_without_aliases_and_json_in_yaml_bodies_still_decode(tenant: Api) -> None:
    anchored = b"apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: anchored}\ndata: {a: b}\n"
    assert tenant.post(CM, anchored, content_type="application/yaml").status_code == 201
    applied = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}}).encode()
    r = tenant.patch(f"{CM}/applied?fieldManager=evil", applied, content_type="application/apply-patch+yaml")
    assert r.status_code == 201, r.content


# --- NUL characters ----------------------------------------------------------------------------------

NUL_BODIES = [
    pytest.param(b'{"metadata":{"name":"n"},"data":{"x":"a\\u0000b"}}', "application/json", "data.x", id="json-value"),
    pytest.param(
        b'{"metadata":{"name":"n"},"data":{"a\\u0000":"b"}}', "application/json", "data[a\\u0000]", id="json-key"
    ),
    pytest.param(b'{"metadata":{"name":"n\\u0000"}}', "application/json", "metadata.name", id="json-name"),
    pytest.param(
        b'{"metadata":{"name":"n","labels":{"a":"\\u0000"}}}', "application/json", "metadata.labels.a", id="json-label"
    ),
    pytest.param(b'{"metadata":{"name":"n"},"data":{"x":"\\u0000"}}', "", "data.x", id="no-content-type"),
    pytest.param(b'metadata: {name: n}\ndata: {x: "a\\0b"}\n', "application/yaml", "data.x", id="yaml-escape"),
    pytest.param(
        envelope("v1", "ConfigMap", m(1, s(1, "n")) + entry(2, "x", s(2, "a\x00b"))), PROTOBUF, "data.x", id="protobuf"
    ),
]


@pytest.mark.parametrize(("body", "content_type", "field"), NUL_BODIES)
def test_nul_in_a_body_is_refused_naming_the_field(tenant: Api, body: bytes, content_type: str, field: str) -> None:
    """PostgreSQL holds no NUL in text or jsonb: such a body used to fail its INSERT as a 500."""
    with nothing_stored():
        refused(tenant.post(CM, body, content_type=content_type), 400, "BadRequest", field=field, says="NUL")
        r = tenant.put(f"{CM}/keep", body.replace(b'"n"', b'"keep"'), content_type=content_type)
        refused(r, 400, "BadRequest", says="NUL")


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        (f"{CM}/keep", "application/merge-patch+json", b'{"data":{"a":"\\u0000"}}'),
        (f"{CM}/keep", "application/strategic-merge-patch+json", b'{"data":{"a":"\\u0000"}}'),
        (f"{CM}/keep", "application/json-patch+json", b'[{"op":"add","path":"/data/b","value":"\\u0000"}]'),
        (f"{CM}/keep?fieldManager=evil", "application/apply-patch+yaml", b'{"metadata":{"name":"keep"},"y":"\\u0000"}'),
        (f"{CM}/keep?fieldManager=evil", "application/apply-patch+yaml", b'metadata: {name: keep}\nx: "\\0"\n'),
    ],
)
def test_nul_in_a_patch_is_refused(tenant: Api, path: str, content_type: str, body: bytes) -> None:
    with nothing_stored():
        refused(tenant.patch(path, body, content_type=content_type), 400, "BadRequest", says="NUL")


def test_nul_in_references_is_refused_before_any_lookup(tenant: Api) -> None:
    """References are looked up by name: a roleRef or an APIBinding's export with a NUL reached
    PostgreSQL in those lookups."""
    binding = {
        "metadata": {"name": "rb"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin\u0000"},
        "subjects": [{"kind": "User", "name": "someone"}],
    }
    apibinding = {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIBinding",
        "metadata": {"name": "b"},
        "spec": {"reference": {"export": {"path": "root:victim\u0000", "name": "x"}}},
    }
    with nothing_stored():
        refused(tenant.post(ROLEBINDINGS, binding), 400, "BadRequest", field="roleRef.name")
        refused(tenant.post(BINDINGS, apibinding), 400, "BadRequest", field="spec.reference.export.path")
        r = tenant.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "configmaps", "namespace": "a\u0000"}},
        })
        refused(r, 400, "BadRequest", field="spec.resourceAttributes.namespace")


@pytest.mark.parametrize(
    "path",
    [
        f"{CM}/a%00b",
        "/api/v1/namespaces/de%00fault/configmaps",
        "/api/v1/namespaces/de%00fault/configmaps/keep",
        "/apis/rbac.authorization.k8s.io%00/v1/clusterroles",
        f"{NAMESPACES}/default%00",
    ],
)
def test_nul_in_the_url_path_is_refused(tenant: Api, path: str) -> None:
    with nothing_stored():
        for method in ("GET", "DELETE"):
            refused(tenant.request(method, path), 400, "BadRequest", field="the request path")
        refused(tenant.put(path, {"metadata": {"name": "keep"}}), 400, "BadRequest", field="the request path")


def test_nul_in_a_cluster_path_is_refused(tenant: Api) -> None:
    elsewhere = Api(tenant.client, tenant.token, cluster="root:victim%00")
    with nothing_stored():
        refused(elsewhere.get(CM), 400, "BadRequest", field="the request path")
        refused(elsewhere.post(CM, {"metadata": {"name": "x"}}), 400, "BadRequest", field="the request path")


@pytest.mark.parametrize(
    ("method", "query", "parameter"),
    [
        ("GET", "labelSelector=a%3Db%00", "labelSelector"),
        ("GET", "fieldSelector=metadata.name%3Dkeep%00", "fieldSelector"),
        ("GET", "limit=1&continue=%00", "continue"),
        ("GET", "resourceVersion=1%00", "resourceVersion"),
        ("GET", "watch=%00", "watch"),
        ("GET", "a%00=1", "a\\u0000"),
        ("POST", "fieldManager=evil%00", "fieldManager"),
        ("POST", "dryRun=All%00", "dryRun"),
        ("DELETE", "propagationPolicy=Orphan%00", "propagationPolicy"),
    ],
)
def test_nul_in_query_parameters_is_refused_naming_them(tenant: Api, method: str, query: str, parameter: str) -> None:
    path = f"{CM}/keep" if method == "DELETE" else CM
    with nothing_stored():
        r = tenant.request(method, f"{path}?{query}", {"metadata": {"name": "q"}} if method == "POST" else None)
        refused(r, 400, "BadRequest", field=parameter)


@pytest.mark.parametrize(
    ("header", "value"),
    [("Impersonate-User", "root\x00"), ("Impersonate-Group", "system:masters\x00"), ("Authorization", "Bearer x\x00")],
)
def test_nul_in_headers_is_refused(tenant: Api, header: str, value: str) -> None:
    with nothing_stored():
        refused(tenant.get(CM, headers={header: value}), 400, "BadRequest", field=f"header {header}")


@pytest.mark.django_db(transaction=True)
def test_nul_in_a_watch_request_is_refused(admin_token: str) -> None:
    """Watches are served outside Django (kcpsite.asgi routes them to the watch consumer): the
    same check, before the token or the cluster is looked up."""
    from tests.watching import Watch

    for path in (f"{CM}?watch=true&labelSelector=a%00", "/api/v1/namespaces/a\x00/configmaps?watch=true"):
        w = Watch(path, admin_token)
        try:
            assert w.finished.wait(10) and w.status == 400, (w.status, w.chunks)
            status = json.loads(b"".join(w.chunks))
            assert (status["kind"], status["reason"]) == ("Status", "BadRequest") and "NUL" in status["message"]
        finally:
            w.close()


# --- names longer than their column -------------------------------------------------------------------


def test_over_long_names_are_not_found_nor_truncated(tenant: Api) -> None:
    """The lookups cast a name to varchar(253), truncating it: a GET of a 254-character name
    returned the object named by its first 253 characters, and its DELETE answered 500."""
    name = "x" * 253
    assert tenant.post(CM, {"metadata": {"name": name}}).status_code == 201
    longer = name + "y"
    with nothing_stored():
        refused(tenant.get(f"{CM}/{longer}"), 404, "NotFound")
        refused(tenant.delete(f"{CM}/{longer}"), 404, "NotFound")
        refused(tenant.put(f"{CM}/{longer}", {"metadata": {"name": longer}}), 404, "NotFound")
        refused(tenant.patch(f"{CM}/{longer}", {"data": {"a": "b"}}), 404, "NotFound")
        refused(tenant.post(CM, {"metadata": {"name": longer}}), 422, "Invalid", field="metadata.name")
        refused(tenant.post(CLUSTERROLES, {"metadata": {"name": "r" * 254}}), 422, "Invalid", field="metadata.name")
        r = tenant.patch(f"{CM}/{longer}?fieldManager=evil",
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": longer}},
                         content_type="application/apply-patch+yaml")
        refused(r, 422, "Invalid", field="metadata.name")
        long_namespace = f"/api/v1/namespaces/{'n' * 64}/configmaps"
        refused(tenant.get(f"{long_namespace}/keep"), 404, "NotFound")
        r = tenant.post(long_namespace, {"metadata": {"name": "a"}})
        refused(r, 422, "Invalid", field="metadata.namespace", says="must be no more than 63 characters")
        assert tenant.get(long_namespace).json()["items"] == []
    assert tenant.get(f"{CM}/{name}").status_code == 200


# --- bodies the server does not decode -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "garbage",
        "application/merge-patch+json",
        "*/*",
    ],
)
def test_write_bodies_of_an_undecoded_type_are_415(tenant: Api, content_type: str) -> None:
    """They used to be read as JSON or YAML whatever they said (a form POST created objects)."""
    body = json.dumps({"metadata": {"name": "typed"}, "data": {"a": "1"}})
    with nothing_stored():
        for method, path in (("POST", CM), ("PUT", f"{CM}/keep"), ("DELETE", f"{CM}/keep")):
            r = tenant.request(method, path, body, content_type=content_type)
            refused(r, 415, "UnsupportedMediaType", says="application/json, application/yaml")
    assert tenant.post(CM, body, content_type="").status_code == 201  # no Content-Type: JSON


# --- the namespaces every workspace keeps ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_immortal_namespaces_cannot_be_deleted(tenant: Api, api: Api, name: str) -> None:
    """`kubectl delete ns --all` deletes each namespace by name: these must stay (NamespaceLifecycle)."""
    at(api, "root:evil").post(NAMESPACES, {"metadata": {"name": name}})  # kube-public: not in every workspace
    with nothing_stored():
        for query in ("", "?dryRun=All"):
            r = tenant.delete(f"{NAMESPACES}/{name}{query}")
            refused(r, 403, "Forbidden", says=f'namespaces "{name}" is forbidden: this namespace may not be deleted')
            assert r.json()["details"] == {"name": name, "kind": "namespaces"}
        refused(tenant.delete(NAMESPACES), 405, "MethodNotAllowed")
    assert tenant.get(f"{NAMESPACES}/{name}").json()["status"]["phase"] == "Active"


# --- the rest of the parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"k8s\x00", id="empty-envelope"),
        pytest.param(b"k8s\x00\x0a", id="truncated-length"),
        pytest.param(b"k8s\x00\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f", id="huge-length"),
        pytest.param(b"k8s\x00" + b"\xff" * 20, id="varint-overflow"),
        pytest.param(b"k8s\x00\x0b", id="group-wire-type"),
        pytest.param(b"not protobuf at all", id="no-magic"),
        pytest.param(envelope("v1", "ConfigMap", m(1, s(1, "n")) + b"\x12\xff\x7f"), id="truncated-entry"),
        pytest.param(envelope("v1", "ConfigMap", m(1, m(15, m(1, m(1, m(1)))))), id="nested-unknown"),
        pytest.param(envelope("v1", "Pod", b""), id="unsupported-kind"),
        pytest.param(envelope("v1", "ConfigMap", m(1, s(1, "n"), s(14, b"\xff\xfe"))), id="invalid-utf8"),
    ],
)
def test_malformed_protobuf_bodies_are_400(tenant: Api, body: bytes) -> None:
    with nothing_stored():
        r = tenant.post(CM, body, content_type=PROTOBUF)
        assert r.status_code in (400, 422), r.content  # invalid UTF-8 decodes (as U+FFFD) to an invalid finalizer
        refused(r, r.status_code, "BadRequest" if r.status_code == 400 else "Invalid")


def test_json_nested_too_deeply_is_400(tenant: Api) -> None:
    with nothing_stored():
        refused(tenant.post(CM, b"[" * 100_000 + b"]" * 100_000), 400, "BadRequest")
        nested = b'{"metadata":{"name":"d"},"x":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"
        refused(tenant.post(CM, nested), 400, "BadRequest", says="nested too deeply")
        patch = b'{"x":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"
        for content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            refused(tenant.patch(f"{CM}/keep", patch, content_type=content_type), 400, "BadRequest")


def test_a_million_invalid_list_items_are_refused_at_the_first_thousand(tenant: Api) -> None:
    """Every invalid finalizer used to be validated and reported: 27 s of CPU and a 400 MB Status
    for 2 MB of protobuf. Validation now stops at MAX_FIELD_ERRORS causes; a body already too large
    to store is refused before the work proportional to it."""
    from kube.errors import MAX_FIELD_ERRORS

    with nothing_stored():
        r = tenant.post(CM, {"metadata": {"name": "f", "finalizers": [""] * 50_000}})
        status = refused(r, 422, "Invalid", says=f"more than {MAX_FIELD_ERRORS} field errors")
        assert len(status["details"]["causes"]) == MAX_FIELD_ERRORS and len(r.content) < 300_000
        protobuf = envelope("v1", "ConfigMap", m(1, s(1, "f"), s(14, b"") * 550_000))
        refused(tenant.post(CM, protobuf, content_type=PROTOBUF), 422, "Invalid", says="Too long: object is")


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json-patch+json", [{"op": "add", "path": "/x", "value": [1]}]
         + [{"op": "copy", "from": "/x", "path": "/x/-"}] * 60, 422),
        ("application/json-patch+json", [{"op": "add", "path": "/data/" + "a" * 2_000_000, "value": "x"}], 422),
        ("application/json-patch+json", [{"op": "add", "path": "/x" + "/0" * 100_000, "value": "x"}], 422),
        ("application/json-patch+json", [{"op": "test", "path": "/data", "value": {}}] * 10_001, 413),
        ("application/json-patch+json", {"op": "add"}, 400),
        ("application/merge-patch+json", [1, 2, 3], 400),
        ("application/merge-patch+json", "x", 400),
        ("application/strategic-merge-patch+json", [1, 2, 3], 400),
        ("application/strategic-merge-patch+json", {"$patch": "bogus"}, 400),
        ("application/strategic-merge-patch+json", {"metadata": {"$retainKeys": "x"}}, 400),
        ("application/strategic-merge-patch+json", {"metadata": {"$setElementOrder/finalizers": 5}}, 400),
        ("application/strategic-merge-patch+json", {"metadata": {"ownerReferences": {"a": 1}}}, 400),
        ("application/apply-patch+yaml", [1], 400),
    ],
)
def test_abusive_patches_are_refused(tenant: Api, content_type: str, body: Any, code: int) -> None:
    """Sixty `copy` operations of a list onto itself doubled it sixty times (the server ran out of
    memory); the apiserver's copy limit now stops them."""
    query = "?fieldManager=evil" if "apply" in content_type else ""
    with nothing_stored():
        r = tenant.patch(f"{CM}/keep{query}", json.dumps(body).encode(), content_type=content_type)
        assert r.status_code == code, r.content[:300]
        assert r.json()["kind"] == "Status"


def _token(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "====",
        _token([1]),
        _token({"v": "kcp.io/v1", "rv": 10**30, "after": ["a", "b", "c"]}),
        _token({"v": "kcp.io/v1", "rv": -5, "after": ["a", "b", "c"]}),
        _token({"v": "kcp.io/v1", "rv": 1.5, "after": ["a", "b", "c"]}),
        _token({"v": "kcp.io/v1", "rv": True, "after": ["a", "b", "c"]}),
        _token({"v": "kcp.io/v1", "rv": 1, "after": ["a\u0000", "b", "c"]}),
        _token({"v": "kcp.io/v1", "rv": 1, "after": "abc"}),
        _token({"v": "kcp.io/v1", "rv": 1, "after": [1, 2, 3]}),
    ],
)
def test_forged_continue_tokens_are_400(tenant: Api, token: str) -> None:
    """A revision beyond 64 bits or a key with a NUL reached the query: 500."""
    refused(tenant.get(f"{CM}?limit=1&continue={quote(token)}"), 400, "BadRequest", says="continue key is not valid")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("resourceVersion=-1", 400),
        ("resourceVersion=%20%201", 400),
        ("resourceVersion=1_0", 400),
        ("resourceVersion=%EF%BC%91", 400),  # a full-width digit one
        ("resourceVersion=+5", 400),
        ("resourceVersion=" + "9" * 5000, 400),
        ("limit=1_0", 422),
        ("limit=-1", 422),
        ("limit=" + "9" * 5000, 422),
        ("limit=%EF%BC%91", 422),
        ("timeoutSeconds=1_0", 422),
        ("timeoutSeconds=99999999999999999999", 422),
        ("labelSelector=" + quote("(" * 5000), 400),
        ("labelSelector=%ff%fe", 400),
        ("fieldSelector=%ff%fe", 400),
        ("fieldSelector=" + quote("metadata.name=" + "\\" * 1001), 400),
        ("fieldSelector=spec.nothing%3Dx", 400),
    ],
)
def test_malformed_list_parameters_are_refused(tenant: Api, query: str, code: int) -> None:
    r = tenant.get(f"{CM}?{query}")
    refused(r, code, "BadRequest" if code == 400 else "Invalid")


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("gracePeriodSeconds=1_0", None),
        ("gracePeriodSeconds=" + "9" * 30, None),
        ("", {"preconditions": "x"}),
        ("", {"preconditions": {"uid": 5}}),
        ("", {"dryRun": 5}),
        ("", {"dryRun": [5]}),
        ("", {"orphanDependents": "yes"}),
        ("", {"gracePeriodSeconds": 10**30}),
        ("", [1]),
    ],
)
def test_malformed_delete_options_are_refused(tenant: Api, query: str, body: Any) -> None:
    """A DeleteOptions whose `preconditions` was not an object answered 500."""
    with nothing_stored():
        r = tenant.delete(f"{CM}/keep?{query}", body)
        assert r.status_code in (400, 422), r.content
        assert r.json()["kind"] == "Status"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (f"{CM}/a%2Fb", 404),
        (f"{CM}/%2e%2e", 404),
        (f"{CM}/%25", 404),
        (f"{CM}/%ff%fe", 404),
        (f"{CM}/keep%2Fstatus", 404),
        ("/apis/%ff/v1/x", 404),
        ("/api/v1/namespaces/" + "n" * 5000 + "/configmaps/x", 404),
        (f"{CM}/keep/status/extra/parts", 404),
    ],
)
def test_odd_and_percent_encoded_paths_are_4xx(tenant: Api, path: str, code: int) -> None:
    with nothing_stored():
        refused(tenant.get(path), code, "NotFound")
        assert tenant.delete(path).status_code in (404, 405)


def test_odd_cluster_paths_are_404(tenant: Api) -> None:
    for cluster in ("%ff", "r" * 3000, "root:" + ":".join(["a"] * 1000), "root:victim%2F..", "*x"):
        elsewhere = Api(tenant.client, tenant.token, cluster=cluster)
        assert elsewhere.get(CM).status_code in (403, 404)


def test_the_neighbour_is_untouched(tenant: Api, api: Api) -> None:
    """After all of the above in its own workspace, the tenant's reach ends there."""
    victim = at(api, "root:victim")
    before = victim.get(f"{CM}/precious").json()
    elsewhere = Api(tenant.client, tenant.token, cluster="root:victim")
    assert elsewhere.delete(f"{CM}/precious").status_code == 403
    r = elsewhere.patch(f"{CM}/precious", BILLION_LAUGHS, content_type="application/apply-patch+yaml")
    assert r.status_code in (400, 403)
    assert victim.get(f"{CM}/precious").json() == before
