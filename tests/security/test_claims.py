"""A hostile provider against the permission claims its consumers accepted.

A provider's APIExport claims configmaps with every verb; each consumer accepts what it wants
(verbs, a label selector). Through the APIExport virtual workspace the provider must get exactly
that, consumer by consumer: a verb the consumer did not accept is refused (403) and leaves the
consumer's object as it was; a write may not create, or move an object, outside the accepted
selector; wildcard lists and watches show only consumers whose acceptance grants list or watch;
and when an object stops being shared (relabelled, claim rejected, binding deleted) the provider's
watch gets DELETED carrying the last object it was allowed to see, never the new content, live or
resumed from an earlier resourceVersion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.apis.test_bindings import (
    BINDINGS,
    CONFIGMAPS,
    COWBOYS,
    EXPORTS,
    GROUP,
    cluster_of,
    consumer,
    cowboy,
    provider,
    reconcile,
    vw,
)
from tests.conftest import Api
from tests.factories import at, make
from tests.watching import Watch

EVERY_VERB_CLAIM = {"group": "", "resource": "configmaps", "verbs": ["*"]}
SHARED = {"share": "yes"}
READ = ["get", "list", "watch"]
APPLY = "application/apply-patch+yaml"


def accept(verbs: list[str] | None, selector: dict[str, Any] | None = None) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "group": "",
        "resource": "configmaps",
        "selector": selector or {"matchAll": True},
        "state": "Accepted",
    }
    if verbs is not None:
        claim["verbs"] = verbs
    return claim


def cm(name: str, labels: dict[str, str] | None = None, value: str = "public") -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
    if labels is not None:
        body["metadata"]["labels"] = labels
    return body


def claim_labels(obj: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (obj["metadata"].get("labels") or {}).items() if k.startswith("claimed.")}


def forbidden(r: Any, *, naming: str = "") -> None:
    assert r.status_code == 403, (r.status_code, r.content)
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == "Forbidden", status
    assert naming in status["message"], status["message"]


class Setup:
    """The provider, one consumer that accepted `verbs` with `selector`, its shared object
    `shared` (labelled share=yes) and its private object `private`, and the provider's view."""

    def __init__(self, api: Api, verbs: list[str] | None, selector: dict[str, Any] | None, name: str = "c1") -> None:
        self.consumer = consumer(api, name, claims=[accept(verbs, selector)])
        self.cluster = cluster_of(api, f"root:{name}")
        assert self.consumer.post(CONFIGMAPS, cm("shared", SHARED)).status_code == 201
        assert self.consumer.post(CONFIGMAPS, cm("private", {"share": "no"}, "secret")).status_code == 201
        self.view = vw(api)

    def as_provider(self, method: str, url: str, body: Any = None, **kw: Any) -> Any:
        if method == "PATCH":
            kw.setdefault("content_type", "application/merge-patch+json")
        return self.view.request(method, self.cluster, url, body, **kw)

    def stored(self, name: str) -> Any:
        return self.consumer.get(f"{CONFIGMAPS}/{name}")


# --- verbs -----------------------------------------------------------------------------------------

SHARED_URL = f"{CONFIGMAPS}/shared"
WRITES: dict[str, tuple[str, str, Any, str]] = {
    # case: (method, url, body, content type)
    "create": ("POST", CONFIGMAPS, cm("new", SHARED), "application/json"),
    "update": ("PUT", SHARED_URL, cm("shared", SHARED, "changed"), "application/json"),
    "merge-patch": ("PATCH", SHARED_URL, {"data": {"v": "changed"}}, "application/merge-patch+json"),
    "json-patch": (
        "PATCH",
        SHARED_URL,
        [{"op": "replace", "path": "/data/v", "value": "x"}],
        "application/json-patch+json",
    ),
    "strategic-patch": ("PATCH", SHARED_URL, {"data": {"v": "changed"}}, "application/strategic-merge-patch+json"),
    "apply": ("PATCH", f"{SHARED_URL}?fieldManager=provider&force=true", cm("shared", SHARED, "x"), APPLY),
    "delete": ("DELETE", SHARED_URL, None, "application/json"),
    "deletecollection": ("DELETE", CONFIGMAPS, None, "application/json"),
}


