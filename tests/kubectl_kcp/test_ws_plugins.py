"""The kubectl plugins (`kubectl ws`, `kubectl create-workspace`) against a tiny in-process fake
of the few kcp endpoints they call (http.server on 127.0.0.1, plain HTTP or TLS): path resolution,
kubeconfig editing, messages. This tests the plugin, not the server (tests/e2e/test_plugins.py
drives the real kubectl and plugins against the real server)."""

from __future__ import annotations

import base64
import copy
import importlib
import io
import json
import re
import ssl
import stat
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcpsite.launcher import generate_ca, generate_server_cert
from kubectl_kcp import create_workspace as cw
from kubectl_kcp import ws
from kubectl_kcp.kubeconfig import (
    CURRENT,
    PREVIOUS,
    Kubeconfig,
    PluginError,
    Session,
    parse_cluster_url,
    swap_to_previous,
    switch_to,
)

Obj = dict[str, Any]
PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-token"
CA_DATA = base64.b64encode(b"not a real CA: never read for http:// servers").decode()


# --------------------------------------------------------------------------------------------
# A fake kcp: Workspaces per parent path, a LogicalCluster `cluster` per reachable path
# --------------------------------------------------------------------------------------------


def _status(code: int, reason: str, message: str) -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}


class FakeKcp:
    """The endpoints the plugins use. Workspaces created by POST are Scheduling until `ready_after`
    further GETs of them, then Ready (with spec.URL, and reachable)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.base = ""  # set once listening
        self.children: dict[str, dict[str, Obj]] = {"root": {}}
        self.reachable: set[str] = {"root"}
        self.ready_after = 0
        self.pending: dict[str, int] = {}
        self.requests: list[tuple[str, str, Obj | None, str]] = []  # method, path, body, Authorization
        self.lock = threading.Lock()

    def add(self, path: str, *, type_name: str = "universal", reachable: bool = True, phase: str = "Ready",
            url: bool = True, **extra: Any) -> Obj:
        parent, _, name = path.rpartition(":")
        obj: Obj = {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace",
                    "metadata": {"name": name, **extra.pop("metadata", {})},
                    "spec": {"type": {"name": type_name, "path": "root"}, **extra.pop("spec", {})},
                    "status": {"phase": phase}}
        if url:
            obj["spec"]["URL"] = f"{self.base}/clusters/{path}"
        self.children.setdefault(parent, {})[name] = obj
        self.children.setdefault(path, {})
        if reachable:
            self.reachable.add(path)
        return obj

    def answer(self, method: str, path: str, body: Obj | None) -> tuple[int, Obj]:
        if not path.startswith(self.prefix + "/clusters/"):
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        cluster, _, rest = path[len(self.prefix + "/clusters/"):].partition("/")
        rest = "/" + rest
        with self.lock:
            if rest == ws.LOGICAL_CLUSTER and method == "GET":
                if cluster in self.reachable:
                    return 200, {"kind": "LogicalCluster", "metadata": {"name": "cluster",
                                 "annotations": {"kcp.io/path": cluster}}, "status": {"phase": "Ready"}}
                return 403, _status(403, "Forbidden", f"access to {cluster} is forbidden")
            if cluster not in self.children:
                return 404, _status(404, "NotFound", "the server could not find the requested resource")
            items = self.children[cluster]
            collection = ws.TENANCY + "/workspaces"
            if rest == collection and method == "GET":
                return 200, {"kind": "WorkspaceList", "items": [items[k] for k in sorted(items)]}
            if rest == collection and method == "POST":
                assert body is not None
                name = body["metadata"]["name"]
                if name in items:
                    return 409, _status(409, "AlreadyExists", f'workspaces.tenancy.kcp.io "{name}" already exists')
                obj = self._create(cluster, body)
                return 201, obj
            if rest.startswith(collection + "/") and method == "GET":
                name = rest[len(collection) + 1:]
                if name not in items:
                    return 404, _status(404, "NotFound", f'workspaces.tenancy.kcp.io "{name}" not found')
                self._progress(cluster, name)
                return 200, items[name]
        return 405, _status(405, "MethodNotAllowed", "not here")

    def _create(self, parent: str, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        type_ref = dict((body.get("spec") or {}).get("type") or {"name": "universal"})
        type_ref.setdefault("path", "root")
        obj = {**body, "spec": {"type": type_ref}, "status": {"phase": "Scheduling"}}
        self.children[parent][name] = obj
        self.children[f"{parent}:{name}"] = {}
        self.pending[f"{parent}:{name}"] = self.ready_after
        self._progress(parent, name, count=False)
        return copy.deepcopy(obj)

    def _progress(self, parent: str, name: str, count: bool = True) -> None:
        path = f"{parent}:{name}"
        if path not in self.pending:
            return
        if count:
            self.pending[path] -= 1
        if self.pending[path] <= 0:
            del self.pending[path]
            obj = self.children[parent][name]
            obj["spec"]["URL"] = f"{self.base}/clusters/{path}"
            obj["status"]["phase"] = "Ready"
            self.reachable.add(path)

    def calls(self, method: str | None = None) -> list[str]:
        return [f"{m} {p}" for m, p, _, _ in self.requests if method in (None, m)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        fake = self.server.fake
        fake.requests.append((self.command, self.path, body, self.headers.get("Authorization") or ""))
        code, answer = fake.answer(self.command, self.path, body)
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeKcp) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(fake, tls=None)` starts `fake` on 127.0.0.1 (TLS with `(cert_file, key_file)`); stopped after."""
    servers: list[_Server] = []

    def start(fake: FakeKcp, tls: tuple[Path, Path] | None = None) -> FakeKcp:
        server = _Server(fake)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        fake.base = f"{scheme}://127.0.0.1:{server.server_address[1]}{fake.prefix}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake(serve: Any) -> FakeKcp:
    """root with root:a (type universal) and root:a:b; root:secret exists but is not reachable."""
    f: FakeKcp = serve(FakeKcp())
    f.add("root:a")
    f.add("root:a:b")
    f.add("root:secret", reachable=False)
    return f


