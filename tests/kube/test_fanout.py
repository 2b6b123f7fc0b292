"""The merge rules of a wildcard view served in parts (kube.endpoints.fanout), without a network:
composite positions, where each part's watch starts, how lists merge. The parts talking HTTPS to
each other are tested end to end (tests/e2e/test_sharded.py)."""

from __future__ import annotations

import pytest

from kube import errors
from kube.endpoints.fanout import FanOut, _merge, composite_decode, composite_encode, watch_start

URLS = {"root": "https://r/shards/root/services/x", "shard-1": "https://s1/shards/shard-1/services/x",
        "shard-2": "https://s2/shards/shard-2/services/x"}


def _fan(parts: tuple[str, ...], here: str = "root") -> FanOut:
    return FanOut(here=here, parts={p: URLS[p] for p in parts}, url_of=URLS.get, ca_file="/nonexistent")


def test_a_composite_position_round_trips_and_is_opaque_and_url_safe() -> None:
    rv = composite_encode({"shard-1": "42", "root": "1007"})
    assert rv.startswith("m.") and all(c.isalnum() or c in "-_." for c in rv)
    assert composite_decode(rv) == {"root": "1007", "shard-1": "42"}
    assert composite_encode({"root": "1007", "shard-1": "42"}) == rv  # the same positions, the same string
    assert composite_decode("1007") is None and composite_decode("") is None


BAD = ["m.", "m.!!!", "m.bm90IGpzb24", "m.WzEsMl0", "m.eyJyb290IjoxfQ", "m.eyJyb290IjoiLTEifQ"]


@pytest.mark.parametrize("bad", BAD)
def test_a_malformed_composite_position_is_a_bad_request(bad: str) -> None:
    with pytest.raises(errors.BadRequest):
        composite_decode(bad)


def test_a_request_is_fanned_out_only_when_another_part_exists_or_a_composite_position_is_given() -> None:
    assert not _fan(()).needed("")
    assert not _fan(("root",)).needed("17")
    assert _fan(("root", "shard-1")).needed("")
    assert _fan(("shard-1",)).needed("")  # the one part is elsewhere
    assert _fan(("root",)).needed(composite_encode({"root": "5", "shard-1": "9"}))


def test_where_each_parts_watch_starts() -> None:
    fan = _fan(("root", "shard-1"))
    assert watch_start(fan, resource_version="").positions == {"root": "", "shard-1": ""}
    assert watch_start(fan, resource_version="0").positions == {"root": "0", "shard-1": "0"}
    # a part the client never saw starts with its state; a part it saw that holds nothing any more
    # is still followed (its deletions must arrive); an unknown one is dropped
    start = watch_start(fan, resource_version=composite_encode({"root": "10", "shard-2": "7", "gone": "3"}))
    assert start.positions == {"root": "10", "shard-1": "", "shard-2": "7"}
    assert start.known == {"root", "shard-2"}  # shard-1's position is known from its first bookmark
    assert watch_start(fan, resource_version="").known == frozenset()
    assert start.urls == {p: URLS[p] for p in ("root", "shard-1", "shard-2")}
    with pytest.raises(errors.Expired):  # a plain position cannot say where each part was
        watch_start(fan, resource_version="10")


def test_lists_merge_in_a_stable_order_under_a_composite_position() -> None:
    def item(cluster: str, ns: str, name: str) -> dict[str, object]:
        return {"metadata": {"name": name, "namespace": ns, "annotations": {"kcp.io/cluster": cluster},
                             "resourceVersion": "1"}}

    root = {"kind": "CowboyList", "apiVersion": "w/v1", "metadata": {"resourceVersion": "100", "continue": "x"},
            "items": [item("b", "default", "z"), item("a", "default", "y")]}
    one = {"kind": "CowboyList", "apiVersion": "w/v1", "metadata": {"resourceVersion": "7"},
           "items": [item("a", "default", "x")]}
    kind = ("CowboyList", "w/v1")
    assert _merge([], list_kind=kind) == {"kind": "CowboyList", "apiVersion": "w/v1", "items": [],
                                          "metadata": {"resourceVersion": composite_encode({})}}
    merged = _merge([("root", root), ("shard-1", one)], list_kind=kind)
    assert merged["kind"] == "CowboyList" and merged["apiVersion"] == "w/v1"
    assert [(i["metadata"]["annotations"]["kcp.io/cluster"], i["metadata"]["name"]) for i in merged["items"]] == [
        ("a", "x"), ("a", "y"), ("b", "z")]
    assert merged["metadata"] == {"resourceVersion": composite_encode({"root": "100", "shard-1": "7"})}
    table = _merge([("root", {"kind": "Table", "columnDefinitions": [{"name": "Name"}], "metadata": {},
                              "rows": [{"object": item("b", "", "n")}]}),
                    ("shard-1", {"kind": "Table", "metadata": {"resourceVersion": "3"},
                                 "rows": [{"object": item("a", "", "m")}]})], list_kind=kind)
    assert [r["object"]["metadata"]["name"] for r in table["rows"]] == ["m", "n"]
    assert table["columnDefinitions"] == [{"name": "Name"}]