@pytest.mark.parametrize("case", sorted(WRITES))
def test_a_write_verb_the_consumer_did_not_accept_is_refused_and_changes_nothing(api: Api, case: str) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, READ, {"matchLabels": SHARED})
    before = {n: s.stored(n).json() for n in ("shared", "private")}
    method, url, body, content_type = WRITES[case]
    forbidden(s.as_provider(method, url, body, content_type=content_type), naming="configmaps")
    assert {n: s.stored(n).json() for n in ("shared", "private")} == before
    assert s.stored("new").status_code == 404
    # what was accepted still works
    assert s.as_provider("GET", SHARED_URL).json()["data"] == {"v": "public"}
    assert [i["metadata"]["name"] for i in s.as_provider("GET", CONFIGMAPS).json()["items"]] == ["shared"]


def test_reads_the_consumer_did_not_accept_are_refused(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, ["update"], None)
    forbidden(s.as_provider("GET", SHARED_URL), naming="get")
    forbidden(s.as_provider("GET", CONFIGMAPS), naming="list")
    forbidden(s.as_provider("GET", "/api/v1/configmaps"), naming="list")
    assert s.as_provider("GET", "/api/v1/configmaps").json()["reason"] == "Forbidden"
    # the accepted verb works (status unchanged otherwise)
    obj = s.stored("shared").json()
    obj["data"] = {"v": "updated by the provider"}
    r = s.as_provider("PUT", SHARED_URL, obj)
    assert r.status_code == 200, r.content
    assert s.stored("shared").json()["data"] == {"v": "updated by the provider"}


def test_status_writes_need_the_verb_on_a_claimed_resource_of_another_export(api: Api) -> None:
    """Provider `pb` claims `pa`'s cowboys (by identity) with every verb; the consumer accepted
    reads only: neither status update nor status patch goes through, the cowboy is unchanged."""
    from apis.services import apiexport_reconcile

    provider(api, "pa")
    identity = at(api, "root:pa").get(f"{EXPORTS}/{GROUP}").json()["status"]["identityHash"]
    make(api, "pb")
    claim = {"group": GROUP, "resource": "cowboys", "identityHash": identity, "verbs": ["*"]}
    export = {"apiVersion": "apis.kcp.io/v1alpha2", "kind": "APIExport", "metadata": {"name": "observer"}}
    export["spec"] = {"permissionClaims": [claim]}
    assert at(api, "root:pb").post(EXPORTS, export).status_code == 201
    apiexport_reconcile(cluster=cluster_of(api, "root:pb"), name="observer")
    c = consumer(api, "both", "root:pa")
    assert c.post(COWBOYS, cowboy("x", "ride")).status_code == 201
    accepted = {"group": GROUP, "resource": "cowboys", "identityHash": identity, "verbs": READ, "state": "Accepted"}
    binding = {"apiVersion": "apis.kcp.io/v1alpha2", "kind": "APIBinding", "metadata": {"name": "observer"}}
    binding["spec"] = {"reference": {"export": {"path": "root:pb", "name": "observer"}}, "permissionClaims": [accepted]}
    assert c.post(BINDINGS, binding).status_code == 201
    assert reconcile(api, "root:both", "observer")["status"]["phase"] == "Bound"
    before = c.get(f"{COWBOYS}/x").json()
    view = Api(api.client, api.token)
    view.prefix = f"/services/apiexport/root:pb/observer/clusters/{cluster_of(api, 'root:both')}"
    seen = view.get(f"{COWBOYS}/x").json()
    assert seen["spec"]["intent"] == "ride"
    seen["status"] = {"result": "forged"}
    forbidden(view.put(f"{COWBOYS}/x/status", seen), naming="update")
    forbidden(view.patch(f"{COWBOYS}/x/status", {"status": {"result": "forged"}}), naming="patch")
    forbidden(view.patch(f"{COWBOYS}/x", {"spec": {"intent": "shoot"}}), naming="patch")
    assert c.get(f"{COWBOYS}/x").json() == before


def test_subresources_that_bypass_the_store_are_not_served_for_claims(api: Api) -> None:
    """A claim on serviceaccounts reaches the objects, not the token minting of their `token`
    subresource (it writes no ServiceAccount, so no selector or verb of the claim could hold it)."""
    provider(api, claims=[{"group": "", "resource": "serviceaccounts", "verbs": ["*"]}])
    c = consumer(api, "sa", claims=[{"group": "", "resource": "serviceaccounts", "state": "Accepted"}])
    view = vw(api)
    sa = "/api/v1/namespaces/default/serviceaccounts"
    assert c.post(sa, {"metadata": {"name": "default"}}).status_code in (201, 409)
    assert view.get(cluster_of(api, "root:sa"), f"{sa}/default").status_code == 200
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["x"]}}
    r = view.request("POST", cluster_of(api, "root:sa"), f"{sa}/default/token", request)
    assert r.status_code == 404, r.content
    assert c.get(f"{sa}/default").status_code == 200


