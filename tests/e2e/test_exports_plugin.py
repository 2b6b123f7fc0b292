"""`kubectl kcp` (kubectl_kcp/kcp.py, console script `kubectl-kcp`) run by the REAL kubectl, which
finds it on PATH (the venv's bin dir), against the live stack: a provider exports an API that claims
configmaps, a consumer binds it with `kubectl kcp bind apiexport`, answers the claim, uses the API;
a user without `bind` on the export is refused with the server's message."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcpsite.launcher import Stack
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.prefix) / "bin"


def uniq(prefix: str) -> str:
    return prefix + "-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


def wait_for(pred: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.3)


class Kcp:
    """The real kubectl with a private kubeconfig (a copy of the stack's) and the plugins on PATH."""

    def __init__(self, kubectl: Runner, kubeconfig: Path) -> None:
        assert (VENV_BIN / "kubectl-kcp").exists(), (
            f"kubectl-kcp is not installed in {VENV_BIN}: run `make venv` (pip install -e .)"
        )
        self.kubeconfig = kubeconfig
        self.env = {"KUBECONFIG": str(kubeconfig), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.kubectl = kubectl

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.kubectl(*args, input=input, env=self.env, timeout=150)

    def ok(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, input=input)
        assert result.returncode == 0, f"kubectl {' '.join(args)} exited {result.returncode}:\n" \
                                       f"{result.stdout}{result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json").stdout)

    def create(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            self.ok("create", "-f", "-", input=json.dumps(obj))

    def enter(self, path: str) -> None:
        assert self.ok("kcp", "ws", f":{path}").stdout.startswith(f"Current workspace is '{path}'")

    def with_token(self, token: str, path: Path) -> Kcp:
        """The same kubeconfig (current workspace included) authenticating with `token`."""
        doc = yaml.safe_load(self.kubeconfig.read_text())
        for user in doc["users"]:
            user["user"] = {"token": token}
        path.write_text(yaml.safe_dump(doc))
        return Kcp(self.kubectl, path)


@pytest.fixture
def kcp(kubectl: Runner, stack: Stack, tmp_path: Path) -> Kcp:
    kubeconfig = tmp_path / "kcp-plugin.kubeconfig"
    shutil.copyfile(stack.kubeconfig_path, kubeconfig)
    return Kcp(kubectl, kubeconfig)


def schema(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apis.kcp.io/v1alpha1",
        "kind": "APIResourceSchema",
        "metadata": {"name": f"v1.cowboys.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "cowboys", "singular": "cowboy", "kind": "Cowboy", "listKind": "CowboyList"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "type": "object",
                        "properties": {"spec": {"type": "object", "properties": {"intent": {"type": "string"}}}},
                    },
                }
            ],
        },
    }


def export(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIExport",
        "metadata": {"name": group},
        "spec": {
            "resources": [{"group": group, "name": "cowboys", "schema": f"v1.cowboys.{group}", "storage": {"crd": {}}}],
            "permissionClaims": [{"group": "", "resource": "configmaps", "verbs": ["get", "list"]}],
        },
    }


