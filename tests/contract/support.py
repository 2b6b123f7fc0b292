"""What the contract checks share: the parametrization over every case, kube's refusal shapes,
and making the object a check works on."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.kinds import CASES, Case, World, kind_id

#: Every case's kind as a test parameter: every kind runs every check (a difference from
#: kube-apiserver is a failure to fix, never a mark).
KINDS = [pytest.param(kind, id=kind_id(kind)) for kind in sorted(CASES)]


def status_of(r: Any) -> dict[str, Any]:
    body = r.json()
    assert body.get("kind") == "Status" and body.get("apiVersion") == "v1", r.content
    return dict(body)


def refused(r: Any, code: int, reason: str) -> None:
    assert r.status_code == code, (r.status_code, r.content[:400])
    body = status_of(r)
    assert body["code"] == code and body["reason"] == reason, body


def not_served(r: Any) -> None:
    """kube-apiserver's answer to a verb the resource does not serve."""
    refused(r, 405, "MethodNotAllowed")


def subject(w: World, case: Case) -> dict[str, Any]:
    """The object the checks work on: created by the actor (the system's own for system-made kinds)."""
    if case.body is None:
        r = w.actor.get(case.url())
        assert r.status_code == 200, r.content
        return dict(r.json())
    r = w.actor.post(case.collection, case.create_body())
    assert r.status_code == 201, r.content
    return dict(r.json())


def labelled(obj: dict[str, Any], value: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("labels", {})["contract"] = value
    return out


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def names_listed(api: Api, case: Case) -> list[str]:
    r = api.get(case.collection)
    assert r.status_code == 200, r.content
    return [i["metadata"]["name"] for i in r.json()["items"]]


def storage_snapshot() -> tuple[int, int, int]:
    """(revision, event log length, stored objects): any write anywhere moves one of them."""
    from kube.storage.models import Event, Revision, StoredObject

    revision = Revision.objects.values_list("value", flat=True).first() or 0
    return int(revision), Event.objects.count(), StoredObject.objects.count()
