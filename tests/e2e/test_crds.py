"""CRDs with the real clients: kubectl create/apply/explain/scale/patch on custom resources, and
helm installing a chart that ships a CRD in crds/ and a custom resource in templates/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_core import K, uniq, wait_for
from tests.factories import crd_body, crd_version, resource_names

pytestmark = pytest.mark.e2e


def crd(group: str) -> dict[str, Any]:
    return crd_body(
        group=group,
        names=resource_names(plural="widgets", kind="Widget"),
        versions=[
            crd_version(
                subresources={
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                },
                printer_columns=[{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                schema={
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "size": {"type": "integer", "minimum": 0},
                                "color": {"type": "string", "default": "blue"},
                                "replicas": {"type": "integer"},
                            },
                        },
                        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                    },
                },
            )
        ],
    )


@pytest.fixture(scope="module")
def k(stack: Any) -> K:
    return K(stack)


def established(k: K, name: str) -> bool:
    conds = k.json("get", "crd", name).get("status", {}).get("conditions", [])
    return any(c["type"] == "Established" and c["status"] == "True" for c in conds)


def test_crd_lifecycle_with_kubectl(k: K) -> None:
    group = uniq("g") + ".example.com"
    k.create(crd(group))
    wait_for(lambda: established(k, f"widgets.{group}"), 30, "CRD not Established")
    ns = k.namespace()
    w = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": ns},
        "spec": {"size": 3, "replicas": 1},
    }
    k.create(w)
    assert k.json("get", f"widgets.{group}", "w1", "-n", ns)["spec"]["color"] == "blue"
    table = k.run("get", f"widgets.{group}", "-n", ns).stdout
    assert table.splitlines()[0].split() == ["NAME", "SIZE"] and "3" in table
    # validated apply (default strict) and 3-way merge patches on a custom resource
    w["spec"]["size"] = 4
    assert "configured" in k.apply(w).stdout
    assert "unchanged" in k.apply(w).stdout
    w["spec"]["size"] = 5
    assert "serverside-applied" in k.apply(w, "--server-side", "--force-conflicts").stdout
    assert k.json("get", f"widgets.{group}", "w1", "-n", ns)["spec"]["size"] == 5
    out = k.run("explain", f"widgets.{group}.spec").stdout
    assert "size" in out and "color" in out
    bad = dict(w, spec={"size": -1})
    r = k.apply(bad, ok=False)
    assert r.returncode != 0 and "Invalid" in r.stderr
    unknown = dict(w, spec={"size": 1, "nope": 1})
    r = k.apply(unknown, ok=False)
    assert r.returncode != 0 and "unknown field" in r.stderr
    r = k.run("patch", f"widgets.{group}", "w1", "-n", ns, "-p", '{"spec":{"size":6}}', ok=False)
    assert r.returncode != 0 and "not supported" in r.stderr
    k.run(
        "patch",
        f"widgets.{group}",
        "w1",
        "-n",
        ns,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        '{"status":{"ready":true}}',
    )
    assert k.json("get", f"widgets.{group}", "w1", "-n", ns)["status"]["ready"] is True
    k.run("scale", f"widgets.{group}/w1", "-n", ns, "--replicas=3")
    assert k.json("get", f"widgets.{group}", "w1", "-n", ns)["spec"]["replicas"] == 3
    assert "widgets" in k.run("api-resources", "--api-group", group, "-o", "name").stdout
    k.run("delete", "crd", f"widgets.{group}", timeout=90)
    r = k.run("get", f"widgets.{group}", "-n", ns, ok=False)
    assert r.returncode != 0


def test_helm_chart_with_a_crd_and_a_custom_resource(k: K, tmp_path: Path) -> None:
    group = uniq("h") + ".example.com"
    ns = k.namespace()
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: widgets\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("size: 2\n")
    (chart / "crds" / "widgets.yaml").write_text(json.dumps(crd(group)))
    (chart / "templates" / "widget.yaml").write_text(
        f"apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: {{{{ .Release.Name }}}}-w\n"
        "spec:\n  size: {{ .Values.size }}\n"
    )
    k.helm("install", "wrel", str(chart), "-n", ns, "--wait", "--timeout", "60s")
    w = k.json("get", f"widgets.{group}", "wrel-w", "-n", ns)
    assert w["spec"] == {"size": 2, "color": "blue"}
    k.helm("upgrade", "wrel", str(chart), "-n", ns, "--set", "size=9", "--wait", "--timeout", "60s")
    assert k.json("get", f"widgets.{group}", "wrel-w", "-n", ns)["spec"]["size"] == 9
    k.helm("uninstall", "wrel", "-n", ns, "--wait", "--timeout", "60s")
    assert k.run("get", f"widgets.{group}", "wrel-w", "-n", ns, ok=False).returncode != 0
