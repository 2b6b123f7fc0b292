"""The watch contract of every registered kind: a watch opened on the collection at the list's
resourceVersion sees the actor's create, update and delete of one object as ADDED, MODIFIED and
DELETED, in that order (a deletion a finalizer holds shows MODIFIED first, as in kube). Kept apart
from test_contract.py because watches read committed data through their own connection."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.kinds import Case, World, world
from tests.contract.support import KINDS, not_served, subject
from tests.watching import Watch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def w(api: Api, case: Case) -> World:
    """A world per test, committed (the module-scoped one of conftest.py is rolled back)."""
    return world(api, case)


def events_of(watch: Watch, name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"], e["object"]) for e in watch.events() if e["object"]["metadata"].get("name") == name]


@pytest.mark.parametrize("kind", KINDS)
def test_a_watch_sees_writes_in_order(kind: Any, case: Case, w: World) -> None:
    if not case.stored:
        not_served(w.actor.get(f"{case.collection}?watch=1"))
        return
    listed = w.actor.get(case.collection)
    assert listed.status_code == 200, listed.content
    rv = listed.json()["metadata"]["resourceVersion"]
    watch = Watch(f"{case.collection}?watch=1&resourceVersion={rv}", w.actor.token, prefix=w.actor.prefix)
    try:
        assert watch.status == 200
        created = subject(w, case)
        r = w.actor.patch(case.url(), {"metadata": {"labels": {"contract": "watched"}}})
        assert r.status_code == 200, r.content
        final_rv = r.json()["metadata"]["resourceVersion"]
        if case.system_made:  # the system's object: seen changing, never made or deleted by a client
            seen = watch.wait_for(lambda evs: any(e["object"]["metadata"]["resourceVersion"] == final_rv for e in evs))
            assert [t for t, _ in events_of(watch, case.name)][-1:] == ["MODIFIED"], seen
            return
        r = w.actor.delete(case.url())
        assert r.status_code in (200, 202), r.content
        if case.finalize:
            case.finalize(w, case.name)
        watch.wait_for(lambda evs: any(t == "DELETED" for t, _ in events_of(watch, case.name)))
        events = events_of(watch, case.name)
        types = [t for t, _ in events]
        assert types[0] == "ADDED" and types[-1] == "DELETED" and set(types[1:-1]) == {"MODIFIED"}, types
        assert events[0][1]["metadata"]["uid"] == created["metadata"]["uid"]
        labelled = [o for t, o in events if (o["metadata"].get("labels") or {}).get("contract") == "watched"]
        assert labelled and labelled[0]["metadata"]["resourceVersion"] == final_rv
        versions = [int(o["metadata"]["resourceVersion"]) for _, o in events]
        assert versions == sorted(versions), versions
    finally:
        watch.close()