def test_bind_apiexport_with_claims_use_and_forbidden(kcp: Kcp, tmp_path: Path) -> None:
    prov, cons = uniq("kcp-prov"), uniq("kcp-cons")
    group = uniq("wildwest") + ".example.com"
    kcp.ok("create-workspace", prov)
    kcp.ok("create-workspace", cons)

    kcp.enter(f"root:{prov}")
    kcp.create(schema(group), export(group))
    wait_for(lambda: kcp.json("get", "apiexport", group).get("status", {}).get("identityHash"), 30,
             "the APIExport got no identityHash")

    kcp.enter(f"root:{cons}")
    bound = kcp.ok("kcp", "bind", "apiexport", f"root:{prov}:{group}", "--accept-permission-claim", "configmaps")
    assert bound.stdout == f"apibinding {group} created. Waiting to successfully bind ...\n{group} created and bound.\n"
    assert bound.stderr == ""  # the only claim is answered: nothing to warn about

    binding = kcp.json("get", "apibinding", group)
    assert binding["status"]["phase"] == "Bound"
    assert binding["spec"]["reference"] == {"export": {"path": f"root:{prov}", "name": group}}
    assert binding["spec"]["permissionClaims"] == [
        {"group": "", "resource": "configmaps", "verbs": ["get", "list"], "selector": {"matchAll": True},
         "state": "Accepted"}
    ]
    applied = wait_for(lambda: kcp.json("get", "apibinding", group)["status"].get("appliedPermissionClaims"), 30,
                       "the accepted claim was not applied")
    assert [(c["resource"], c["verbs"]) for c in applied] == [("configmaps", ["get", "list"])]

    # The bound API is served in the consumer.
    wait_for(lambda: kcp.run("get", f"cowboys.{group}", "-n", "default").returncode == 0, 30,
             "the bound API is not served in the consumer")
    kcp.create({"apiVersion": f"{group}/v1alpha1", "kind": "Cowboy",
                "metadata": {"name": "lucky", "namespace": "default"}, "spec": {"intent": "ride"}})
    assert kcp.ok("get", f"cowboys.{group}", "-n", "default", "-o", "name").stdout == f"cowboy.{group}/lucky\n"

    # claims get / reject / accept
    table = kcp.ok("kcp", "claims", "get", "apibinding").stdout.splitlines()
    assert table[0].split() == ["APIBINDING", "RESOURCE", "STATE", "VERBS"]
    assert table[1].split() == [group, "configmaps", "Accepted", "get,list"]
    rejected = kcp.ok("kcp", "claims", "reject", group, "--resource=configmaps")
    assert rejected.stdout == f"apibinding {group}: permission claim configmaps rejected.\n"
    assert kcp.json("get", "apibinding", group)["spec"]["permissionClaims"][0]["state"] == "Rejected"
    wait_for(lambda: not kcp.json("get", "apibinding", group)["status"].get("appliedPermissionClaims"), 30,
             "the rejected claim is still applied")
    kcp.ok("kcp", "claims", "accept", group, "--resource", "configmaps")
    assert kcp.ok("kcp", "claims", "get", "apibinding", group).stdout.splitlines()[1].split()[2] == "Accepted"

    # A user allowed everything in the consumer but without `bind` on the export is refused.
    kcp.ok("create", "serviceaccount", "robot", "-n", "default")
    kcp.ok("create", "clusterrolebinding", "robot-admin", "--clusterrole=cluster-admin",
           "--serviceaccount=default:robot")
    token = kcp.ok("create", "token", "robot", "-n", "default").stdout.strip()
    robot = kcp.with_token(token, tmp_path / "robot.kubeconfig")
    robot.ok("get", "configmaps", "-n", "default")  # it really is allowed in the consumer
    refused = robot.run("kcp", "bind", "apiexport", f"root:{prov}:{group}", "--name", "robots")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout == ""
    assert refused.stderr.startswith("Error: ") and "no permission to bind" in refused.stderr, refused.stderr
    assert f"root:{prov}:{group}" in refused.stderr
    assert kcp.run("get", "apibinding", "robots").returncode != 0  # nothing was created


def test_bind_errors_and_ws_delegation(kcp: Kcp) -> None:
    assert kcp.ok("kcp", "ws", "current").stdout == "Current workspace is 'root'.\n"
    assert kcp.ok("kcp", "workspace", ".").stdout == "Current workspace is 'root'.\n"
    unqualified = kcp.run("kcp", "bind", "apiexport", "just-an-export")
    assert unqualified.returncode == 1 and "fully qualified reference" in unqualified.stderr
    ws = uniq("kcp-missing")
    kcp.ok("create-workspace", ws)
    kcp.enter(f"root:{ws}")
    missing = kcp.run("kcp", "bind", "apiexport", "root:nowhere:nothing", "--timeout", "2s")
    assert missing.returncode == 1
    assert "could not bind" in missing.stderr and "not found" in missing.stderr, missing.stderr
