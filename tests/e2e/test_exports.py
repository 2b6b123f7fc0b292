"""APIExports and APIBindings with the real kubectl against a live stack (Celery binds): the
provider's virtual workspace lists and watches across consumers, and a resumed watch replays
exactly what it missed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_core import K, uniq, wait_for
from tests.e2e.test_workspaces import W, workspace
from tests.factories import apiresourceschema_body, resource_names, schema_version

pytestmark = pytest.mark.e2e


def at_url(k: K, url: str) -> K:
    """kubectl with the same credentials pointed at `url` (a virtual workspace)."""
    cfg = yaml.safe_load(Path(k.kubeconfig).read_text())
    for c in cfg["clusters"]:
        c["cluster"]["server"] = url
    out = Path(k.home) / f"kubeconfig-{uniq('vw')}.yaml"
    out.write_text(yaml.safe_dump(cfg))
    view = K.__new__(K)
    view.kubectl_bin, view.helm_bin, view.home, view.kubeconfig = k.kubectl_bin, k.helm_bin, k.home, str(out)
    return view


def schema(group: str) -> dict[str, Any]:
    return apiresourceschema_body(
        group=group,
        names=resource_names(plural="cowboys", kind="Cowboy"),
        versions=[
            schema_version(name="v1alpha1", schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        ],
    )


@pytest.fixture(scope="module")
def w(stack: Any) -> W:
    return W(stack)


def test_provider_watches_every_consumer_and_resumes_without_gaps(w: W) -> None:
    prov = uniq("prov")
    group = uniq("west") + ".example.com"
    workspace(w, prov)
    p = w.at(f"root:{prov}")
    p.create(schema(group))
    p.create(
        {
            "apiVersion": "apis.kcp.io/v1alpha2",
            "kind": "APIExport",
            "metadata": {"name": group},
            "spec": {"resources": [{"group": group, "name": "cowboys", "schema": f"v1.cowboys.{group}"}]},
        }
    )
    wait_for(lambda: "url" in p.run("get", "apiexportendpointslice", group, "-o", "json", ok=False).stdout, 30, "slice")
    url = p.json("get", "apiexportendpointslice", group)["status"]["endpoints"][0]["url"]
    consumers = []
    for i in range(3):
        name = uniq(f"c{i}")
        workspace(w, name)
        c = w.at(f"root:{name}")
        c.create(
            {
                "apiVersion": "apis.kcp.io/v1alpha2",
                "kind": "APIBinding",
                "metadata": {"name": "west"},
                "spec": {"reference": {"export": {"path": f"root:{prov}", "name": group}}},
            }
        )
        consumers.append(c)
    for c in consumers:
        wait_for(lambda c=c: c.json("get", "apibinding", "west").get("status", {}).get("phase") == "Bound", 30, "Bound")
        wait_for(lambda c=c: "cowboys" in c.run("api-resources", "--api-group", group).stdout, 20, "discovery")

    view = at_url(w, url + "/clusters/*")
    watch = view.stream("get", f"cowboys.{group}", "-A", "--watch", "--output-watch-events", "-o", "json")
    try:

        def cowboy(name: str) -> dict[str, Any]:
            return {
                "apiVersion": f"{group}/v1alpha1",
                "kind": "Cowboy",
                "metadata": {"name": name, "namespace": "default"},
            }

        for i, c in enumerate(consumers):
            c.create(cowboy(f"first-{i}"))

        def names() -> list[str]:
            return [d["object"]["metadata"]["name"] for d in watch.docs() if d.get("type") == "ADDED"]

        wait_for(lambda: sorted(names()) == ["first-0", "first-1", "first-2"], 20, "watch across consumers")
    finally:
        watch.stop()
    listed = json.loads(view.run("get", "--raw", f"/apis/{group}/v1alpha1/cowboys").stdout)
    rv = listed["metadata"]["resourceVersion"]
    clusters = {i["metadata"]["annotations"]["kcp.io/cluster"] for i in listed["items"]}
    assert len(clusters) == 3
    # while nobody watches: changes in every consumer, then a resumed watch gets exactly those
    for i, c in enumerate(consumers):
        c.create(cowboy(f"later-{i}"))
        c.run("delete", f"cowboys.{group}", f"first-{i}", "-n", "default")
    raw = view.run(
        "get", "--raw", f"/apis/{group}/v1alpha1/cowboys?watch=true&resourceVersion={rv}&timeoutSeconds=2", timeout=30
    ).stdout
    events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert sorted(seen) == sorted(
        [("ADDED", f"later-{i}") for i in range(3)] + [("DELETED", f"first-{i}") for i in range(3)]
    )
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
