"""Core API behaviour with the REAL clients (kubectl 1.35, helm 4, the Python client 37) against a
live server stack (daphne over TLS, Celery worker and beat, PostgreSQL) started by the suite."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import kubectl_and_helm, python_client_venv

pytestmark = pytest.mark.e2e


def uniq(prefix: str) -> str:
    return prefix + "-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


class K:
    """Runs the real kubectl/helm with the stack's admin kubeconfig and a fresh HOME."""

    def __init__(self, stack: Any) -> None:
        self.kubectl_bin, self.helm_bin = kubectl_and_helm()
        self.kubeconfig = str(stack.kubeconfig_path)
        self.home = tempfile.mkdtemp(prefix="kube-home-")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HOME"] = self.home
        env.pop("KUBECONFIG", None)
        return env

    def run(
        self, *args: str, input: str | None = None, ok: bool = True, timeout: int = 60
    ) -> subprocess.CompletedProcess[str]:
        cp = subprocess.run(
            [str(self.kubectl_bin), "--kubeconfig", self.kubeconfig, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
        )
        if ok:
            assert cp.returncode == 0, f"kubectl {' '.join(args)}: {cp.stdout}{cp.stderr}"
        return cp

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, obj: dict[str, Any], *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("apply", "-f", "-", *extra, input=json.dumps(obj), ok=ok)

    def create(self, obj: dict[str, Any], *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("create", "-f", "-", *extra, input=json.dumps(obj), ok=ok)

    def helm(self, *args: str, ok: bool = True, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        env = self.env()
        for d in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[d] = os.path.join(self.home, d.lower())
        cp = subprocess.run(
            [str(self.helm_bin), "--kubeconfig", self.kubeconfig, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if ok:
            assert cp.returncode == 0, f"helm {' '.join(args)}: {cp.stdout}{cp.stderr}"
        return cp

    def namespace(self) -> str:
        name = uniq("ns")
        self.run("create", "namespace", name)  # a protobuf body
        return name

    def stream(self, *args: str) -> Stream:
        return Stream(self, *args)


class Stream:
    def __init__(self, k: K, *args: str) -> None:
        self.p = subprocess.Popen(
            [str(k.kubectl_bin), "--kubeconfig", k.kubeconfig, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=k.env(),
        )
        self.buf = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            with self.lock:
                self.buf += line

    def docs(self) -> list[Any]:
        with self.lock:
            s = self.buf
        dec, out, i = json.JSONDecoder(), [], 0
        while True:
            while i < len(s) and s[i].isspace():
                i += 1
            if i >= len(s):
                return out
            try:
                doc, i = dec.raw_decode(s, i)
            except ValueError:
                return out
            out.append(doc)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def cm(name: str, ns: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, **meta},
        "data": data or {},
    }


@pytest.fixture(scope="module")
def k(stack: Any) -> K:
    return K(stack)


def wait_for(pred: Any, timeout: float, msg: str) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(msg)


def test_version_health_and_api_resources(k: K) -> None:
    assert k.json("version")["serverVersion"]["gitVersion"]
    assert k.run("get", "--raw", "/readyz").stdout.strip() == "ok"
    names = k.run("api-resources", "-o", "name").stdout.split()
    for want in (
        "namespaces",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "events",
        "leases.coordination.k8s.io",
        "roles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
        "events.events.k8s.io",
        "customresourcedefinitions.apiextensions.k8s.io",
    ):
        assert want in names
    for absent in ("pods", "deployments.apps", "nodes"):
        assert absent not in names


def test_configmap_lifecycle_and_table(k: K) -> None:
    ns = k.namespace()
    assert k.json("get", "namespace", ns)["status"]["phase"] == "Active"
    k.run("create", "configmap", "c1", "-n", ns, "--from-literal=a=1", "--from-literal=b=2")  # protobuf
    got = k.json("get", "cm", "c1", "-n", ns)
    assert got["data"] == {"a": "1", "b": "2"}
    table = k.run("get", "cm", "-n", ns).stdout
    assert table.splitlines()[0].split() == ["NAME", "DATA", "AGE"] and "c1" in table
    wide = k.run("get", "cm", "-A", "--show-labels").stdout
    assert ns in wide
    k.run("delete", "cm", "c1", "-n", ns, timeout=30)
    r = k.run("get", "cm", "c1", "-n", ns, ok=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_client_side_apply_three_way(k: K) -> None:
    ns = k.namespace()
    obj = cm("a1", ns, {"k": "v1"})
    assert "created" in k.apply(obj).stdout
    assert "unchanged" in k.apply(obj).stdout
    obj["data"] = {"k": "v2", "n": "x"}
    assert "configured" in k.apply(obj).stdout
    obj["data"] = {"k": "v3"}
    k.apply(obj)
    live = k.json("get", "cm", "a1", "-n", ns)
    assert live["data"] == {"k": "v3"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_server_side_apply_conflicts_and_force(k: K) -> None:
    ns = k.namespace()
    k.apply(cm("s1", ns, {"owned": "by-kubectl"}), "--server-side")
    live = k.json("get", "cm", "s1", "-n", ns, "--show-managed-fields")
    assert any(m["manager"] == "kubectl" and m["operation"] == "Apply" for m in live["metadata"]["managedFields"])
    r = k.apply(cm("s1", ns, {"owned": "by-other"}), "--server-side", "--field-manager=other", ok=False)
    assert r.returncode != 0 and "conflict" in r.stderr.lower()
    k.apply(cm("s1", ns, {"owned": "by-other"}), "--server-side", "--field-manager=other", "--force-conflicts")
    assert k.json("get", "cm", "s1", "-n", ns)["data"]["owned"] == "by-other"


def test_client_side_to_server_side_migration(k: K) -> None:
    ns = k.namespace()
    k.apply(cm("m1", ns, {"a": "1"}))
    k.apply(cm("m1", ns, {"a": "2"}), "--server-side")
    live = k.json("get", "cm", "m1", "-n", ns, "--show-managed-fields")
    assert live["data"] == {"a": "2"}


def test_patch_types_and_failed_test_op(k: K) -> None:
    ns = k.namespace()
    k.create(cm("p1", ns, {"a": "1"}, labels={"x": "1"}))
    k.run("patch", "cm", "p1", "-n", ns, "-p", '{"data":{"b":"2"}}')
    k.run("patch", "cm", "p1", "-n", ns, "--type", "merge", "-p", '{"data":{"a":null,"c":"3"}}')
    k.run(
        "patch",
        "cm",
        "p1",
        "-n",
        ns,
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/data/b","value":"2"},{"op":"add","path":"/data/d","value":"4"}]',
    )
    r = k.run(
        "patch",
        "cm",
        "p1",
        "-n",
        ns,
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/data/b","value":"nope"}]',
        ok=False,
    )
    assert r.returncode != 0
    assert k.json("get", "cm", "p1", "-n", ns)["data"] == {"b": "2", "c": "3", "d": "4"}


def test_selectors_label_annotate(k: K) -> None:
    ns = k.namespace()
    for i, tier in enumerate(["web", "web", "db", "cache"]):
        k.create(cm(f"l{i}", ns, labels={"tier": tier, "idx": str(i)}))

    def names(*sel: str) -> list[str]:
        return sorted(k.run("get", "cm", "-n", ns, "-o", "name", *sel).stdout.split())

    assert names("-l", "tier=web") == ["configmap/l0", "configmap/l1"]
    assert names("-l", "tier in (db,cache)") == ["configmap/l2", "configmap/l3"]
    assert names("-l", "tier!=web,idx") == ["configmap/l2", "configmap/l3"]
    assert names("--field-selector", "metadata.name=l2") == ["configmap/l2"]
    k.run("label", "cm", "l3", "-n", ns, "tier=db", "--overwrite")
    k.run("annotate", "cm", "l3", "-n", ns, "note=hi")
    assert names("-l", "tier=db") == ["configmap/l2", "configmap/l3"]


def test_stale_replace_conflicts(k: K) -> None:
    ns = k.namespace()
    k.create(cm("o1", ns, {"v": "1"}))
    stale = k.json("get", "cm", "o1", "-n", ns)
    k.run("patch", "cm", "o1", "-n", ns, "--type", "merge", "-p", '{"data":{"v":"2"}}')
    stale["data"]["v"] = "stale"
    r = k.run("replace", "-f", "-", input=json.dumps(stale), ok=False)
    assert r.returncode != 0 and ("Conflict" in r.stderr or "modified" in r.stderr)
    assert k.json("get", "cm", "o1", "-n", ns)["data"]["v"] == "2"


def test_watch_events_json_and_table(k: K) -> None:
    ns = k.namespace()
    s = k.stream("get", "cm", "-n", ns, "--watch", "--output-watch-events", "-o", "json")
    t = k.stream("get", "cm", "-n", ns, "--watch")
    try:
        time.sleep(1.5)
        k.create(cm("w1", ns, {"a": "1"}))
        k.run("patch", "cm", "w1", "-n", ns, "--type", "merge", "-p", '{"data":{"a":"2"}}')
        k.run("delete", "cm", "w1", "-n", ns, timeout=30)
        want = [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]

        def got() -> list[tuple[str, str]]:
            return [
                (d.get("type"), d["object"]["metadata"]["name"])
                for d in s.docs()
                if d.get("object", {}).get("metadata", {}).get("name") == "w1"
            ]

        wait_for(lambda: got() == want, 15, f"watch saw {got()}")
        wait_for(lambda: "w1" in t.buf, 10, f"table watch printed {t.buf!r}")
    finally:
        s.stop()
        t.stop()


def test_pagination_with_chunk_size(k: K) -> None:
    ns = k.namespace()
    items = [cm(f"pg{i:02d}", ns) for i in range(23)]
    k.run("create", "-f", "-", input="\n---\n".join(json.dumps(i) for i in items))
    out = k.run("get", "cm", "-n", ns, "--chunk-size=4", "-o", "name").stdout.split()
    assert len([o for o in out if o.startswith("configmap/pg")]) == 23


def test_finalizers_and_delete_wait(k: K) -> None:
    ns = k.namespace()
    k.create(cm("f1", ns, finalizers=["example.com/hold"]))
    k.run("delete", "cm", "f1", "-n", ns, "--wait=false")
    assert k.json("get", "cm", "f1", "-n", ns)["metadata"]["deletionTimestamp"]
    waiter = k.stream("delete", "cm", "f1", "-n", ns, "--timeout=40s")  # watch-list until DELETED
    try:
        time.sleep(2)
        k.run("patch", "cm", "f1", "-n", ns, "--type", "merge", "-p", '{"metadata":{"finalizers":null}}')
        assert waiter.wait_exit(15) == 0, "kubectl delete did not return once the finalizer was removed"
    finally:
        waiter.stop()


def test_wait_for_jsonpath(k: K) -> None:
    ns = k.namespace()
    k.create(cm("wt", ns))
    waiter = k.stream("wait", "cm/wt", "-n", ns, "--for=jsonpath={.data.ready}=yes", "--timeout=30s")
    try:
        time.sleep(2)
        k.run("patch", "cm", "wt", "-n", ns, "--type", "merge", "-p", '{"data":{"ready":"yes"}}')
        assert waiter.wait_exit(15) == 0
    finally:
        waiter.stop()


def test_generate_name_dry_run_validation(k: K) -> None:
    ns = k.namespace()
    out = k.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-", "namespace": ns}}, "-o", "name"
    ).stdout.strip()
    assert out.startswith("configmap/gen-") and len(out) == len("configmap/gen-") + 5
    k.create(cm("dr", ns), "--dry-run=server")
    assert k.run("get", "cm", "dr", "-n", ns, ok=False).returncode != 0
    r = k.create(cm("Bad_Name", ns), ok=False)
    assert r.returncode != 0 and "Invalid" in r.stderr
    bad = cm("unknownfield", ns)
    bad["spec"] = {"x": 1}
    r = k.create(bad, ok=False)
    assert r.returncode != 0 and "unknown field" in r.stderr
    r = k.create(cm("nons", uniq("missing")), ok=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_secrets_protobuf_and_explain(k: K) -> None:
    ns = k.namespace()
    k.run("create", "secret", "generic", "s1", "-n", ns, "--from-literal=k=v")
    s = k.json("get", "secret", "s1", "-n", ns)
    assert s["data"] == {"k": "dg=="} and s["type"] == "Opaque"
    out = k.run("explain", "configmap.data").stdout
    assert "FIELD" in out or "DESCRIPTION" in out


def test_namespace_deletion_empties_it(k: K) -> None:
    ns = k.namespace()
    for i in range(5):
        k.create(cm(f"x{i}", ns))
    k.run("create", "secret", "generic", "s", "-n", ns, "--from-literal=a=b")
    k.run("delete", "namespace", ns, "--timeout=60s", timeout=90)
    r = k.run("get", "namespace", ns, ok=False)
    assert r.returncode != 0 and "NotFound" in r.stderr
    assert k.run("get", "cm", "-A", "-o", "name").stdout.count(f"{ns}/") == 0


def test_rbac_kinds_are_stored_and_served(k: K) -> None:
    ns = k.namespace()
    k.run("create", "role", "reader", "-n", ns, "--verb=get,list", "--resource=configmaps")
    k.run("create", "rolebinding", "rb", "-n", ns, "--role=reader", "--user=alice")
    k.run("create", "clusterrole", "cr", "--verb=get", "--resource=secrets")
    assert k.json("get", "role", "reader", "-n", ns)["rules"][0]["verbs"] == ["get", "list"]
    assert "reader" in k.run("get", "rolebinding", "-n", ns).stdout
    k.run("delete", "clusterrole", "cr")


def test_helm_install_upgrade_uninstall(k: K, tmp_path: Path) -> None:
    ns = k.namespace()
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n"
        "data:\n  greeting: {{ .Values.greeting }}\n"
    )
    k.helm("install", "rel", str(chart), "-n", ns, "--wait", "--timeout", "60s")
    assert k.json("get", "cm", "rel-cfg", "-n", ns)["data"]["greeting"] == "hello"
    k.helm("upgrade", "rel", str(chart), "-n", ns, "--set", "greeting=bye")
    assert k.json("get", "cm", "rel-cfg", "-n", ns)["data"]["greeting"] == "bye"
    k.helm("upgrade", "rel", str(chart), "-n", ns, "--set", "greeting=csa", "--server-side=false")
    assert k.json("get", "cm", "rel-cfg", "-n", ns)["data"]["greeting"] == "csa"
    assert "deployed" in k.helm("list", "-n", ns).stdout
    k.helm("uninstall", "rel", "-n", ns, "--wait", "--timeout", "60s")
    assert k.run("get", "cm", "rel-cfg", "-n", ns, ok=False).returncode != 0


PY_CLIENT = r"""
import json, os, sys
from kubernetes import client, config, watch, dynamic
api = client.CoreV1Api(config.new_client_from_config(os.environ["KUBECONFIG"]))
ns = sys.argv[1]
api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
api.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pc"), data={"a": "1"}))
lst = api.list_namespaced_config_map(ns)
assert [c.metadata.name for c in lst.items] == ["pc"], lst
seen = []
for ev in watch.Watch().stream(api.list_namespaced_config_map, ns, timeout_seconds=5):
    seen.append((ev["type"], ev["object"].metadata.name))
    break
assert seen == [("ADDED", "pc")], seen
api.patch_namespaced_config_map("pc", ns, {"data": {"b": "2"}})
cm = api.read_namespaced_config_map("pc", ns)
assert cm.data == {"a": "1", "b": "2"}, cm.data
cm.data["c"] = "3"
api.replace_namespaced_config_map("pc", ns, cm)
api.delete_namespaced_config_map("pc", ns)
try:
    api.read_namespaced_config_map("pc", ns)
    raise SystemExit("still there")
except client.ApiException as e:
    assert e.status == 404 and json.loads(e.body)["reason"] == "NotFound"
print(client.VersionApi(api.api_client).get_code().git_version)
dyn = dynamic.DynamicClient(config.new_client_from_config(os.environ["KUBECONFIG"]))
leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
leases.create(body={"metadata": {"name": "l1"}, "spec": {"holderIdentity": "me"}}, namespace=ns)
assert leases.get(namespace=ns, name="l1").spec.holderIdentity == "me"
dyn.server_side_apply(resource=leases, body={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                      "metadata": {"name": "l1", "namespace": ns}, "spec": {"holderIdentity": "you"}},
                      namespace=ns, field_manager="py", force_conflicts=True)  # "me" is owned by the creator
assert leases.get(namespace=ns, name="l1").spec.holderIdentity == "you"
print("OK")
"""


def test_python_client(stack: Any) -> None:
    python = python_client_venv()
    env = dict(os.environ, KUBECONFIG=str(stack.kubeconfig_path))
    cp = subprocess.run(
        [str(python), "-c", PY_CLIENT, uniq("py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert cp.returncode == 0 and cp.stdout.strip().endswith("OK"), cp.stdout + cp.stderr
