"""`kubectl create/apply -f` with a `v1 List` (what `kubectl get -o yaml` writes for several
objects): kubectl validates Lists against OpenAPI v2 before sending each item."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_core import K, cm, uniq

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def k(stack: Any) -> K:
    return K(stack)


def test_create_and_apply_a_list(k: K) -> None:
    ns = k.namespace()
    items = [cm(uniq("l"), ns, {"n": str(i)}) for i in range(2)]
    listed = {"apiVersion": "v1", "kind": "List", "items": items}
    out = k.run("create", "-f", "-", input=json.dumps(listed)).stdout
    assert all(i["metadata"]["name"] in out for i in items)
    exported = k.run("get", "cm", "-n", ns, "-o", "json", *[f"{i['metadata']['name']}" for i in items]).stdout
    doc = json.loads(exported)
    for item in doc["items"]:
        item["data"]["n"] = "changed"
    k.run("apply", "-f", "-", input=json.dumps(doc))
    got = k.json("get", "cm", "-n", ns, items[0]["metadata"]["name"])
    assert got["data"]["n"] == "changed"
