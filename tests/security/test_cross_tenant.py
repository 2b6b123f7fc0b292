"""Every kind, every verb, aimed at another tenant's workspace: by path, by logical cluster name
and through the wildcard cluster, with a user token that is cluster-admin of its own workspace
and with a ServiceAccount token of it. Every attempt is refused (401/403/404/405), no byte of
the victim's objects comes back, and the victim's objects are unchanged.

The kinds are those of tests/security/test_reserved_metadata.py's SAMPLES, which a registry walk
there keeps complete (a new kind without a sample fails that suite); the victim makes each object
the way a tenant would, then the attacker tries everything on it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import at, make
from tests.security.test_reserved_metadata import (
    SAMPLES,
    TENANT,
    cluster_of,
    serviceaccount_admin,
    workspace_admin,
)

ATTACKER_HOME = "root:evil"
REFUSED = {401, 403, 404, 405}


def _kind_id(kind: tuple[str, str, str]) -> str:
    return "/".join(p for p in kind if p)


def _snapshot(victim: Api, sample: Any) -> str:
    r = victim.get(sample.collection)
    return json.dumps(r.json().get("items") if r.status_code == 200 else r.status_code, sort_keys=True)


def _attempts(sample: Any) -> list[tuple[str, str, Any, str]]:
    """(method, path, body, content type) of every verb on the sample's collection and object."""
    body = sample.create_body(sample.name) if sample.body is not None else {"metadata": {"name": sample.name}}
    planted = sample.create_body("planted") if sample.body is not None else {"metadata": {"name": "planted"}}
    merge = {"metadata": {"labels": {"pwned": "1"}}}
    return [
        ("GET", sample.collection, None, ""),
        ("GET", sample.collection + "?watch=false&limit=1", None, ""),
        ("GET", sample.url, None, ""),
        ("POST", sample.collection, planted, "application/json"),
        ("PUT", sample.url, body, "application/json"),
        ("PATCH", sample.url, merge, "application/merge-patch+json"),
        ("PATCH", sample.url + "?fieldManager=evil", body, "application/apply-patch+yaml"),
        ("PATCH", sample.url + "/status", merge, "application/merge-patch+json"),
        ("DELETE", sample.url, None, ""),
        ("DELETE", sample.collection, None, ""),
    ]


@pytest.mark.parametrize("credential", ["user", "serviceaccount"])
@pytest.mark.parametrize("kind", sorted(SAMPLES), ids=_kind_id)
def test_no_kind_of_another_workspace_is_reachable(api: Api, kind: tuple[str, str, str], credential: str) -> None:
    sample = SAMPLES[kind]
    make(api, "tenant")
    make(api, "evil")
    victim_admin, victim = workspace_admin(api, TENANT, user="victor"), at(api, TENANT)
    if sample.prepare is not None:
        sample.prepare(victim_admin, victim)
    if sample.body is not None:
        r = victim_admin.post(sample.collection, sample.create_body(sample.name))
        assert r.status_code == 201, r.content
    victim_cluster = cluster_of(api, TENANT)
    attacker_home = {"user": workspace_admin, "serviceaccount": serviceaccount_admin}[credential](api, ATTACKER_HOME)
    assert attacker_home.get("/api/v1/namespaces").status_code == 200  # the credential works at home
    before = _snapshot(victim, sample)
    assert sample.name in before or sample.body is None
    for target in (TENANT, victim_cluster, "*"):
        attacker = Api(attacker_home.client, attacker_home.token, cluster=target)
        for method, path, body, content_type in _attempts(sample):
            r = attacker.request(method, path, body, content_type=content_type or "application/json")
            where = (target, method, path)
            assert r.status_code in REFUSED, (*where, r.status_code, r.content[:300])
            assert victim_cluster.encode() not in r.content, where
            if sample.body is not None:
                assert f'"name":"{sample.name}"'.encode() not in r.content.replace(b" ", b""), where
    assert _snapshot(victim, sample) == before
