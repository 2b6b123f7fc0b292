"""Claims an export adds after binding: the binding page flags them as pending, and the answer
goes through apis.services as the user (update on the binding, at the version the user saw)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from tests.apis.test_bindings import BINDINGS, CM_CLAIM, EXPORTS, GROUP, cluster_of, consumer, provider, reconcile
from tests.conftest import Api
from tests.factories import at


def _page(client: Client, path: str) -> Any:
    return client.get(f"/workspaces/{path}/bindings/wildwest/")


def test_pending_claims_are_flagged_and_answered(api: Api, client: Client) -> None:
    from apis.services import apiexport_reconcile

    p = provider(api, claims=[CM_CLAIM])
    c = consumer(api, "late", claims=[{"group": "", "resource": "configmaps", "state": "Accepted"}])
    export = p.get(f"{EXPORTS}/{GROUP}").json()
    export["spec"]["permissionClaims"].append({"group": "", "resource": "secrets", "verbs": ["get"]})
    assert p.put(f"{EXPORTS}/{GROUP}", export).status_code == 200
    apiexport_reconcile(cluster=cluster_of(api, "root:provider"), name=GROUP)
    binding = reconcile(api, "root:late")
    client.force_login(get_user_model().objects.get(username="admin"))
    page = _page(client, "root:late")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Pending claims" in html and "Dangerous" in html and 'name="claim:/secrets/"' in html
    stale = {"claim:/secrets/": "Rejected", "resourceVersion": "1"}
    r = client.post("/workspaces/root:late/bindings/wildwest/claims", stale)
    assert r.status_code == 409
    fresh = {"claim:/secrets/": "Rejected", "resourceVersion": binding["metadata"]["resourceVersion"]}
    r = client.post("/workspaces/root:late/bindings/wildwest/claims", fresh)
    assert r.status_code == 302
    claims = c.get(f"{BINDINGS}/wildwest").json()["spec"]["permissionClaims"]
    assert [(x["resource"], x["state"]) for x in claims] == [("configmaps", "Accepted"), ("secrets", "Rejected")]
    reconcile(api, "root:late")
    assert "Pending claims" not in _page(client, "root:late").content.decode()


def test_answering_claims_needs_update_on_the_binding(api: Api, client: Client) -> None:
    from apis.services import apiexport_reconcile
    from kube.authz.tokens import token_issue

    p = provider(api, claims=[CM_CLAIM])
    consumer(api, "guarded", claims=[{"group": "", "resource": "configmaps", "state": "Accepted"}])
    export = p.get(f"{EXPORTS}/{GROUP}").json()
    export["spec"]["permissionClaims"].append({"group": "", "resource": "secrets", "verbs": ["get"]})
    p.put(f"{EXPORTS}/{GROUP}", export)
    apiexport_reconcile(cluster=cluster_of(api, "root:provider"), name=GROUP)
    binding = reconcile(api, "root:guarded")
    token_issue(user_name="viewer", groups=[])
    at(api, "root:guarded").post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    at(api, "root:guarded").post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "viewer-access"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:kcp:workspace:access",
            },
            "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    client.force_login(get_user_model().objects.get(username="viewer"))
    forged = {"claim:/secrets/": "Accepted", "resourceVersion": binding["metadata"]["resourceVersion"]}
    assert client.post("/workspaces/root:guarded/bindings/wildwest/claims", forged).status_code == 403
    claims = at(api, "root:guarded").get(f"{BINDINGS}/wildwest").json()["spec"]["permissionClaims"]
    assert [x["resource"] for x in claims] == ["configmaps"]
