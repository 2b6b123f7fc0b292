"""What the contract checks share: the parametrization over every case (with the known bugs as
strict xfails), kube's refusal shapes, and making the object a check works on."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.kinds import CASES, Case, World, kind_id

#: Where a (check, kind) case shows a bug: strict xfail with the reason, until the server is fixed.
KNOWN_BUGS: dict[tuple[str, tuple[str, str, str]], str] = {}


#: Checks that show one bug on every stored kind (the fault is in the shared request path).
KNOWN_BUGS_OF_EVERY_STORED_KIND: dict[str, str] = {}


def known_bug(check: str, kind: tuple[str, str, str]) -> str:
    if check in KNOWN_BUGS_OF_EVERY_STORED_KIND and CASES[kind].stored:
        return KNOWN_BUGS_OF_EVERY_STORED_KIND[check]
    return KNOWN_BUGS.get((check, kind), "")


def kinds(check: str) -> list[Any]:
    """Every case's kind as a parameter of the check `check`, known bugs marked strict xfail (a
    fixed bug then fails the check until its entry goes)."""
    params = []
    for kind in sorted(CASES):
        reason = known_bug(check, kind)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(kind, id=kind_id(kind), marks=marks))
    return params


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
