"""`kubectl kcp shard cordon|uncordon` run by the REAL kubectl against the live stack: the shard
acknowledges the cordon (Schedulable=False, reason Cordoned, shown by `kubectl get shards`), a
new workspace waits Unschedulable, and uncordoning schedules it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kcpsite.launcher import Stack
from tests.e2e.conftest import Runner
from tests.e2e.test_exports_plugin import Kcp, uniq, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def kcp(kubectl: Runner, stack: Stack, tmp_path: Path) -> Kcp:
    kubeconfig = tmp_path / "kcp-shard.kubeconfig"
    shutil.copyfile(stack.kubeconfig_path, kubeconfig)
    return Kcp(kubectl, kubeconfig)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_), {})


def test_cordon_waits_a_new_workspace_and_uncordon_schedules_it(kcp: Kcp) -> None:
    kcp.enter("root")
    table = kcp.ok("get", "shards").stdout.splitlines()
    assert table[0].split() == ["NAME", "REGION", "URL", "READY", "SCHEDULABLE", "WORKSPACES", "AGE"]
    row = table[1].split()
    assert row[0] == "root" and row[1].startswith("https://") and row[2:4] == ["True", "True"], table
    name = uniq("waiting")
    try:
        assert kcp.ok("kcp", "shard", "cordon", "root").stdout == "shard/root cordoned\n"
        assert kcp.ok("kcp", "shard", "cordon", "root").stdout == "shard/root already cordoned\n"
        wait_for(
            lambda: condition(kcp.json("get", "shard", "root"), "Schedulable").get("reason") == "Cordoned",
            30,
            "the shard did not acknowledge the cordon",
        )
        assert "False" in kcp.ok("get", "shard", "root").stdout.splitlines()[1].split()
        kcp.ok(
            "create",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "tenancy.kcp.io/v1alpha1",
                    "kind": "Workspace",
                    "metadata": {"name": name},
                }
            ),
        )
        waiting = wait_for(
            lambda: (
                condition(kcp.json("get", "workspace", name), "WorkspaceScheduled").get("reason") == "Unschedulable"
            ),
            30,
            "the workspace did not become Unschedulable",
        )
        assert waiting
        assert kcp.json("get", "workspace", name)["status"]["phase"] == "Scheduling"
    finally:
        result = kcp.run("kcp", "shard", "uncordon", "root")
    assert result.returncode == 0 and result.stdout == "shard/root uncordoned\n", result.stdout + result.stderr
    wait_for(
        lambda: kcp.json("get", "workspace", name).get("status", {}).get("phase") == "Ready",
        30,
        "uncordoning did not schedule the waiting workspace",
    )
    assert condition(kcp.json("get", "shard", "root"), "Schedulable")["status"] == "True"