# --- selectors -------------------------------------------------------------------------------------


def test_creates_outside_the_selector_are_refused(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, ["*"], {"matchLabels": SHARED})
    for name, labels in (("unlabelled", None), ("other", {"share": "no"}), ("forged", {"app": "x"})):
        forbidden(s.as_provider("POST", CONFIGMAPS, cm(name, labels)), naming="selector")
        assert s.stored(name).status_code == 404
    r = s.as_provider("POST", CONFIGMAPS, cm("inside", SHARED))
    assert r.status_code == 201, r.content
    stored = s.stored("inside").json()
    assert stored["metadata"]["labels"]["share"] == "yes" and claim_labels(stored)
    # what is outside cannot be reached, hence not moved in either
    before = s.stored("private").json()
    url = f"{CONFIGMAPS}/private"
    assert s.as_provider("GET", url).status_code == 404
    assert s.as_provider("PATCH", url, {"metadata": {"labels": {"share": "yes"}}}).status_code == 404
    assert s.as_provider("PUT", url, cm("private", SHARED)).status_code == 404
    assert s.as_provider("DELETE", url).status_code == 404
    r = s.as_provider("DELETE", CONFIGMAPS)  # deletecollection: only what is shared
    assert r.status_code == 200, r.content
    assert sorted(i["metadata"]["name"] for i in r.json()["items"]) == ["inside", "shared"]
    assert s.stored("private").json() == before


MOVES_OUT: dict[str, tuple[str, str, Any, str]] = {
    "update": ("PUT", SHARED_URL, cm("shared", {"share": "no"}), "application/json"),
    "update-unlabelled": ("PUT", SHARED_URL, cm("shared"), "application/json"),
    "merge-patch": ("PATCH", SHARED_URL, {"metadata": {"labels": {"share": "no"}}}, "application/merge-patch+json"),
    "json-patch": (
        "PATCH",
        SHARED_URL,
        [{"op": "remove", "path": "/metadata/labels/share"}],
        "application/json-patch+json",
    ),
    "strategic-patch": (
        "PATCH",
        SHARED_URL,
        {"metadata": {"labels": {"share": None}}},
        "application/strategic-merge-patch+json",
    ),
    "apply": ("PATCH", f"{SHARED_URL}?fieldManager=p&force=true", cm("shared", {"share": "no"}), APPLY),
}


@pytest.mark.parametrize("case", sorted(MOVES_OUT))
def test_writes_cannot_move_a_shared_object_out_of_the_selector(api: Api, case: str) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, ["*"], {"matchLabels": SHARED})
    before = s.stored("shared").json()
    method, url, body, content_type = MOVES_OUT[case]
    forbidden(s.as_provider(method, url, body, content_type=content_type), naming="selector")
    assert s.stored("shared").json() == before
    # a change inside the selector goes through
    r = s.as_provider("PATCH", SHARED_URL, {"data": {"v": "provider"}, "metadata": {"labels": {"more": "1"}}})
    assert r.status_code == 200, r.content
    assert s.stored("shared").json()["metadata"]["labels"]["more"] == "1"


def test_accepted_verbs_work_inside_the_selector(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, ["get", "list", "create", "update", "patch", "delete"], {"matchLabels": SHARED})
    assert s.as_provider("POST", CONFIGMAPS, cm("made", SHARED)).status_code == 201
    obj = s.as_provider("GET", f"{CONFIGMAPS}/made").json()
    obj["data"] = {"v": "put"}
    assert s.as_provider("PUT", f"{CONFIGMAPS}/made", obj).status_code == 200
    assert s.as_provider("PATCH", f"{CONFIGMAPS}/made", {"data": {"v": "merged"}}).status_code == 200
    applied = s.as_provider(
        "PATCH", f"{CONFIGMAPS}/made?fieldManager=p&force=true", cm("made", SHARED, "applied"), content_type=APPLY
    )
    assert applied.status_code == 200, applied.content
    assert s.stored("made").json()["data"] == {"v": "applied"}
    assert sorted(i["metadata"]["name"] for i in s.as_provider("GET", CONFIGMAPS).json()["items"]) == ["made", "shared"]
    assert s.as_provider("DELETE", f"{CONFIGMAPS}/made").status_code == 200
    assert s.stored("made").status_code == 404
    forbidden(s.as_provider("DELETE", CONFIGMAPS), naming="deletecollection")