def kubeconfig_doc(server: str, *, ca: str = CA_DATA, extra_cluster: Obj | None = None) -> Obj:
    """kcp's admin kubeconfig shape (kcpsite.launcher.kubeconfig_document) plus a namespace."""
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "root", "cluster": {"server": server, "certificate-authority-data": ca,
                                                  **(extra_cluster or {})}}],
        "users": [{"name": "kcp-admin", "user": {"token": TOKEN}}],
        "contexts": [{"name": "root", "context": {"cluster": "root", "user": "kcp-admin", "namespace": "team"}}],
        "current-context": "root",
        "preferences": {},
    }


def write(path: Path, doc: Obj) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load(path: Path) -> Obj:
    doc: Obj = yaml.safe_load(path.read_text())
    return doc


def named(doc: Obj, kind: str, name: str) -> Obj | None:
    key = {"clusters": "cluster", "contexts": "context", "users": "user"}[kind]
    return next((e[key] for e in doc.get(kind) or [] if e["name"] == name), None)


class Cli:
    """Runs `kubectl ws ...` / `kubectl create-workspace ...` in-process with KUBECONFIG=`path`."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.environ = {"KUBECONFIG": str(path), "HOME": str(home)}
        self.out = io.StringIO()
        self.err = io.StringIO()

    def ws(self, *args: str) -> str:
        self.out, self.err = io.StringIO(), io.StringIO()
        assert ws.run(list(args), self.out, self.err, self.environ) == 0
        return self.out.getvalue()

    def fails(self, *args: str) -> str:
        self.out, self.err = io.StringIO(), io.StringIO()
        with pytest.raises(PluginError) as info:
            ws.run(list(args), self.out, self.err, self.environ)
        return str(info.value)

    def session(self) -> Session:
        self.out, self.err = io.StringIO(), io.StringIO()
        return Session.open(None, None, self.out, self.err, self.environ)

    def server(self) -> str:
        doc = load(self.path)
        ctx = named(doc, "contexts", doc["current-context"])
        assert ctx is not None
        cluster = named(doc, "clusters", ctx["cluster"])
        assert cluster is not None
        return str(cluster["server"])


@pytest.fixture
def cli(fake: FakeKcp, tmp_path: Path) -> Cli:
    return Cli(write(tmp_path / "config", kubeconfig_doc(f"{fake.base}/clusters/root")), tmp_path)


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "current", "expected"), [
    (".", "root:a", "root:a"),
    ("..", "root:a", "root"),
    ("..:..", "root:a:b", "root"),
    ("..:c", "root:a:b", "root:a:c"),
    (":root:x", "root:a:b", "root:x"),
    (":root:x:.:y", "root", "root:x:y"),
    ("b", "root:a", "root:a:b"),
    ("b:c", "root:a", "root:a:b:c"),
    ("b:..:c", "root:a", "root:a:c"),
    ("x9-y", "root", "root:x9-y"),
    (":" + "a" * 63, "root", "a" * 63),
])
def test_resolve_path(name: str, current: str, expected: str) -> None:
    assert ws.resolve_path(name, current) == expected


@pytest.mark.parametrize(("name", "current", "message"), [
    ("..", "root", "cannot go up from root"),
    ("..:..:..", "root:a", "cannot go up from root"),
    (":..", "root:a", "cannot go up from root"),
    ("Upper", "root", "invalid workspace path: Upper"),
    ("a_b", "root", "invalid workspace path: a_b"),
    ("a::b", "root", "invalid workspace path: a::b"),
    ("-a", "root", "invalid workspace path: -a"),
    ("a-", "root", "invalid workspace path: a-"),
    ("*", "root", "invalid workspace path: *"),
    (":", "root", "invalid workspace path: :"),
    ("a" * 64, "root", "invalid workspace path: " + "a" * 64),
])
def test_resolve_path_errors(name: str, current: str, message: str) -> None:
    with pytest.raises(PluginError) as info:
        ws.resolve_path(name, current)
    assert str(info.value) == message


def test_invalid_path_names_the_argument_as_typed() -> None:
    with pytest.raises(PluginError, match=r"^invalid workspace path: a/B$"):
        ws.resolve_path("a:B", "root", "a/B")


@pytest.mark.parametrize(("arg", "home", "expected"), [
    ("a:b", "/home/me", ("a:b", False)),
    ("a/b", "/home/me", ("a:b", False)),
    ("/home/me", "/home/me", ("~", False)),  # the shell expanded `~`
    ("/home/me/x", "/home/me/", ("~:x", False)),
    ("/home/meet", "/home/me", (":home:meet", False)),
    ("root", None, (":root", True)),
    ("root:a", None, (":root:a", True)),
    ("rooted", None, ("rooted", False)),
    (":root:a", None, (":root:a", False)),
    ("-", "/", ("-", False)),
])
def test_normalize_argument(arg: str, home: str | None, expected: tuple[str, bool]) -> None:
    assert ws.normalize_argument(arg, home) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://h:6443/clusters/root", ("https://h:6443", "root")),
    ("https://h:6443/clusters/root:a:b/", ("https://h:6443", "root:a:b")),
    ("https://h/proxy/clusters/root:a/api/v1", ("https://h/proxy", "root:a")),
    ("https://h:6443", None),
    ("https://h:6443/clusters/", None),
    ("https://h:6443/services/apiexport/root/x", None),
])
def test_parse_cluster_url(url: str, expected: tuple[str, str] | None) -> None:
    assert parse_cluster_url(url) == expected


def test_format_type() -> None:
    assert ws.format_type({"name": "universal", "path": "root"}) == "root:universal"
    assert ws.format_type({"name": "root"}) == "root"
    assert ws.format_type(None) is None
    assert cw.parse_type("root:Organization") == {"name": "organization", "path": "root"}
    assert cw.parse_type("team") == {"name": "team"}


# --------------------------------------------------------------------------------------------
# Kubeconfig editing (no server)
# --------------------------------------------------------------------------------------------


def test_switch_copies_cluster_settings_and_context_and_keeps_previous(tmp_path: Path) -> None:
    path = write(tmp_path / "config", kubeconfig_doc("https://kcp:6443/clusters/root",
                                                     extra_cluster={"tls-server-name": "kcp.local"}))
    cfg = Kubeconfig.load(str(path))
    switch_to(cfg, "root", "https://kcp:6443/clusters/root:a")
    cfg.save()
    doc = load(path)
    assert doc["current-context"] == CURRENT
    assert named(doc, "clusters", CURRENT) == {"server": "https://kcp:6443/clusters/root:a",
                                               "certificate-authority-data": CA_DATA,
                                               "tls-server-name": "kcp.local"}
    assert named(doc, "contexts", CURRENT) == {"cluster": CURRENT, "user": "kcp-admin", "namespace": "team"}
    assert named(doc, "contexts", PREVIOUS) == {"cluster": "root", "user": "kcp-admin", "namespace": "team"}
    assert named(doc, "clusters", PREVIOUS) is None  # the previous context still names "root"
    # the user's own entries are untouched
    assert named(doc, "clusters", "root") == {"server": "https://kcp:6443/clusters/root",
                                              "certificate-authority-data": CA_DATA, "tls-server-name": "kcp.local"}
    assert named(doc, "contexts", "root") == {"cluster": "root", "user": "kcp-admin", "namespace": "team"}
    assert doc["users"] == [{"name": "kcp-admin", "user": {"token": TOKEN}}]

    # a second switch moves the current cluster to "previous"
    cfg = Kubeconfig.load(str(path))
    switch_to(cfg, CURRENT, "https://kcp:6443/clusters/root:a:b")
    cfg.save()
    doc = load(path)
    assert named(doc, "clusters", CURRENT)["server"] == "https://kcp:6443/clusters/root:a:b"  # type: ignore[index]
    assert named(doc, "clusters", PREVIOUS)["server"] == "https://kcp:6443/clusters/root:a"  # type: ignore[index]
    assert named(doc, "contexts", PREVIOUS) == {"cluster": PREVIOUS, "user": "kcp-admin", "namespace": "team"}
    assert [e["name"] for e in doc["contexts"]] == ["root", CURRENT, PREVIOUS]


def test_swap_to_previous_exchanges_contexts_and_clusters(tmp_path: Path) -> None:
    path = write(tmp_path / "config", kubeconfig_doc("https://kcp:6443/clusters/root"))
    cfg = Kubeconfig.load(str(path))
    switch_to(cfg, "root", "https://kcp:6443/clusters/root:a")
    switch_to(cfg, CURRENT, "https://kcp:6443/clusters/root:a:b")
    assert swap_to_previous(cfg, CURRENT) == "https://kcp:6443/clusters/root:a"
    assert swap_to_previous(cfg, CURRENT) == "https://kcp:6443/clusters/root:a:b"
    # from the plain "root" context back to the previous one
    cfg2 = Kubeconfig.load(str(write(tmp_path / "c2", kubeconfig_doc("https://kcp:6443/clusters/root"))))
    switch_to(cfg2, "root", "https://kcp:6443/clusters/root:a")
    assert swap_to_previous(cfg2, CURRENT) == "https://kcp:6443/clusters/root"
    assert cfg2.get("contexts", CURRENT) == {"cluster": "root", "user": "kcp-admin", "namespace": "team"}
    assert swap_to_previous(cfg2, CURRENT) == "https://kcp:6443/clusters/root:a"


def test_kubeconfig_without_plugin_contexts_has_no_previous(tmp_path: Path) -> None:
    path = write(tmp_path / "config", kubeconfig_doc("https://kcp:6443/clusters/root"))
    cfg = Kubeconfig.load(str(path))
    with pytest.raises(PluginError, match="^no previous workspace found in kubeconfig$"):
        swap_to_previous(cfg, "root")
    with pytest.raises(PluginError, match='^current "nope" context not found$'):
        switch_to(cfg, "nope", "https://x/clusters/root")
    doc = kubeconfig_doc("https://kcp:6443/clusters/root")
    doc["contexts"][0]["context"]["cluster"] = "gone"
    cfg = Kubeconfig.load(str(write(tmp_path / "broken", doc)))
    with pytest.raises(PluginError, match='^cluster "gone" not found in kubeconfig$'):
        switch_to(cfg, "root", "https://x/clusters/root")


def test_file_mode_json_and_new_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(kubeconfig_doc("https://kcp:6443/clusters/root")))
    path.chmod(0o640)
    cfg = Kubeconfig.load(str(path))
    switch_to(cfg, "root", "https://kcp:6443/clusters/root:a")
    cfg.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert json.loads(path.read_text())["current-context"] == CURRENT  # still JSON
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_kubeconfig_list_merges_first_wins_and_writes_back_where_entries_live(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    first = tmp_path / "first"
    second = tmp_path / "second"
    doc = kubeconfig_doc("https://kcp:6443/clusters/root")
    write(first, {"apiVersion": "v1", "kind": "Config", "clusters": doc["clusters"],
                  "contexts": [{"name": "root", "context": {"cluster": "root", "user": "kcp-admin"}}]})
    write(second, {"apiVersion": "v1", "kind": "Config", "users": doc["users"], "current-context": "root",
                   "clusters": [{"name": "root", "cluster": {"server": "https://shadowed"}}]})
    environ = {"KUBECONFIG": f"{missing}:{first}:{second}:{first}", "HOME": str(tmp_path)}
    cfg = Kubeconfig.load(None, environ)
    assert cfg.paths == [missing, first, second]
    assert cfg.current_context == "root"
    assert cfg.get("clusters", "root") == doc["clusters"][0]["cluster"]  # first file wins
    switch_to(cfg, "root", "https://kcp:6443/clusters/root:a")
    cfg.save()
    assert not missing.exists()
    one, two = load(first), load(second)
    assert named(one, "clusters", CURRENT)["server"] == "https://kcp:6443/clusters/root:a"  # type: ignore[index]
    assert named(one, "contexts", CURRENT) == {"cluster": CURRENT, "user": "kcp-admin"}
    assert "current-context" not in one and two["current-context"] == CURRENT
    assert named(two, "contexts", CURRENT) is None


def test_no_kubeconfig_at_all(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="no configuration has been provided"):
        Kubeconfig.load(None, {"HOME": str(tmp_path)})
    with pytest.raises(PluginError, match="no such file"):
        Kubeconfig.load(str(tmp_path / "nope"), {})
    (tmp_path / "list").write_text("- 1\n")
    with pytest.raises(PluginError, match="not a kubeconfig"):
        Kubeconfig.load(str(tmp_path / "list"), {})


def test_default_kubeconfig_is_home_kube_config(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    write(tmp_path / ".kube" / "config", kubeconfig_doc("https://kcp:6443/clusters/root:z"))
    out = io.StringIO()
    assert ws.run(["current"], out, io.StringIO(), {"HOME": str(tmp_path)}) == 0
    assert out.getvalue() == "Current workspace is 'root:z'.\n"


# --------------------------------------------------------------------------------------------
# kubectl ws against the fake
# --------------------------------------------------------------------------------------------


def test_current(cli: Cli) -> None:
    assert cli.ws("current") == "Current workspace is 'root'.\n"
    assert cli.ws() == "Current workspace is 'root'.\n"
    assert cli.ws(".") == "Current workspace is 'root'.\n"
    assert cli.ws("current", "--short") == "root\n"


def test_use_absolute_relative_parent_previous(cli: Cli, fake: FakeKcp) -> None:
    before = len(fake.requests)
    assert cli.ws(":root:a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert fake.calls()[before:] == [
        "GET /clusters/root:a/apis/core.kcp.io/v1alpha1/logicalclusters/cluster",
        "GET /clusters/root/apis/tenancy.kcp.io/v1alpha1/workspaces/a",
    ]
    assert {auth for _, _, _, auth in fake.requests} == {f"Bearer {TOKEN}"}
    assert cli.server() == f"{fake.base}/clusters/root:a"
    doc = load(cli.path)
    assert named(doc, "clusters", CURRENT)["certificate-authority-data"] == CA_DATA  # type: ignore[index]
    assert named(doc, "contexts", CURRENT) == {"cluster": CURRENT, "user": "kcp-admin", "namespace": "team"}

    assert cli.ws("use", "b") == "Current workspace is 'root:a:b' (type root:universal).\n"
    assert cli.ws("cd", "..:..") == "Current workspace is 'root' (type root).\n"
    assert cli.ws("-") == "Current workspace is 'root:a:b'.\n"
    assert cli.ws("-") == "Current workspace is 'root'.\n"
    assert cli.ws("a/b") == "Current workspace is 'root:a:b' (type root:universal).\n"
    assert cli.ws("..") == "Current workspace is 'root:a' (type root:universal).\n"
    assert cli.ws(":") == "Current workspace is 'root'.\n"
    assert cli.ws("-", "--short") == "root:a\n"
    assert cli.ws("current") == "Current workspace is 'root:a'.\n"


def test_use_legacy_root_prefix_prints_note(cli: Cli) -> None:
    assert cli.ws("root:a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert cli.err.getvalue() == ws.ROOT_NOTE


def test_use_not_found_and_denied_leave_kubeconfig_alone(cli: Cli) -> None:
    before = cli.path.read_bytes()
    assert cli.fails("missing") == 'workspace "root:missing" not found'
    assert cli.fails(":root:nope:deeper") == 'workspace "root:nope:deeper" not found'
    assert cli.fails("secret") == 'access to workspace "root:secret" denied'
    assert cli.fails("..") == "cannot go up from root"
    assert cli.fails("Bad_Name") == "invalid workspace path: Bad_Name"
    assert cli.fails("-") == "no previous workspace found in kubeconfig"
    assert cli.path.read_bytes() == before


def test_home_workspace_is_not_implemented(cli: Cli, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.fails("~") == ws.HOME_UNSUPPORTED
    assert cli.fails("~:child") == ws.HOME_UNSUPPORTED
    assert cli.fails(cli.environ["HOME"]) == ws.HOME_UNSUPPORTED  # `kubectl ws ~` after shell expansion
    monkeypatch.setenv("KUBECONFIG", str(cli.path))
    assert ws.main(["~"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"Error: {ws.HOME_UNSUPPORTED}\n"
    assert "not implemented" in ws.HOME_UNSUPPORTED


def test_server_url_without_clusters(tmp_path: Path, fake: FakeKcp) -> None:
    cli = Cli(write(tmp_path / "config", kubeconfig_doc(fake.base)), tmp_path)
    assert cli.ws("current") == f'Current workspace is the URL "{fake.base}".\n'
    assert cli.ws("current", "--short") == ""
    assert cli.fails("a") == f'current URL "{fake.base}" does not point to a workspace'
    assert cli.ws("tree") == f'current context URL "{fake.base}" does not point directly to a kcp workspace\n'
    with pytest.raises(PluginError, match="does not point to a workspace"):
        cw.create_workspace(cli.session(), "x")


def test_context_flag_selects_the_context_to_work_on(tmp_path: Path, fake: FakeKcp) -> None:
    doc = kubeconfig_doc(f"{fake.base}/clusters/root:a")
    doc["clusters"].append({"name": "other", "cluster": {"server": "https://elsewhere:1"}})
    doc["contexts"].append({"name": "other", "context": {"cluster": "other", "user": "kcp-admin"}})
    doc["current-context"] = "other"
    cli = Cli(write(tmp_path / "config", doc), tmp_path)
    assert cli.ws("current") == 'Current workspace is the URL "https://elsewhere:1".\n'
    assert cli.ws("current", "--context", "root") == "Current workspace is 'root:a'.\n"
    assert cli.ws("--context", "root", "b") == "Current workspace is 'root:a:b' (type root:universal).\n"
    out = load(cli.path)
    assert out["current-context"] == CURRENT
    assert named(out, "contexts", PREVIOUS) == {"cluster": "root", "user": "kcp-admin", "namespace": "team"}
    assert cli.fails("--context", "nope", "b") == 'current "nope" context not found'


def test_base_url_prefix_is_kept(serve: Any, tmp_path: Path) -> None:
    fake: FakeKcp = serve(FakeKcp(prefix="/kcp"))
    fake.add("root:a")
    cli = Cli(write(tmp_path / "config", kubeconfig_doc(f"{fake.base}/clusters/root")), tmp_path)
    assert cli.ws("a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert cli.server() == f"{fake.base}/clusters/root:a"
    assert fake.calls()[0] == "GET /kcp/clusters/root:a/apis/core.kcp.io/v1alpha1/logicalclusters/cluster"


def test_tree(cli: Cli, fake: FakeKcp) -> None:
    fake.add("root:a:c")
    fake.add("root:z", type_name="team")
    fake.add("root:gone", metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"})
    fake.add("root:m", spec={"mount": {"ref": {"kind": "Thing", "name": "m"}}})
    fake.add("root:new", phase="Scheduling", url=False, reachable=False)
    assert cli.ws("tree") == (
        ".\n"
        "└── root\n"
        "    ├── a\n"
        "    │   ├── b\n"
        "    │   └── c\n"
        "    ├── m [m]\n"
        "    ├── new\n"
        "    ├── secret\n"
        "    └── z\n"
        "\n"
    )
    cli.ws(":root:a")
    assert cli.ws("tree", "--full") == ".\n└── root:a\n    ├── root:a:b\n    └── root:a:c\n\n"
    assert cli.ws("tree", "--wide") == (
        ".\n"
        "└── a      ws=-      lc=Ready\n"
        "    ├── b  ws=Ready  lc=Ready\n"
        "    └── c  ws=Ready  lc=Ready\n"
    )


def test_unsupported_subcommands_say_so(cli: Cli) -> None:
    assert "not implemented" in cli.fails("create-context")
    assert "not implemented" in cli.fails("-i")
    assert "not implemented" in cli.fails("tree", "-i")


# --------------------------------------------------------------------------------------------
# Creating workspaces
# --------------------------------------------------------------------------------------------


def test_ws_create_waits_and_enters(cli: Cli, fake: FakeKcp) -> None:
    fake.ready_after = 1
    assert cli.ws("create", "new", "--enter") == (
        'Workspace "new" (type root:universal) created. Waiting for it to be ready...\n'
        'Workspace "new" (type root:universal) is ready to use.\n'
        "Current workspace is 'root:new' (type root:universal).\n"
    )
    assert "deprecated" in cli.err.getvalue()
    posts = [(p, b) for m, p, b, _ in fake.requests if m == "POST"]
    assert posts == [("/clusters/root/apis/tenancy.kcp.io/v1alpha1/workspaces",
                      {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace", "metadata": {"name": "new"},
                       "spec": {}})]
    assert cli.server() == f"{fake.base}/clusters/root:new"


def test_create_workspace_script_with_type_and_without_enter(cli: Cli, fake: FakeKcp,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cli.path))
    assert cw.main(["org", "--type", "root:Organization"]) == 0
    assert capsys.readouterr().out == 'Workspace "org" (type root:organization) is ready to use.\n'
    assert fake.requests[0][2]["spec"] == {"type": {"name": "organization", "path": "root"}}  # type: ignore[index]
    assert cli.server() == f"{fake.base}/clusters/root"  # not entered

    assert cw.main(["org"]) == 1
    assert capsys.readouterr().err == 'Error: workspaces.tenancy.kcp.io "org" already exists\n'


def test_create_ignore_existing(cli: Cli, fake: FakeKcp) -> None:
    assert cli.ws("create", "a", "--ignore-existing") == (
        'Workspace "a" (type root:universal) already exists.\n'
        'Workspace "a" (type root:universal) is ready to use.\n'
    )
    fake.add("root:slow", phase="Initializing")
    fake.pending["root:slow"] = 2  # the GET after the 409 still sees it Initializing
    assert cli.ws("create", "slow", "--ignore-existing", "--type", "root:universal").startswith(
        'Workspace "slow" (type root:universal) already exists. Waiting for it to be ready...\n')
    assert cli.fails("create", "a", "--ignore-existing", "--type", "root:team") == (
        'workspace "a" cannot be created with type root:team, it already exists with different type root:universal')
    assert cli.fails("create", "a", "--ignore-existing", "--type", "universal") == (
        "--ignore-existing must not be used with non-absolute type path")


def test_create_not_ready_in_time(cli: Cli, fake: FakeKcp) -> None:
    fake.ready_after = 10**6
    with pytest.raises(PluginError) as info:
        cw.create_workspace(cli.session(), "stuck", ready_timeout=0.2, poll_interval=0.02)
    assert str(info.value) == 'Workspace "stuck" (type root:universal) created but is not ready to use'
    assert cli.out.getvalue() == 'Workspace "stuck" (type root:universal) created. Waiting for it to be ready...\n'


# --------------------------------------------------------------------------------------------
# TLS and credentials
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path, Path]:
    """(CA PEM, server cert file, server key file) for 127.0.0.1."""
    ca_cert, ca_key = generate_ca("plugin test CA")
    cert, key = generate_server_cert(ca_cert, ca_key, ["127.0.0.1"])
    d = tmp_path_factory.mktemp("tls")
    (d / "tls.crt").write_bytes(cert)
    (d / "tls.key").write_bytes(key)
    return ca_cert, d / "tls.crt", d / "tls.key"


def test_https_with_ca_data_and_token(serve: Any, tmp_path: Path, tls_material: tuple[bytes, Path, Path]) -> None:
    ca, cert, key = tls_material
    fake: FakeKcp = serve(FakeKcp(), (cert, key))
    fake.add("root:a")
    cli = Cli(write(tmp_path / "config", kubeconfig_doc(f"{fake.base}/clusters/root",
                                                        ca=base64.b64encode(ca).decode())), tmp_path)
    assert fake.base.startswith("https://")
    assert cli.ws("a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert {auth for _, _, _, auth in fake.requests} == {f"Bearer {TOKEN}"}
    assert named(load(cli.path), "clusters", CURRENT)["certificate-authority-data"] == (  # type: ignore[index]
        base64.b64encode(ca).decode())
    assert cli.ws("tree") == ".\n└── a\n\n"


def test_https_with_ca_file_and_token_file(serve: Any, tmp_path: Path,
                                           tls_material: tuple[bytes, Path, Path]) -> None:
    ca, cert, key = tls_material
    fake: FakeKcp = serve(FakeKcp(), (cert, key))
    fake.add("root:a")
    (tmp_path / "ca.crt").write_bytes(ca)
    (tmp_path / "token").write_text("from-file\n")
    doc = kubeconfig_doc(f"{fake.base}/clusters/root")
    doc["clusters"][0]["cluster"] = {"server": f"{fake.base}/clusters/root", "certificate-authority": "ca.crt"}
    doc["users"][0]["user"] = {"tokenFile": "token"}  # relative to the kubeconfig's folder
    cli = Cli(write(tmp_path / "config", doc), tmp_path)
    assert cli.ws("a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert {auth for _, _, _, auth in fake.requests} == {"Bearer from-file"}


def test_https_with_the_wrong_ca_fails_and_insecure_skips_verification(
        serve: Any, tmp_path: Path, tls_material: tuple[bytes, Path, Path]) -> None:
    _, cert, key = tls_material
    fake: FakeKcp = serve(FakeKcp(), (cert, key))
    fake.add("root:a")
    other_ca, _ = generate_ca("someone else")
    cli = Cli(write(tmp_path / "config", kubeconfig_doc(f"{fake.base}/clusters/root",
                                                        ca=base64.b64encode(other_ca).decode())), tmp_path)
    message = cli.fails("a")
    assert message.startswith("Unable to connect to the server:") and "CERTIFICATE_VERIFY_FAILED" in message

    doc = kubeconfig_doc(f"{fake.base}/clusters/root")
    doc["clusters"][0]["cluster"] = {"server": f"{fake.base}/clusters/root", "insecure-skip-tls-verify": True}
    cli = Cli(write(tmp_path / "insecure", doc), tmp_path)
    assert cli.ws("a") == "Current workspace is 'root:a' (type root:universal).\n"
    assert named(load(cli.path), "clusters", CURRENT) == {"server": f"{fake.base}/clusters/root:a",
                                                          "insecure-skip-tls-verify": True}


def test_exec_credentials_are_refused_clearly(tmp_path: Path, fake: FakeKcp) -> None:
    doc = kubeconfig_doc(f"{fake.base}/clusters/root")
    doc["users"][0]["user"] = {"exec": {"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1"}}
    cli = Cli(write(tmp_path / "config", doc), tmp_path)
    assert re.search("exec or auth-provider plugin", cli.fails("a"))


# --------------------------------------------------------------------------------------------
# Packaging
# --------------------------------------------------------------------------------------------


def test_console_scripts_point_at_the_plugins() -> None:
    """pyproject's [project.scripts] name callables that exist (kubectl finds them on PATH)."""
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"kubectl-ws", "kubectl-create_workspace"} <= set(scripts)
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))
