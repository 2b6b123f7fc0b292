"""HAProxy on the generated configuration in front of two HTTPS echo backends: what reaches a
shard (identity headers never do), routing by path and by name with the path rewritten, the
answers the proxy gives itself (403/503 Status), and streams surviving map updates."""

from __future__ import annotations

import threading
import time
from typing import Any

from frontproxy.runtime import RuntimeAPI

from .harness import Echo, Proxy, wait_for

ROUTES = {
    "root": "root/root",
    "root:org": "shard-1/2abcdefgh",
    "2abcdefgh": "shard-1/2abcdefgh",
    "root:org:team": "root/3teamlc",
    "3teamlc": "root/3teamlc",
    "root:lost": "gone-shard/4lost",
}


def _headers(doc: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in doc["headers"]:
        out.setdefault(k, []).append(v)
    return out


def _forbidden(status: int, body: Any) -> None:
    assert status == 403, body
    assert body["kind"] == "Status" and body["apiVersion"] == "v1", body
    assert body["status"] == "Failure" and body["reason"] == "Forbidden" and body["code"] == 403, body


def test_identity_headers_never_reach_a_shard(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    forged = {"X-Remote-User": "mallory", "X-Remote-Group": "system:masters", "X-Remote-Extra-Foo": "bar",
              "x-remote-extra-authentication.kcp.io%2fcluster-name": "root", "X-Remote-Uid": "0"}
    for path in ("/clusters/root:org/api/v1/namespaces", "/clusters/root/api", "/version", "/workspaces/root:org/"):
        for auth in ({"Authorization": "Bearer tenant-token"}, {}):
            status, doc, _ = proxy.get(path, {**forged, **auth, "Impersonate-User": "bob"})
            assert status == 200, doc
            headers = _headers(doc)
            assert not [k for k in headers if k.startswith("x-remote-")], headers
            assert "mallory" not in str(doc) and "system:masters" not in str(doc)
            # What the shards authenticate and authorize themselves passes unchanged.
            assert headers.get("authorization") == ([auth["Authorization"]] if auth else None)
            assert headers["impersonate-user"] == ["bob"]


def test_routing_by_path_and_by_name_rewrites_to_the_logical_cluster(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    cases = {
        "/clusters/root:org/api/v1/namespaces/default/configmaps?limit=5": ("shard-1",
                                                                            "/clusters/2abcdefgh/api/v1/namespaces/default/configmaps?limit=5"),
        "/clusters/2abcdefgh/apis": ("shard-1", "/clusters/2abcdefgh/apis"),
        "/clusters/root%3Aorg/version": ("shard-1", "/clusters/2abcdefgh/version"),
        "/clusters/root:org:team/api": ("root", "/clusters/3teamlc/api"),
        "/clusters/3teamlc": ("root", "/clusters/3teamlc"),
        "/clusters/root/api/v1": ("root", "/clusters/root/api/v1"),
    }
    for path, (backend, seen) in cases.items():
        status, doc, _ = proxy.get(path)
        assert status == 200 and (doc["backend"], doc["path"]) == (backend, seen), (path, doc)


def test_portal_workspace_pages_follow_the_path_without_rewrite(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    cases = {
        "/workspaces/root:org/": "shard-1",
        "/workspaces/root:org/apis/v1/configmaps/list.json": "shard-1",
        "/workspaces/root:org:team/members": "root",
        "/workspaces/": "root",
        "/workspaces/root:unknown/": "root",  # the portal answers for unknown workspaces itself
        "/": "root",
        "/version": "root",
        "/api/v1": "root",
        "/apis": "root",
        "/login": "root",
        "/services/apiexport/x/y/clusters/*/apis": "root",
    }
    for path, backend in cases.items():
        status, doc, _ = proxy.get(path)
        assert status == 200 and doc["backend"] == backend and doc["path"] == path, (path, doc)
    assert proxy.get("/readyz")[:2] == (200, "ok")


def test_wildcard_and_unknown_segments_are_forbidden_without_leaking(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    unknown = []
    for path in ("/clusters/root:nope/api", "/clusters/nope", "/clusters//api", "/clusters/", "/clusters/ROOT/api",
                 "/clusters/root:org:x/api", "/clusters/root%2Forg/api"):
        status, body, _ = proxy.get(path, {"Authorization": "Bearer x"})
        _forbidden(status, body)
        unknown.append(body)
    # Every unknown path gets the very same answer: nothing about what exists.
    assert all(b == unknown[0] for b in unknown)
    for path in ("/clusters/*/api/v1/configmaps", "/clusters/%2A/api/v1/configmaps"):
        status, body, _ = proxy.get(path)
        _forbidden(status, body)


def test_a_shards_virtual_workspaces_are_reached_under_its_prefix_and_nothing_else_is(make_proxy: Any) -> None:
    """`/shards/<shard>/services/...` goes to that shard, path unchanged (the shard serves its own
    part there): the per-shard URLs of APIExportEndpointSlices. Wildcards there are the point (a
    provider's view of the consumers that shard holds); nothing but `/services/` of a known shard
    is reached that way."""
    proxy: Proxy = make_proxy(ROUTES)
    cases = {
        "/shards/shard-1/services/apiexport/root:org/w.example.com/clusters/*/apis/w.example.com/v1/things?watch=1":
            ("shard-1", "/shards/shard-1/services/apiexport/root:org/w.example.com/clusters/*/apis/w.example.com/v1/"
                        "things?watch=1"),
        "/shards/root/services/apiexport/root/x/clusters/2abc/api":
            ("root", "/shards/root/services/apiexport/root/x/clusters/2abc/api"),
    }
    for path, (backend, seen) in cases.items():
        status, doc, _ = proxy.get(path, {"Authorization": "Bearer t", "X-Remote-User": "mallory"})
        assert status == 200 and (doc["backend"], doc["path"]) == (backend, seen), (path, doc)
        assert "mallory" not in str(doc)
    for path in ("/shards/nope/services/apiexport/root/x", "/shards/shard-1/clusters/*/api/v1/secrets",
                 "/shards/shard-1/clusters/2abcdefgh/api", "/shards/root/version", "/shards/", "/shards//services/x",
                 "/shards/shard-1/", "/shards/shard-1"):
        status, body, _ = proxy.get(path)
        assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound", (path, body)


def test_an_exports_shared_url_sends_one_consumer_to_its_shard_and_the_rest_to_the_default(make_proxy: Any) -> None:
    """`/services/apiexport/<path>/<export>/clusters/<logical cluster>/...` goes to the consumer's
    shard, path unchanged; the wildcard and unknown consumers go to the default backend (root), which
    merges the wildcard view and answers 404 for a consumer it does not hold."""
    proxy: Proxy = make_proxy(ROUTES)
    shared = "/services/apiexport/root:org:team/w.example.com"
    cases = {
        f"{shared}/clusters/2abcdefgh/apis/w.example.com/v1/namespaces/default/things": "shard-1",
        f"{shared}/clusters/3teamlc/api": "root",
        f"{shared}/clusters/*/apis/w.example.com/v1/things?watch=1": "root",
        f"{shared}/clusters/unknown/api": "root",
        "/services/apiexport/root/x/clusters/2abcdefgh/api": "shard-1",
    }
    for path, backend in cases.items():
        status, doc, _ = proxy.get(path)
        assert status == 200 and (doc["backend"], doc["path"]) == (backend, path), (path, doc)


def test_a_route_to_a_shard_without_backend_is_unavailable(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    status, body, headers = proxy.get("/clusters/root:lost/api")
    assert status == 503 and body["reason"] == "ServiceUnavailable" and body["code"] == 503, body
    assert headers["retry-after"] == "1"


def test_a_dead_shard_answers_503_within_two_seconds_while_the_other_serves(
        make_proxy: Any, tls: Any, echoes: dict[str, Echo], proxy_dir: Any) -> None:
    from frontproxy.config import ShardBackend

    victim = Echo("shard-1", tls).start()
    try:
        proxy = Proxy(proxy_dir, tls, [ShardBackend("root", echoes["root"].base_url),
                                       ShardBackend("shard-1", victim.base_url)])
        proxy.write_config()
        proxy.files.routes_map.write_text("".join(f"{k} {v}\n" for k, v in ROUTES.items()))
        proxy.start(healthy=("root", "shard-1"))
        assert proxy.get("/clusters/root:org/api")[0] == 200
        victim.kill()
        began = time.monotonic()
        status, body, headers = proxy.get("/clusters/root:org/api")
        assert time.monotonic() - began < 2.0
        assert status == 503 and body["kind"] == "Status" and body["code"] == 503, body
        assert headers["retry-after"] == "1"
        wait_for(lambda: not proxy.server_up("shard-1"), 3, "shard-1 marked down")
        assert time.monotonic() - began < 3.0
        status, body, headers = proxy.get("/clusters/2abcdefgh/api")
        assert status == 503 and body["reason"] == "ServiceUnavailable" and headers["retry-after"] == "1"
        assert proxy.get("/clusters/root:org:team/api")[0] == 200
        assert proxy.get("/version")[0] == 200
        proxy.stop()
    finally:
        victim.kill()


def test_a_stream_survives_a_hundred_map_updates(make_proxy: Any) -> None:
    proxy: Proxy = make_proxy(ROUTES)
    conn = proxy.connection(timeout=30)
    conn.request("GET", "/clusters/root:org/api/v1/configmaps/stream?watch=1&seconds=4")
    resp = conn.getresponse()
    assert resp.status == 200
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(resp.readline, b"")), daemon=True)
    reader.start()
    wait_for(lambda: len(lines) >= 3, 5, "the stream flowing")
    with RuntimeAPI(proxy.files.socket) as api:
        for i in range(50):
            api.map_set(proxy.files.routes_map, f"root:churn{i}", f"root/5churn{i}")
        api.map_replace(proxy.files.routes_map, [*ROUTES.items(), ("root:other", "root/6other")])
        for i in range(49):
            api.map_del(proxy.files.routes_map, "root:other") if i == 0 else api.map_set(
                proxy.files.routes_map, f"root:again{i}", f"shard-1/7again{i}")
        assert api.map_get(proxy.files.routes_map, "root:again3") == "shard-1/7again3"
        assert api.map_get(proxy.files.routes_map, "root:churn3") is None  # replaced away
    reader.join(10)
    conn.close()
    numbers = [int(line.split(b'"n": ')[1].split(b",")[0]) for line in lines]
    # Unbuffered and uncut: every chunk arrived, in order, until the backend ended the stream.
    assert numbers == list(range(len(numbers))) and len(numbers) >= 60, numbers
    # Routes changed meanwhile take effect for new requests.
    status, doc, _ = proxy.get("/clusters/root:again3/api")
    assert status == 200 and doc["path"] == "/clusters/7again3/api"
