"""Workspaces with the real kubectl against a live stack: a real Celery worker schedules and
initializes them; isolation of objects, CRDs and watches; deletion of a nested tree."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_core import K, Stream, cm, uniq, wait_for
from tests.factories import crd_body, crd_version, resource_names

pytestmark = pytest.mark.e2e


class W(K):
    """kubectl pointed at one workspace path (a kubeconfig per path)."""

    def at(self, path: str) -> K:
        cfg = json.loads(Path(self.kubeconfig).read_text()) if self.kubeconfig.endswith(".json") else None
        import yaml

        if cfg is None:
            cfg = yaml.safe_load(Path(self.kubeconfig).read_text())
        server = cfg["clusters"][0]["cluster"]["server"]
        base = server.split("/clusters/")[0]
        for c in cfg["clusters"]:
            c["cluster"]["server"] = f"{base}/clusters/{path}"
        out = Path(self.home) / f"kubeconfig-{path.replace(':', '_').replace('*', 'star')}.yaml"
        out.write_text(yaml.safe_dump(cfg))
        k = K.__new__(K)
        k.kubectl_bin, k.helm_bin, k.home, k.kubeconfig = self.kubectl_bin, self.helm_bin, self.home, str(out)
        return k


@pytest.fixture(scope="module")
def w(stack: Any) -> W:
    return W(stack)


def workspace(k: K, name: str, wstype: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}}
    if wstype:
        body["spec"] = {"type": {"name": wstype, "path": "root"}}
    k.create(body)
    wait_for(
        lambda: k.json("get", "workspace", name).get("status", {}).get("phase") == "Ready",
        60,
        f"workspace {name} not Ready",
    )
    return k.json("get", "workspace", name)


def test_workspace_lifecycle_through_celery(w: W) -> None:
    name = uniq("ws")
    ws = workspace(w, name)
    assert ws["spec"]["URL"].endswith(f"/clusters/root:{name}") and len(ws["spec"]["cluster"]) == 16
    header = w.run("get", "workspaces").stdout.splitlines()[0].split()
    assert header == ["NAME", "TYPE", "REGION", "PHASE", "URL", "AGE"]
    inner = w.at(f"root:{name}")
    assert inner.json("get", "namespace", "default")["status"]["phase"] == "Active"
    lc = inner.json("get", "logicalcluster", "cluster")
    assert lc["metadata"]["annotations"]["kcp.io/path"] == f"root:{name}" and lc["status"]["phase"] == "Ready"


def test_isolation_of_objects_crds_and_watches(w: W) -> None:
    a_name, b_name = uniq("iso"), uniq("iso")
    workspace(w, a_name)
    workspace(w, b_name)
    a, b = w.at(f"root:{a_name}"), w.at(f"root:{b_name}")
    watch_b = Stream(b, "get", "cm", "-A", "--watch", "--output-watch-events", "-o", "json")
    try:
        time.sleep(1.5)
        a.create(cm("secret-of-a", "default", {"x": "1"}))
        assert b.run("get", "cm", "secret-of-a", "-n", "default", ok=False).returncode != 0
        assert w.run("get", "cm", "secret-of-a", "-n", "default", ok=False).returncode != 0
        b.create(cm("marker", "default"))
        wait_for(
            lambda: any(d["object"]["metadata"]["name"] == "marker" for d in watch_b.docs()),
            15,
            "b's watch missed b's own object",
        )
        assert not any(d["object"]["metadata"]["name"] == "secret-of-a" for d in watch_b.docs())
    finally:
        watch_b.stop()
    crd = crd_body(
        group="private.example.com",
        names=resource_names(plural="gadgets", kind="Gadget", singular=None, list_kind=None),
        versions=[crd_version(schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True})],
    )
    a.create(crd)
    wait_for(
        lambda: "gadgets.private.example.com" in a.run("api-resources", "-o", "name").stdout,
        30,
        "CRD not served in its workspace",
    )
    assert "gadgets.private.example.com" not in b.run("api-resources", "-o", "name").stdout


def test_nested_tree_deletion(w: W) -> None:
    org = uniq("org")
    workspace(w, org, "organization")
    o = w.at(f"root:{org}")
    workspace(o, "team1", "team")
    t = w.at(f"root:{org}:team1")
    workspace(t, "leaf")
    leaf = w.at(f"root:{org}:team1:leaf")
    leaf.create(cm("deep", "default"))
    lc = t.json("get", "workspace", "leaf")["spec"]["cluster"]
    by_name = w.at(lc)
    assert by_name.json("get", "cm", "deep", "-n", "default")["metadata"]["annotations"]["kcp.io/cluster"] == lc
    r = w.create(
        {
            "apiVersion": "tenancy.kcp.io/v1alpha1",
            "kind": "Workspace",
            "metadata": {"name": uniq("bad")},
            "spec": {"type": {"name": "team", "path": "root"}},
        },
        ok=False,
    )
    assert r.returncode != 0 and "does not allow parent type" in r.stderr
    w.run("delete", "workspace", org, timeout=90)
    for path in (f"root:{org}", f"root:{org}:team1", f"root:{org}:team1:leaf", lc):
        r = w.at(path).run("get", "cm", "-A", ok=False)
        assert r.returncode != 0, f"{path} still served"
    assert w.run("get", "workspace", org, ok=False).returncode != 0


def test_unknown_workspace_is_refused(w: W) -> None:
    r = w.at("root:" + uniq("nope")).run("get", "cm", "-A", ok=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_serving_and_reconciling_survive_every_database_connection_being_killed(w: W, stack: Any) -> None:
    """Every server-side PostgreSQL connection of the stack is terminated (as by a database
    restart) between requests: pooled connections in the serving processes and in the Celery
    workers, which keep theirs across tasks. The very next requests succeed and a new workspace
    still becomes Ready: dead connections are replaced, not handed to requests or tasks."""
    import psycopg

    def kill_all() -> int:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
        return len(rows)

    workspace(w, uniq("before"))  # every process has a warm connection now
    assert kill_all() > 0
    name = uniq("after")
    # Pooled connections are checked when taken, so not even the first request meets a dead one.
    w.create({"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": name}})
    wait_for(
        lambda: w.json("get", "workspace", name).get("status", {}).get("phase") == "Ready",
        60,
        f"workspace {name} not Ready after the database connections were killed",
    )
    assert kill_all() > 0
    w.run("create", "configmap", uniq("cm"))