def test_each_consumer_is_held_to_its_own_acceptance(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    strict = Setup(api, READ, {"matchLabels": SHARED}, name="strict")
    open_ = Setup(api, ["*"], None, name="open")
    # the open consumer shares everything with every verb
    assert open_.as_provider("POST", CONFIGMAPS, cm("anything")).status_code == 201
    assert open_.as_provider("PATCH", f"{CONFIGMAPS}/private", {"data": {"v": "p"}}).status_code == 200
    assert open_.as_provider("DELETE", SHARED_URL).status_code == 200
    # the strict one does not, whatever the other accepted
    before = strict.stored("shared").json()
    forbidden(strict.as_provider("POST", CONFIGMAPS, cm("anything", SHARED)))
    forbidden(strict.as_provider("PATCH", SHARED_URL, {"data": {"v": "p"}}))
    forbidden(strict.as_provider("DELETE", SHARED_URL))
    assert strict.as_provider("GET", f"{CONFIGMAPS}/private").status_code == 404
    assert strict.stored("shared").json() == before


def test_wildcard_list_shows_only_consumers_that_grant_list(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    Setup(api, ["get", "list"], {"matchLabels": SHARED}, name="lister")
    Setup(api, ["get", "watch"], None, name="watcher")
    Setup(api, ["get"], None, name="getter")
    listed = vw(api).get("*", "/api/v1/configmaps").json()["items"]
    seen = sorted((i["metadata"]["annotations"]["kcp.io/cluster"], i["metadata"]["name"]) for i in listed)
    assert seen == [(cluster_of(api, "root:lister"), "shared")]


def test_changing_the_accepted_verbs_applies_at_once(api: Api) -> None:
    provider(api, claims=[EVERY_VERB_CLAIM])
    s = Setup(api, ["*"], None)
    assert s.as_provider("PATCH", SHARED_URL, {"data": {"v": "1"}}).status_code == 200
    binding = s.consumer.get(f"{BINDINGS}/wildwest").json()
    binding["spec"]["permissionClaims"][0]["verbs"] = ["get", "list"]
    assert s.consumer.put(f"{BINDINGS}/wildwest", binding).status_code == 200
    # before the reconciler ran: the binding's spec already takes the verb away
    forbidden(s.as_provider("PATCH", SHARED_URL, {"data": {"v": "2"}}), naming="patch")
    reconcile(api, "root:c1")
    forbidden(s.as_provider("PATCH", SHARED_URL, {"data": {"v": "2"}}), naming="patch")
    assert s.stored("shared").json()["data"] == {"v": "1"}
    assert len(vw(api).get("*", "/api/v1/configmaps").json()["items"]) == 2


# --- watches ---------------------------------------------------------------------------------------


@pytest.fixture
def tapi(transactional_db: Any, client: Client) -> Api:
    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    bootstrap_root()
    return Api(client, token_issue(user_name="admin", groups=["system:masters"]))


def provider_watch(api: Api, cluster: str, query: str) -> Watch:
    prefix = f"/services/apiexport/root:provider/{GROUP}/clusters/{cluster}"
    return Watch(f"/api/v1/configmaps?watch=true&{query}", api.token, prefix=prefix)


def unshare(api: Api, s: Setup, how: str) -> None:
    """Make `shared` stop being shared, then change it (that content must never reach the provider)."""
    if how == "relabel":
        r = s.consumer.patch(SHARED_URL, {"metadata": {"labels": {"share": "no"}}, "data": {"v": "secret"}})
        assert r.status_code == 200, r.content
        return
    if how == "reject":
        binding = s.consumer.get(f"{BINDINGS}/wildwest").json()
        binding["spec"]["permissionClaims"][0]["state"] = "Rejected"
        assert s.consumer.put(f"{BINDINGS}/wildwest", binding).status_code == 200
        reconcile(api, "root:c1")
    else:
        from apis.bindings import apibinding_reconcile

        assert s.consumer.delete(f"{BINDINGS}/wildwest").status_code == 200
        assert apibinding_reconcile(cluster=s.cluster, name="wildwest") == ""
    assert not claim_labels(s.stored("shared").json())
    assert s.consumer.patch(SHARED_URL, {"data": {"v": "secret"}}).status_code == 200


def assert_deleted_with_last_shared(events: list[dict[str, Any]], raw: bytes, shared_rv: str) -> None:
    deleted = [e for e in events if e["type"] == "DELETED"]
    assert len(deleted) == 1, events
    obj = deleted[0]["object"]
    assert obj["metadata"]["name"] == "shared" and obj["data"] == {"v": "public"}, obj
    assert obj["metadata"]["labels"]["share"] == "yes" and claim_labels(obj), obj
    # the event's own revision (clients resume from it), later than the last shared version
    assert int(obj["metadata"]["resourceVersion"]) > int(shared_rv)
    assert b"secret" not in raw
    assert all(e["object"]["metadata"].get("name") != "private" for e in events)


@pytest.mark.parametrize("how", ["relabel", "reject", "unbind"])
@pytest.mark.django_db(transaction=True)
def test_unsharing_sends_deleted_with_the_last_shared_object(tapi: Api, how: str) -> None:
    provider(tapi, claims=[EVERY_VERB_CLAIM])
    s = Setup(tapi, READ, {"matchLabels": SHARED})
    shared_rv = s.stored("shared").json()["metadata"]["resourceVersion"]
    live = provider_watch(tapi, "*", "")
    resumed: Watch | None = None
    try:
        live.wait_for(lambda e: [x["object"]["metadata"]["name"] for x in e] == ["shared"])
        unshare(tapi, s, how)
        live.wait_for(lambda e: any(x["type"] == "DELETED" for x in e))
        # a further change of the consumer's, after the unsharing: must not reach the stream either
        assert s.consumer.patch(SHARED_URL, {"data": {"v": "secret", "more": "secret"}}).status_code == 200
        marker = s.consumer.post(CONFIGMAPS, cm("marker", SHARED) if how == "relabel" else cm("marker"))
        assert marker.status_code == 201
        if how == "relabel":  # the claim still holds: the marker arrives, so everything before it did
            live.wait_for(lambda e: any(x["object"]["metadata"]["name"] == "marker" for x in e))
        else:
            import time

            time.sleep(1.5)
        assert_deleted_with_last_shared(live.events(), b"".join(live.chunks), shared_rv)
        # resumed from a resourceVersion before the change: replayed from the event log, same answer
        resumed = provider_watch(tapi, "*", f"resourceVersion={shared_rv}")
        resumed.wait_for(lambda e: any(x["type"] == "DELETED" for x in e))
        if how == "relabel":
            resumed.wait_for(lambda e: any(x["object"]["metadata"]["name"] == "marker" for x in e))
        assert_deleted_with_last_shared(resumed.events(), b"".join(resumed.chunks), shared_rv)
        # and per consumer (not wildcard), resumed too
        if how == "relabel":
            one = provider_watch(tapi, s.cluster, f"resourceVersion={shared_rv}")
            try:
                one.wait_for(lambda e: any(x["object"]["metadata"]["name"] == "marker" for x in e))
                assert_deleted_with_last_shared(one.events(), b"".join(one.chunks), shared_rv)
            finally:
                one.close()
    finally:
        live.close()
        if resumed is not None:
            resumed.close()


@pytest.mark.django_db(transaction=True)
def test_wildcard_watch_shows_only_consumers_that_grant_watch(tapi: Api) -> None:
    provider(tapi, claims=[EVERY_VERB_CLAIM])
    lister = Setup(tapi, ["get", "list"], None, name="lister")
    watcher = Setup(tapi, ["get", "watch"], {"matchLabels": SHARED}, name="watcher")
    w = provider_watch(tapi, "*", "")
    try:
        w.wait_for(lambda e: len(e) >= 1)
        assert lister.consumer.post(CONFIGMAPS, cm("from-lister", SHARED)).status_code == 201
        assert watcher.consumer.post(CONFIGMAPS, cm("from-watcher", SHARED)).status_code == 201
        evs = w.wait_for(lambda e: any(x["object"]["metadata"]["name"] == "from-watcher" for x in e))
        seen = [
            (e["type"], e["object"]["metadata"]["annotations"]["kcp.io/cluster"], e["object"]["metadata"]["name"])
            for e in evs
        ]
        assert seen == [("ADDED", watcher.cluster, "shared"), ("ADDED", watcher.cluster, "from-watcher")]
        # per consumer: a consumer that did not grant watch refuses the watch
        refused = provider_watch(tapi, lister.cluster, "")
        assert refused.finished.wait(10)
        assert refused.status == 403
        assert json.loads(b"".join(refused.chunks))["reason"] == "Forbidden"
    finally:
        w.close()
