"""APIResourceSchemas and APIExports (identity, endpoint slice) through the real views."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from tests.conftest import Api
from tests.factories import apiresourceschema_body, at, make, resource_names, schema_version

SCHEMAS = "/apis/apis.kcp.io/v1alpha1/apiresourceschemas"
EXPORTS = "/apis/apis.kcp.io/v1alpha2/apiexports"
SLICES = "/apis/apis.kcp.io/v1alpha1/apiexportendpointslices"


def schema(prefix: str = "v1") -> dict[str, Any]:
    return apiresourceschema_body(
        prefix=prefix,
        group="example.kcp.io",
        names=resource_names(plural="widgets", kind="Widget"),
        versions=[
            schema_version(
                schema={
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
                }
            )
        ],
    )


def test_schema_validation_and_immutability(api: Api) -> None:
    make(api, "provider")
    p = at(api, "root:provider")
    assert p.post(SCHEMAS, schema()).status_code == 201
    bad = schema("v2")
    bad["metadata"]["name"] = "widgets.example.kcp.io"
    assert p.post(SCHEMAS, bad).status_code == 422
    unstructured = schema("v3")
    unstructured["spec"]["versions"][0]["schema"]["properties"]["spec"]["properties"]["x"] = {}
    assert p.post(SCHEMAS, unstructured).status_code == 422
    current = p.get(f"{SCHEMAS}/v1.widgets.example.kcp.io").json()
    changed = copy.deepcopy(current)
    changed["spec"]["scope"] = "Cluster"
    r = p.put(f"{SCHEMAS}/v1.widgets.example.kcp.io", changed)
    assert r.status_code == 422 and "immutable" in r.json()["message"]


def test_export_gets_an_identity_and_an_endpoint_slice(api: Api) -> None:
    from apis.services import apiexport_reconcile

    make(api, "provider")
    p = at(api, "root:provider")
    p.post(SCHEMAS, schema())
    r = p.post(
        EXPORTS,
        {
            "apiVersion": "apis.kcp.io/v1alpha2",
            "kind": "APIExport",
            "metadata": {"name": "example.kcp.io"},
            "spec": {
                "resources": [
                    {
                        "name": "widgets",
                        "group": "example.kcp.io",
                        "schema": "v1.widgets.example.kcp.io",
                        "storage": {"crd": {}},
                    }
                ]
            },
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["spec"]["identity"]["secretRef"] == {"namespace": "kcp-system", "name": "example.kcp.io"}
    identity = apiexport_reconcile(cluster=p_cluster(api), name="example.kcp.io")
    export = p.get(f"{EXPORTS}/example.kcp.io").json()
    secret = p.get("/api/v1/namespaces/kcp-system/secrets/example.kcp.io").json()
    import base64

    key = base64.b64decode(secret["data"]["key"]).decode()
    assert export["status"]["identityHash"] == identity == hashlib.sha256(key.encode()).hexdigest()
    assert {c["type"]: c["status"] for c in export["status"]["conditions"]}["IdentityValid"] == "True"
    assert apiexport_reconcile(cluster=p_cluster(api), name="example.kcp.io") == identity  # stable
    endpoint = p.get(f"{SLICES}/example.kcp.io").json()
    assert endpoint["spec"]["export"] == {"path": "root:provider", "name": "example.kcp.io"}
    assert endpoint["status"]["endpoints"][0]["url"].endswith("/services/apiexport/root:provider/example.kcp.io")
    export["status"]["identityHash"] = "0" * 64
    assert p.put(f"{EXPORTS}/example.kcp.io/status", export).status_code == 404  # controllers only


def p_cluster(api: Api) -> str:
    return api.get("/apis/tenancy.kcp.io/v1alpha1/workspaces/provider").json()["spec"]["cluster"]
