"""kube.registry.changes: the read-only door to the event log the portal's websocket catches up
through (every change of a scope in (after, upto], oldest first; the compaction floor)."""

from __future__ import annotations

from kube.registry.changes import ListScope, changes_between, compaction_floor
from tests.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"


def test_changes_between_two_revisions_of_one_scope(api: Api) -> None:
    first = api.post(CM, {"metadata": {"name": "a"}}).json()
    start = int(first["metadata"]["resourceVersion"])
    api.post("/api/v1/namespaces", {"metadata": {"name": "elsewhere"}})
    api.post("/api/v1/namespaces/elsewhere/configmaps", {"metadata": {"name": "other-namespace"}})
    api.patch(f"{CM}/a", {"data": {"k": "v"}})
    assert api.delete(f"{CM}/a").status_code == 200
    upto = int(api.get(CM).json()["metadata"]["resourceVersion"])  # the revision now
    events = changes_between(ListScope("root", "", "configmaps", "default"), start, upto)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("MODIFIED", "a"), ("DELETED", "a")]
    assert [e.revision for e in events] == sorted(e.revision for e in events)
    assert all(start < e.revision <= upto for e in events)
    everywhere = changes_between(ListScope("root", "", "configmaps", ""), start - 1, upto)
    assert {e.object["metadata"]["name"] for e in everywhere} == {"a", "other-namespace"}
    assert changes_between(ListScope("root", "", "configmaps", "default"), start, upto, batch=1)[0].type == "MODIFIED"
    assert 0 <= compaction_floor() < start
