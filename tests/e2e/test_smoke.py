"""Smoke test of the live stack with the real clients: the launcher's contract as a user sees it."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

from kcpsite.launcher import Stack

from .conftest import Runner

pytestmark = pytest.mark.e2e


def test_kubectl_version_reports_client_and_server(kubectl: Runner) -> None:
    result = kubectl("version", "-o", "json", check=True)
    info = json.loads(result.stdout)
    assert info["clientVersion"]["major"] == "1"
    assert info["serverVersion"]["major"] == "1"


def test_readyz_answers_ok_through_kubectl(kubectl: Runner) -> None:
    assert kubectl("get", "--raw", "/readyz", check=True).stdout.strip() == "ok"


def test_root_has_the_default_namespace(kubectl: Runner) -> None:
    names = kubectl("get", "namespaces", "-o", "name", check=True).stdout.split()
    assert "namespace/default" in names


def test_kubeconfig_verifies_the_server_with_the_generated_ca(stack: Stack) -> None:
    doc = yaml.safe_load(stack.kubeconfig_path.read_text())
    (cluster,) = doc["clusters"]
    assert cluster["cluster"]["server"] == f"{stack.base_url}/clusters/root"
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == stack.ca_path.read_bytes()
    assert doc["users"][0]["user"]["token"] == stack.admin_token


def test_python_client_lists_namespaces(pyclient) -> None:  # type: ignore[no-untyped-def]
    code = (
        "from kubernetes import client, config\n"
        "config.load_kube_config()\n"
        "print(' '.join(ns.metadata.name for ns in client.CoreV1Api().list_namespace().items))\n"
    )
    result = pyclient(code, check=True)
    assert "default" in result.stdout.split()
