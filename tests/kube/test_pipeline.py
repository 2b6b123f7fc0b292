"""The request pipeline is one for both transports: the same refused request answers the same
code and Status body (and headers) over a plain GET (DRF view) and over `?watch=1` (Channels
consumer); verbs dispatch to their handlers, subresources to what the kind declares."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Api
from tests.kube.test_watch import Watch

pytestmark = pytest.mark.django_db(transaction=True)

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def tokens(transactional_db: Any) -> dict[str, str]:
    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    bootstrap_root()
    return {
        "admin": token_issue(user_name="admin", groups=["system:masters"]),
        "nobody": token_issue(user_name="nobody", groups=[]),
        "none": "",
        "unknown": "not-a-token-anyone-holds",
    }


def both(client: Client, url: str, token: str) -> tuple[tuple[int, str, bytes], tuple[int, str, bytes]]:
    """(code, Content-Type, body) of `url` as a GET and as a watch."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    r = client.get(url, **headers)
    prefix, _, rest = url.partition("/api")
    w = Watch("/api" + rest + "?watch=1", token, prefix=prefix)
    assert w.finished.wait(10)
    w.close()
    assert w.status is not None
    return (r.status_code, r["Content-Type"], r.content), (w.status, w.headers["content-type"], b"".join(w.chunks))


@pytest.mark.parametrize(
    ("who", "url", "code", "reason"),
    [
        ("none", f"/clusters/root{CM}", 401, "Unauthorized"),
        ("unknown", f"/clusters/root{CM}", 401, "Unauthorized"),
        # authentication comes first, before a virtual workspace is looked up
        ("none", f"/services/nope/x/clusters/root{CM}", 401, "Unauthorized"),
        ("admin", f"/clusters/root:no-such-workspace{CM}", 404, "NotFound"),
        ("admin", "/clusters/root/api/v1/namespaces/default/widgets", 404, "NotFound"),
        ("admin", "/clusters/root/apis/rbac.authorization.k8s.io/v1/namespaces/default/clusterroles", 404, "NotFound"),
        ("admin", f"/services/nope/x/clusters/root{CM}", 404, "NotFound"),
        ("admin", "/clusters/root/apis/authorization.k8s.io/v1/subjectaccessreviews", 405, "MethodNotAllowed"),
    ],
)
def test_same_refusal_over_get_and_watch(
    client: Client, tokens: dict[str, str], who: str, url: str, code: int, reason: str
) -> None:
    got, watched = both(client, url, tokens[who])
    assert got == watched
    assert got[0] == code and got[1] == "application/json"
    status = json.loads(got[2])
    assert status["kind"] == "Status" and status["reason"] == reason and status["code"] == code


@pytest.mark.parametrize(
    "url",
    [
        f"/clusters/root{CM}",
        # a virtual workspace's admission: the same 403 whether or not the export exists
        "/services/apiexport/root:no-such-workspace/example.kcp.io/clusters/root/apis/example.kcp.io/v1/widgets",
    ],
)
def test_same_forbidden_over_get_and_watch(client: Client, tokens: dict[str, str], url: str) -> None:
    """A list and a watch are different verbs, so the messages name them; all else is the same."""
    got, watched = both(client, url, tokens["nobody"])
    assert got[0] == watched[0] == 403 and got[1] == watched[1] == "application/json"
    listed, refused = json.loads(got[2]), json.loads(watched[2])
    assert "cannot list" in listed["message"] and "cannot watch" in refused["message"]
    assert {**listed, "message": listed["message"].replace("cannot list", "cannot watch")} == refused
    assert refused["reason"] == "Forbidden"


def test_impersonation_is_refused_alike(client: Client, tokens: dict[str, str]) -> None:
    """The impersonation guard is the pipeline's: the same 403 over both transports."""
    bearer = f"Bearer {tokens['nobody']}"
    r = client.get(f"/clusters/root{CM}", HTTP_AUTHORIZATION=bearer, HTTP_IMPERSONATE_USER="admin")
    w = Watch(f"{CM}?watch=1", tokens["nobody"], headers={"Impersonate-User": "admin"})
    assert w.finished.wait(10)
    w.close()
    assert r.status_code == w.status == 403
    assert r.content == b"".join(w.chunks)
    assert "cannot impersonate" in r.json()["message"]


def test_subresources_serve_only_the_verbs_they_declare(client: Client, tokens: dict[str, str]) -> None:
    """`finalize` is updated, never deleted or patched; a verb a subresource does not serve is
    405 and leaves the object alone; a subresource the kind does not declare is 404."""
    api = Api(client, tokens["admin"])
    assert api.post("/api/v1/namespaces", {"metadata": {"name": "keep"}}).status_code == 201
    assert api.delete("/api/v1/namespaces/keep/finalize").status_code == 405
    assert api.delete("/api/v1/namespaces/keep/status").status_code == 405
    assert api.patch("/api/v1/namespaces/keep/finalize", {"spec": {}}).status_code == 405
    assert api.get("/api/v1/namespaces/keep").status_code == 200
    assert api.post(CM, {"metadata": {"name": "c"}}).status_code == 201
    assert api.get(f"{CM}/c/status").status_code == 404
    assert api.get(f"{CM}/c/finalize").status_code == 404
    assert api.get("/api/v1/namespaces/default/serviceaccounts/default/token").status_code == 405
    r = api.put("/api/v1/namespaces/keep/finalize", {"metadata": {"name": "keep"}, "spec": {"finalizers": []}})
    assert r.status_code == 200 and r.json()["spec"]["finalizers"] == []


def test_other_methods_are_refused_after_authentication(client: Client, tokens: dict[str, str]) -> None:
    anonymous = client.options(f"/clusters/root{CM}")
    assert anonymous.status_code == 401
    admin = {"HTTP_AUTHORIZATION": f"Bearer {tokens['admin']}"}
    assert client.options(f"/clusters/root{CM}", **admin).status_code == 405
    assert client.generic("TRACE", f"/clusters/root{CM}", **admin).status_code == 405
    assert client.post("/clusters/root/api", **admin).status_code == 405
    assert client.get("/clusters/root/api", **admin).status_code == 200
