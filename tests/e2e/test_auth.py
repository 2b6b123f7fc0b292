"""Tokens and RBAC with the real kubectl: `kubectl create token`, `auth can-i` (protobuf access
reviews), `auth whoami`, grants taking effect at once, and tokens that stay in their workspace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_core import K, cm, uniq
from tests.e2e.test_workspaces import W, workspace

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def w(stack: Any) -> W:
    return W(stack)


def as_token(k: K, token: str) -> K:
    """The same kubeconfig with a bearer token instead of the admin's."""
    import yaml

    cfg = yaml.safe_load(open(k.kubeconfig).read())
    for u in cfg["users"]:
        u["user"] = {"token": token}
    out = k.kubeconfig + f".{uniq('tok')}.yaml"
    with open(out, "w") as f:
        f.write(yaml.safe_dump(cfg))
    t = K.__new__(K)
    t.kubectl_bin, t.helm_bin, t.home, t.kubeconfig = k.kubectl_bin, k.helm_bin, k.home, out
    return t


def sa_token(k: K) -> str:
    k.run("create", "serviceaccount", "robot", "-n", "default")
    token = k.run("create", "token", "robot", "-n", "default").stdout.strip()
    assert token.count(".") == 2
    return token


def test_service_account_rbac_can_i_and_whoami(w: W) -> None:
    name = uniq("rbac")
    workspace(w, name)
    ws = w.at(f"root:{name}")
    robot = as_token(ws, sa_token(ws))
    r = robot.run("get", "cm", "-n", "default", ok=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr
    assert robot.run("auth", "can-i", "list", "configmaps", "-n", "default", ok=False).stdout.strip() == "no"
    ws.run("create", "role", "cm-reader", "--verb=get,list,watch", "--resource=configmaps", "-n", "default")
    ws.run("create", "rolebinding", "cm-reader", "--role=cm-reader", "--serviceaccount=default:robot", "-n", "default")
    robot.run("get", "cm", "-n", "default")
    assert robot.run("auth", "can-i", "list", "configmaps", "-n", "default").stdout.strip() == "yes"
    r = robot.create(cm("nope", "default"), ok=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr
    who = robot.json("auth", "whoami")
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
    rules = robot.run("auth", "can-i", "--list", "-n", "default").stdout
    assert "configmaps" in rules


def test_token_stays_in_its_workspace(w: W) -> None:
    a, b = uniq("ta"), uniq("tb")
    workspace(w, a)
    workspace(w, b)
    in_a = w.at(f"root:{a}")
    token = sa_token(in_a)
    in_a.run(
        "create", "clusterrolebinding", "robot-admin", "--clusterrole=cluster-admin", "--serviceaccount=default:robot"
    )
    as_token(in_a, token).run("get", "cm", "-n", "default")
    w.at(f"root:{b}").create(cm("secret-of-b", "default"))
    r = as_token(w.at(f"root:{b}"), token).run("get", "cm", "-n", "default", ok=False)
    assert r.returncode != 0 and "secret-of-b" not in r.stdout + r.stderr
    r = as_token(w.at("*"), token).run("get", "--raw", "/api/v1/configmaps", ok=False)
    assert r.returncode != 0
    r = as_token(w, "not-a-token").run("get", "ns", ok=False)
    assert r.returncode != 0 and ("Unauthorized" in r.stderr or "logged in" in r.stderr)
