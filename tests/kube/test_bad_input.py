"""Adversarial input: whatever a client sends, the answer is a 4xx Status, never a 5xx, and the
stored data is unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"
CONTENT_TYPES = [
    "",
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "text/plain",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"metadata": json_values, "data": json_values}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {
            "metadata": st.fixed_dictionaries({"name": st.text(max_size=30)}),
            "data": json_values,
            "kind": st.text(max_size=12),
        }
    ).map(lambda v: json.dumps(v).encode()),
)


def _snapshot(api: Api) -> Any:
    return api.get(f"{CM}/keep").json()


@pytest.fixture
def seeded(api: Api) -> Api:
    assert api.post(CM, {"metadata": {"name": "keep"}, "data": {"a": "1"}}).status_code == 201
    return api


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    body=bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    path=st.sampled_from(
        [
            CM,
            f"{CM}/keep",
            f"{CM}/other",
            "/api/v1/namespaces",
            "/api/v1/namespaces/default",
            f"{CM}/keep/status",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/x",
        ]
    ),
    query=st.sampled_from(
        [
            "",
            "?dryRun=All",
            "?fieldManager=fz",
            "?fieldValidation=Strict",
            "?force=true",
            "?fieldManager=fz&force=maybe",
            "?gracePeriodSeconds=x",
        ]
    ),
)
def test_random_writes_never_5xx(
    seeded: Api, method: str, body: bytes, content_type: str, path: str, query: str
) -> None:
    before = _snapshot(seeded)
    r = seeded.request(method, path + query, body, content_type=content_type)
    assert r.status_code < 500, (r.status_code, r.content[:300])
    if r.status_code >= 400:
        status = r.json()
        assert status["kind"] == "Status" and status["code"] == r.status_code
        if path.endswith("/keep") or path.endswith("/keep/status"):
            assert _snapshot(seeded) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=40))
def test_random_query_strings_never_5xx(seeded: Api, q: str) -> None:
    from urllib.parse import quote

    for key in (
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "resourceVersionMatch",
        "timeoutSeconds",
        "includeObject",
    ):
        r = seeded.get(f"{CM}?{key}={quote(q)}")
        assert r.status_code < 500, (key, q, r.content[:300])


def test_an_unavailable_database_is_a_503_status_with_retry_after() -> None:
    """Storage errors are translated in one place: a database that is down or out of connections
    (OperationalError, InterfaceError) is a retryable 503, any other database error a 500."""
    from django.db import DataError, InterfaceError, OperationalError

    from kube.endpoints.errors import status_response, translate

    for exc in (OperationalError("connection refused"), InterfaceError("connection already closed")):
        resp = status_response(translate(exc))
        body = json.loads(resp.content)
        assert (resp.status_code, resp["Retry-After"]) == (503, "1")
        assert (body["kind"], body["reason"]) == ("Status", "ServiceUnavailable")
        assert body["details"]["retryAfterSeconds"] == 1
    assert translate(DataError("value too long")).code == 500
