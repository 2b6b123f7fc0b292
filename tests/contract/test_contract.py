"""The API contract every registered kind keeps, generated from the registry (k8s.io/apiserver's
`registry/rest/resttest` tester and NetBox's per-model API test cases): CRUD through the HTTP API,
409 on a stale resourceVersion, dry-run writing nothing, Table output with kube's columns, 403 for
a user without grants, kcp-owned metadata refused, every patch type, list selectors and pages,
invalid options, the declared subresources, and kube's 405 for every verb a kind does not serve.
Watches are in test_watch.py (they need committed transactions).

Each test is parametrized over `CASES` (tests/contract/kinds.py): the built-in kinds, a CRD's kind
and a bound API's kind. A check a kind cannot take part in (a review is never stored; the system
owns a LogicalCluster) asserts the refusal the kind answers instead, so no case is skipped. A
difference from kube-apiserver fails its case."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.kinds import CASES, Case, World, info_of, kind_id, world
from tests.contract.support import (
    KINDS,
    labelled,
    names_listed,
    not_served,
    refused,
    status_of,
    storage_snapshot,
    subject,
    with_query,
)

pytestmark = pytest.mark.django_db  # each check in a savepoint of its kind's world (conftest.py)

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
#: API groups whose kinds kube-apiserver serves natively (strategic merge patch works); kinds of
#: other groups are custom resources (kcp's own kinds are CRDs in kcp) and answer it with 415.
NATIVE_GROUPS = {"", "events.k8s.io", "coordination.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io"}


# --- the registry ---------------------------------------------------------------------------------


def test_every_registered_kind_has_a_case(api: Api) -> None:
    """The registry's kinds as served in a workspace with a CRD and a bound API: a kind added
    later without a case in tests/contract/kinds.py fails here."""
    from kube.registry import REGISTRY

    cr = ("example.com", "v1", "widgets")
    bound = next(k for k in CASES if k[2] == "cowboys")
    w = world(api, CASES[cr])
    assert CASES[bound].prepare is not None
    CASES[bound].prepare(w)
    served = {(i.group, i.version, i.resource) for i in REGISTRY.resources(w.cluster)}
    assert {cr, bound} <= served
    missing = sorted(served - set(CASES))
    assert not missing, f"add a case to tests/contract/kinds.py CASES for {', '.join(map(kind_id, missing))}"
    stale = sorted(set(CASES) - served - {k for k, c in CASES.items() if c.home == "root"})
    assert not stale, f"CASES names kinds nobody serves: {stale}"


# --- the checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_unserved_verbs_answer_method_not_allowed(kind: Any, case: Case, w: World) -> None:
    """Every verb the registry does not list for the kind is refused with kube's 405 Status, on
    the collection and on an object's URL alike; the verbs it lists are not."""
    from kube.registry.resources import ALL_VERBS

    info = info_of(w, kind)
    item, coll = case.url(), case.collection
    requests = {
        "get": ("GET", item),
        "list": ("GET", coll),
        "watch": ("GET", coll + "?watch=1&timeoutSeconds=1"),
        "create": ("POST", coll),
        "update": ("PUT", item),
        "patch": ("PATCH", item),
        "delete": ("DELETE", item),
        "deletecollection": ("DELETE", coll),
    }
    unserved = [v for v in ALL_VERBS if v not in info.verbs]
    for verb in unserved:
        method, url = requests[verb]
        body = {} if method in ("PUT", "PATCH", "POST") else None
        ct = MERGE if method == "PATCH" else "application/json"
        r = w.admin.request(method, url, body, content_type=ct)
        assert r.status_code == 405, (verb, r.status_code, r.content[:300])
        not_served(r)
    if case.stored:
        assert set(info.verbs) >= {"get", "list", "watch", "update", "patch", "create", "delete"}
    else:
        assert info.verbs == ("create",) and unserved


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_create_get_list_update_patch_delete(kind: Any, case: Case, w: World) -> None:
    """The object's life through the API as the workspace admin: create (a second create is
    409 AlreadyExists), get, list, PUT (a body naming another object is 400), merge patch,
    delete (finished by the kind's controller where a finalizer holds it), then 404."""
    info = info_of(w, kind)
    if not case.stored:  # a review: the answer carries the status, nothing is kept
        r = w.actor.post(case.collection, case.create_body())
        assert r.status_code == 201, r.content
        assert r.json()["kind"] == info.kind and r.json()["apiVersion"] == info.group_version
        assert "status" in r.json()
        return
    if case.system_made:  # no client makes one (and no other name is valid: validation runs first)
        refusable = case.refused_create or {"metadata": {"name": case.name}}
        refused(w.actor.post(case.collection, refusable), 403, "Forbidden")
        refused(w.actor.post(case.collection, {"metadata": {"name": "another"}}), 422, "Invalid")
    created = subject(w, case)
    md = created["metadata"]
    assert created["kind"] == info.kind and created["apiVersion"] == info.group_version
    assert md["name"] == case.name and md["uid"] and md["resourceVersion"] and md["creationTimestamp"]
    assert bool(md.get("namespace")) == info.namespaced

    got = w.actor.get(case.url())
    assert got.status_code == 200 and got.json()["metadata"]["uid"] == md["uid"]
    listed = w.actor.get(case.collection)
    assert listed.status_code == 200 and listed.json()["kind"] == info.list_kind
    assert listed.json()["metadata"]["resourceVersion"]
    assert case.name in [i["metadata"]["name"] for i in listed.json()["items"]]

    if case.body is not None:
        refused(w.actor.post(case.collection, case.create_body()), 409, "AlreadyExists")
    current = got.json()
    renamed = labelled(current, "put")
    renamed["metadata"]["name"] = "another"
    refused(w.actor.put(case.url(), renamed), 400, "BadRequest")  # the body names another object
    r = w.actor.put(case.url(), labelled(current, "put"))
    assert r.status_code == 200, r.content
    assert r.json()["metadata"]["labels"]["contract"] == "put"
    assert r.json()["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]
    r = w.actor.patch(case.url(), {"metadata": {"labels": {"contract": "patch"}}})
    assert r.status_code == 200, r.content
    assert w.actor.get(case.url()).json()["metadata"]["labels"]["contract"] == "patch"

    r = w.actor.delete(case.url())
    if case.system_made:
        refused(r, 403, "Forbidden")
        assert w.actor.get(case.url()).status_code == 200
        return
    assert r.status_code in (200, 202), r.content
    if case.finalize:
        case.finalize(w, case.name)
    refused(w.actor.get(case.url()), 404, "NotFound")
    assert case.name not in names_listed(w.actor, case)


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_a_stale_resource_version_is_a_conflict(kind: Any, case: Case, w: World) -> None:
    """Optimistic concurrency: a PUT, a merge patch or a delete precondition naming a
    resourceVersion that is no longer current is kube's 409 Conflict, and changes nothing."""
    if not case.stored:
        not_served(w.actor.put(case.url(), case.create_body()))
        return
    stale = subject(w, case)
    r = w.actor.put(case.url(), labelled(stale, "first"))
    assert r.status_code == 200, r.content
    r = w.actor.put(case.url(), labelled(stale, "second"))
    refused(r, 409, "Conflict")
    assert "the object has been modified" in status_of(r)["message"]
    assert w.actor.get(case.url()).json()["metadata"]["labels"]["contract"] == "first"
    # a merge patch naming the stale version, and a delete preconditioned on it, are refused alike
    r = w.actor.patch(case.url(), {"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]}})
    refused(r, 409, "Conflict")
    r = w.actor.delete(case.url(), {"preconditions": {"resourceVersion": stale["metadata"]["resourceVersion"]}})
    if case.system_made:
        refused(r, 403, "Forbidden")  # no client deletes it, whatever the precondition
    else:
        refused(r, 409, "Conflict")
    assert "deletionTimestamp" not in w.actor.get(case.url()).json()["metadata"]


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_dry_run_persists_nothing(kind: Any, case: Case, w: World) -> None:
    """`?dryRun=All` runs a write to its answer and writes nothing: no revision, no event, no row
    (a Workspace's logical cluster, a CRD's served API included)."""
    if not case.stored:
        r = w.actor.post(with_query(case.collection, "dryRun=All"), case.create_body())
        assert r.status_code == 201 and "status" in r.json(), r.content
        return
    if case.body is not None:
        untouched = storage_snapshot()
        r = w.actor.post(with_query(case.collection, "dryRun=All"), case.create_body())
        assert r.status_code == 201, r.content
        assert r.json()["metadata"]["name"] == case.name
        assert storage_snapshot() == untouched
        refused(w.actor.get(case.url()), 404, "NotFound")
    before = subject(w, case)
    untouched = storage_snapshot()
    r = w.actor.put(with_query(case.url(), "dryRun=All"), labelled(before, "dry"))
    assert r.status_code == 200 and r.json()["metadata"]["labels"]["contract"] == "dry", r.content
    r = w.actor.patch(with_query(case.url(), "dryRun=All"), {"metadata": {"labels": {"contract": "dry"}}})
    assert r.status_code == 200 and r.json()["metadata"]["labels"]["contract"] == "dry", r.content
    r = w.actor.delete(with_query(case.url(), "dryRun=All"))
    if case.system_made:
        refused(r, 403, "Forbidden")
    else:
        assert r.status_code in (200, 202), r.content
    assert storage_snapshot() == untouched
    after = w.actor.get(case.url())
    assert after.status_code == 200, after.content
    assert after.json()["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "deletionTimestamp" not in after.json()["metadata"]
    assert (after.json()["metadata"].get("labels") or {}).get("contract") is None


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_table_output(kind: Any, case: Case, w: World) -> None:
    """`kubectl get`'s Accept header: a meta.k8s.io/v1 Table with kube's column definitions (one
    of format `name`) and one row per object, for the collection and for one object."""
    if not case.stored:
        not_served(w.actor.get(case.collection, headers={"Accept": TABLE}))
        return
    subject(w, case)
    r = w.actor.get(case.collection, headers={"Accept": TABLE})
    assert r.status_code == 200, r.content
    table = r.json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = table["columnDefinitions"]
    assert all(c["name"] and c["type"] and "format" in c for c in columns), columns
    assert [c["name"] for c in columns if c["format"] == "name"] == ["Name"], columns
    if case.columns:
        assert [c["name"] + ("*" if c.get("priority") else "") for c in columns] == list(case.columns)
    rows = table["rows"]
    assert sorted(row["object"]["metadata"]["name"] for row in rows) == sorted(names_listed(w.actor, case))
    assert all(len(row["cells"]) == len(columns) for row in rows)
    assert table["metadata"]["resourceVersion"]
    one = w.actor.get(case.url(), headers={"Accept": TABLE}).json()
    assert one["kind"] == "Table" and [row["object"]["metadata"]["name"] for row in one["rows"]] == [case.name]


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_a_user_without_grants_is_forbidden(kind: Any, case: Case, w: World) -> None:
    """An ordinary user with no RBAC rights in the workspace: get, list, watch and create are
    refused with 403, and the refused create writes nothing."""
    if case.stored:
        subject(w, case)
        refused(w.outsider.get(case.url()), 403, "Forbidden")
        refused(w.outsider.get(case.collection), 403, "Forbidden")
        refused(w.outsider.get(case.collection + "?watch=1&timeoutSeconds=1"), 403, "Forbidden")
    body = case.create_body("outsider") if case.body is not None else {"metadata": {"name": "outsider"}}
    refused(w.outsider.post(case.collection, body), 403, "Forbidden")
    if case.stored:
        assert w.actor.get(case.url("outsider")).status_code == 404


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_kcp_owned_metadata_is_refused(kind: Any, case: Case, w: World) -> None:
    """A workspace admin may not set `kcp.io` annotations (kcp's reserved metadata): on create
    and on update, with 403 naming the key; nothing changes."""
    forged = {"kcp.io/path": "root"}
    if not case.stored:  # a review keeps no metadata: the annotation lands nowhere, not even the answer
        body = case.create_body()
        body["metadata"]["annotations"] = forged
        r = w.actor.post(case.collection, body)
        assert r.status_code == 201, r.content
        assert "kcp.io/path" not in (r.json()["metadata"].get("annotations") or {})
        return
    if case.body is not None:
        body = case.create_body("forged")
        body["metadata"]["annotations"] = forged
        r = w.actor.post(case.collection, body)
        refused(r, 403, "Forbidden")
        assert 'modification of reserved annotation "kcp.io/path" is forbidden' in status_of(r)["message"]
        assert w.actor.get(case.url("forged")).status_code == 404
    before = subject(w, case)
    r = w.actor.patch(case.url(), {"metadata": {"annotations": forged}})
    refused(r, 403, "Forbidden")
    assert 'modification of reserved annotation "kcp.io/path" is forbidden' in status_of(r)["message"]
    changed = copy.deepcopy(before)
    changed["metadata"].setdefault("annotations", {}).update(forged)
    refused(w.actor.put(case.url(), changed), 403, "Forbidden")
    after = w.actor.get(case.url()).json()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def _status(w: World, case: Case, current: dict[str, Any]) -> None:
    """The object; a status write leaves metadata labels alone (kube's status strategies keep
    the stored metadata but for what they own)."""
    r = w.actor.get(case.url() + "/status")
    assert r.status_code == 200 and r.json()["metadata"]["uid"] == current["metadata"]["uid"], r.content
    r = w.actor.put(case.url() + "/status", labelled(r.json(), "status"))
    assert r.status_code == 200, r.content
    assert "contract" not in (w.actor.get(case.url()).json()["metadata"].get("labels") or {})


def _finalize(w: World, case: Case, current: dict[str, Any]) -> None:
    """A namespace's finalize: update only (kube's FinalizeREST), writing spec.finalizers."""
    not_served(w.actor.get(case.url() + "/finalize"))
    body = copy.deepcopy(current)
    body["spec"]["finalizers"] = ["kubernetes", "example.com/contract"]
    r = w.actor.put(case.url() + "/finalize", body)
    assert r.status_code == 200 and r.json()["spec"]["finalizers"] == ["kubernetes", "example.com/contract"], r.content


def _token(w: World, case: Case, current: dict[str, Any]) -> None:
    """A ServiceAccount's token: create only (kube's TokenREST), a TokenRequest answered."""
    not_served(w.actor.get(case.url() + "/token"))
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    r = w.actor.post(case.url() + "/token", request)
    assert r.status_code == 201 and r.json()["kind"] == "TokenRequest", r.content
    assert r.json()["status"]["token"] and r.json()["status"]["expirationTimestamp"]


#: What each subresource a kind may declare answers (a kind declaring another fails the check).
SUBRESOURCES = {"status": _status, "finalize": _finalize, "token": _token}


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_subresources_answer_like_kube(kind: Any, case: Case, w: World) -> None:
    """Each subresource the registry declares for the kind (its own or one with its own kind,
    like TokenRequest) answers as kube's does; any other subresource is kube's 404."""
    info = info_of(w, kind)
    if not case.stored:
        refused(w.admin.get(case.url() + "/status"), 404, "NotFound")
        return
    declared = set(info.subresources) | set(info.extra_subresources)
    assert declared <= set(SUBRESOURCES), f"add a check of {declared - set(SUBRESOURCES)} to SUBRESOURCES"
    current = subject(w, case)
    for sub in sorted(declared):
        SUBRESOURCES[sub](w, case, current)
    for sub in sorted({"status", "scale", "nope"} - declared):
        refused(w.actor.get(f"{case.url()}/{sub}"), 404, "NotFound")


def _apply_head(info: Any, name: str) -> dict[str, Any]:
    ident = {"name": name, **({"namespace": "default"} if info.namespaced else {})}
    return {"apiVersion": info.group_version, "kind": info.kind, "metadata": ident}


def _managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or []]


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_every_patch_type(kind: Any, case: Case, w: World) -> None:
    """Server-side apply creating and updating (its field manager recorded), JSON patch and
    strategic merge patch (kube's 415 for custom resources); merge patch is in the CRUD check."""
    info = info_of(w, kind)
    if not case.stored:
        for content_type in (MERGE, JSON_PATCH, STRATEGIC, APPLY):
            not_served(w.actor.patch(case.url(), {}, content_type=content_type))
        return
    if case.body is not None:  # the object is made by an apply
        applied = {**case.create_body(), **_apply_head(info, case.name)}
        applied["metadata"]["labels"] = {"made-by": "apply"}  # a field of the manager's, whatever the kind
        r = w.actor.patch(case.url() + "?fieldManager=contract", applied, content_type=APPLY)
        assert r.status_code == 201, r.content
        assert ("contract", "Apply") in _managers(r.json()), r.json()["metadata"]
    else:
        subject(w, case)
    add = [{"op": "add", "path": "/metadata/labels/json", "value": "patch"}]
    if not w.actor.get(case.url()).json()["metadata"].get("labels"):
        add = [{"op": "add", "path": "/metadata/labels", "value": {"json": "patch"}}]
    r = w.actor.patch(case.url(), add, content_type=JSON_PATCH)
    assert r.status_code == 200 and r.json()["metadata"]["labels"]["json"] == "patch", r.content
    r = w.actor.patch(case.url(), {"metadata": {"labels": {"strategic": "patch"}}}, content_type=STRATEGIC)
    if kind[0] in NATIVE_GROUPS:
        assert r.status_code == 200 and r.json()["metadata"]["labels"]["strategic"] == "patch", r.content
    else:
        refused(r, 415, "UnsupportedMediaType")
    head = _apply_head(info, case.name)
    head["metadata"]["labels"] = {"applied": "yes"}
    r = w.actor.patch(case.url() + "?fieldManager=applier", head, content_type=APPLY)
    assert r.status_code == 200, r.content
    assert r.json()["metadata"]["labels"]["applied"] == "yes" and r.json()["metadata"]["labels"]["json"] == "patch"
    assert ("applier", "Apply") in _managers(r.json())
    wrong = {**head, "apiVersion": "example.org/v9"}
    refused(w.actor.patch(case.url() + "?fieldManager=applier", wrong, content_type=APPLY), 400, "BadRequest")


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_invalid_patch_options_are_invalid(kind: Any, case: Case, w: World) -> None:
    """kube-apiserver validates PatchOptions as an object: 422 Invalid (PatchOptions.meta.k8s.io)
    for an apply without fieldManager and for `force` on a patch that is not an apply."""
    if not case.stored:
        not_served(w.actor.patch(case.url(), {}, content_type=APPLY))
        return
    info = info_of(w, kind)
    subject(w, case)
    r = w.actor.patch(case.url(), _apply_head(info, case.name), content_type=APPLY)
    refused(r, 422, "Invalid")
    assert status_of(r)["details"]["kind"] == "PatchOptions"
    r = w.actor.patch(case.url() + "?force=true", {"metadata": {"labels": {"forced": "yes"}}})
    refused(r, 422, "Invalid")


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_an_apply_patch_must_name_the_version(kind: Any, case: Case, w: World) -> None:
    """kube-apiserver refuses an apply patch whose apiVersion is not the endpoint's, missing included."""
    if not case.stored:
        not_served(w.actor.patch(case.url() + "?fieldManager=contract", {}, content_type=APPLY))
        return
    info = info_of(w, kind)
    subject(w, case)
    body = _apply_head(info, case.name)
    del body["apiVersion"], body["kind"]
    body["metadata"]["labels"] = {"applied": "unversioned"}
    r = w.actor.patch(case.url() + "?fieldManager=contract", body, content_type=APPLY)
    refused(r, 400, "BadRequest")
    assert "contract" not in (w.actor.get(case.url()).json()["metadata"].get("labels") or {})


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_list_selectors_and_pages(kind: Any, case: Case, w: World) -> None:
    """Field selector on metadata.name, label selector, an unknown field label (400), and
    `limit`/`continue` pages that add up to the whole list in order."""
    if not case.stored:
        not_served(w.actor.get(case.collection + "?limit=1"))
        return
    subject(w, case)
    assert w.actor.patch(case.url(), {"metadata": {"labels": {"contract": "listed"}}}).status_code == 200

    def listed(query: str) -> list[str]:
        r = w.actor.get(f"{case.collection}?{query}")
        assert r.status_code == 200, (query, r.content)
        return [i["metadata"]["name"] for i in r.json()["items"]]

    assert listed(f"fieldSelector=metadata.name%3D{case.name}") == [case.name]
    assert listed("fieldSelector=metadata.name%3Dnobody") == []
    assert listed("labelSelector=contract%3Dlisted") == [case.name]
    assert case.name not in listed("labelSelector=contract%21%3Dlisted")
    refused(w.actor.get(case.collection + "?fieldSelector=spec.nope%3Dx"), 400, "BadRequest")
    everything, pages, token = names_listed(w.actor, case), [], ""
    while True:
        r = w.actor.get(f"{case.collection}?limit=1" + (f"&continue={token}" if token else ""))
        assert r.status_code == 200, r.content
        assert len(r.json()["items"]) <= 1
        pages += [i["metadata"]["name"] for i in r.json()["items"]]
        token = r.json()["metadata"].get("continue", "")
        if not token:
            break
    assert pages == everything


@pytest.mark.parametrize("kind", KINDS, scope="module")
def test_a_bad_dry_run_value_is_invalid_options(kind: Any, case: Case, w: World) -> None:
    """`dryRun` other than All: 422 Invalid naming the verb's options kind, as kube's handlers
    validate CreateOptions, UpdateOptions, PatchOptions and DeleteOptions."""
    if not case.stored:
        r = w.actor.post(with_query(case.collection, "dryRun=Foo"), case.create_body())
        refused(r, 422, "Invalid")
        assert status_of(r)["details"]["kind"] == "CreateOptions"
        return
    current = subject(w, case)
    attempts = [
        ("PUT", current, "UpdateOptions"),
        ("PATCH", {"metadata": {}}, "PatchOptions"),
        ("DELETE", None, "DeleteOptions"),
    ]
    if case.body is not None:
        attempts.insert(0, ("POST", case.create_body("another"), "CreateOptions"))
    for method, body, options in attempts:
        url = case.collection if method == "POST" else case.url()
        ct = MERGE if method == "PATCH" else "application/json"
        r = w.actor.request(method, with_query(url, "dryRun=Foo"), body, content_type=ct)
        refused(r, 422, "Invalid")
        assert status_of(r)["details"]["kind"] == options, (method, status_of(r)["message"])
