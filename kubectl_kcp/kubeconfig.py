"""Kubeconfig files as kubectl reads and writes them, kcp's workspace contexts, and a small API client.

Loading follows client-go's clientcmd rules, trimmed to what the plugins need:

* `--kubeconfig FILE` names the only file (it must exist); otherwise `$KUBECONFIG` lists files
  (`os.pathsep`-separated; empty and repeated entries ignored; missing ones skipped); otherwise
  `~/.kube/config`.
* Files merge first-wins: a cluster, context or user comes from the first file defining its name,
  `current-context` from the first file setting it.
* Writes go where clientcmd's `ModifyConfig` puts them: an entry into the file defining it, a new
  entry into the first existing file (else the first listed), `current-context` into the first file
  setting it (else that same default file). A file is rewritten atomically, keeping its mode (0600
  when new): JSON stays JSON, anything else is written as YAML. Symlinks are written through.

kcp's plugin keeps the workspace it points at in the cluster and context `workspace.kcp.io/current`
(server `<base>/clusters/<path>`) and the one before in `workspace.kcp.io/previous`
(reference/kcp.md §2 "kubeconfig handling"); `switch_to` and `swap_to_previous` are its two edits.

HTTP goes through urllib only: TLS from the cluster's CA (data or file) or its
`insecure-skip-tls-verify`, credentials from the user's bearer token (or token file), client
certificate (data or file) or basic auth. exec and auth-provider plugins are not supported.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import json
import os
import ssl
import stat
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

import yaml

CURRENT = "workspace.kcp.io/current"
PREVIOUS = "workspace.kcp.io/previous"
CLUSTERS_PREFIX = "/clusters/"

Obj = dict[str, Any]
Kind = Literal["clusters", "contexts", "users"]
_BODY_KEY: dict[str, str] = {"clusters": "cluster", "contexts": "context", "users": "user"}


class PluginError(Exception):
    """A failure reported to the user as `Error: <message>` with exit status 1."""


def quote(value: str) -> str:
    """`value` double-quoted with escapes, like Go's `%q` for the strings kcp's messages quote."""
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


@dataclass
class _File:
    path: Path
    doc: Obj
    exists: bool
    is_json: bool = False
    dirty: bool = False


def _read(path: Path) -> _File:
    if not path.exists():
        return _File(path, {}, exists=False)
    try:
        text = path.read_text()
        doc = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise PluginError(f"error loading config file {quote(str(path))}: {e}") from e
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise PluginError(f"error loading config file {quote(str(path))}: not a kubeconfig (expected a mapping)")
    return _File(path, doc, exists=True, is_json=text.lstrip().startswith("{"))


def _write(f: _File) -> None:
    target = Path(os.path.realpath(f.path))
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o600
    if not f.exists:
        f.doc = {"apiVersion": "v1", "kind": "Config", **f.doc}
    text = json.dumps(f.doc, indent=2) + "\n" if f.is_json else yaml.safe_dump(f.doc, sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    f.exists, f.dirty = True, False


class Kubeconfig:
    """The merged view of one or more kubeconfig files, editable entry by entry (see the module doc).

    `get` returns deep copies and `set` stores deep copies, so callers never alias the documents.
    Nothing reaches the disk before `save()`."""

    def __init__(self, files: list[_File]) -> None:
        if not files:
            raise ValueError("a Kubeconfig needs at least one file")
        self._files = files

    @classmethod
    def load(cls, explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Kubeconfig:
        """Read `explicit` (`--kubeconfig`), else `$KUBECONFIG`'s files, else `~/.kube/config`.

        Raises PluginError when an explicit file is missing, a file is not a kubeconfig, or no file exists."""
        env = os.environ if environ is None else environ
        if explicit:
            path = Path(explicit).expanduser()
            if not path.exists():
                raise PluginError(f"stat {explicit}: no such file or directory")
            paths = [path]
        elif env.get("KUBECONFIG"):
            paths = []
            for entry in env["KUBECONFIG"].split(os.pathsep):
                if entry and Path(entry).expanduser() not in paths:
                    paths.append(Path(entry).expanduser())
        else:
            paths = [Path(env.get("HOME") or Path.home()) / ".kube" / "config"]
        files = [_read(p) for p in paths]
        if not any(f.exists for f in files):
            raise PluginError(
                "invalid configuration: no configuration has been provided "
                f"(no kubeconfig at {', '.join(str(p) for p in paths)})"
            )
        return cls(files)

    @property
    def paths(self) -> list[Path]:
        """The files in precedence order (missing ones included)."""
        return [f.path for f in self._files]

    def _find(self, kind: Kind, name: str) -> tuple[_File, Obj] | None:
        for f in self._files:
            for entry in f.doc.get(kind) or []:
                if isinstance(entry, dict) and entry.get("name") == name:
                    return f, entry
        return None

    def get(self, kind: Kind, name: str) -> Obj | None:
        """A copy of the body (`cluster`, `context` or `user` mapping) of the named entry, or None."""
        found = self._find(kind, name)
        if found is None:
            return None
        body = found[1].get(_BODY_KEY[kind])
        return copy.deepcopy(body) if isinstance(body, dict) else {}

    def origin(self, kind: Kind, name: str) -> Path | None:
        """The file defining the named entry (relative file names in it resolve against its folder)."""
        found = self._find(kind, name)
        return found[0].path if found else None

    def set(self, kind: Kind, name: str, body: Obj) -> None:
        """Replace the named entry's body where it is defined, or add the entry to the default file."""
        found = self._find(kind, name)
        if found is not None:
            f, entry = found
            entry[_BODY_KEY[kind]] = copy.deepcopy(body)
        else:
            f = self._default_file()
            f.doc[kind] = [*(f.doc.get(kind) or []), {"name": name, _BODY_KEY[kind]: copy.deepcopy(body)}]
        f.dirty = True

    @property
    def current_context(self) -> str:
        """`current-context` of the first file setting it ("" when none does)."""
        for f in self._files:
            if f.doc.get("current-context"):
                return str(f.doc["current-context"])
        return ""

    def set_current_context(self, name: str) -> None:
        f = next((f for f in self._files if f.doc.get("current-context")), None) or self._default_file()
        f.doc["current-context"] = name
        f.dirty = True

    def _default_file(self) -> _File:
        return next((f for f in self._files if f.exists), self._files[0])

    def save(self) -> None:
        """Write every file changed since loading (atomically; see the module doc)."""
        for f in self._files:
            if f.dirty:
                _write(f)


# --------------------------------------------------------------------------------------------
# Workspace URLs and kcp's two context edits
# --------------------------------------------------------------------------------------------


def parse_cluster_url(server: str) -> tuple[str, str] | None:
    """`https://host[/prefix]/clusters/<path>[/...]` → (`https://host[/prefix]`, `<path>`).

    None when the URL has no `/clusters/` segment or the path after it is empty (the caller words
    the error: kcp's messages differ by command). The path is returned as written, unvalidated."""
    parts = urlsplit(server)
    index = parts.path.find(CLUSTERS_PREFIX)
    if index < 0:
        return None
    path = parts.path[index + len(CLUSTERS_PREFIX) :].split("/", 1)[0]
    if not path:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path[:index], "", "")), path


def _context(cfg: Kubeconfig, name: str) -> Obj:
    ctx = cfg.get("contexts", name)
    if ctx is None:
        raise PluginError(f"current {quote(name)} context not found")
    return ctx


def _cluster(cfg: Kubeconfig, name: str) -> Obj:
    cluster = cfg.get("clusters", name)
    if cluster is None:
        raise PluginError(f"cluster {quote(name)} not found in kubeconfig")
    return cluster


def switch_to(cfg: Kubeconfig, context_name: str, server: str) -> None:
    """Point `workspace.kcp.io/current` at `server` and remember context `context_name` as previous.

    kcp's `commitConfig`: the new cluster is a copy of the context's cluster (CA, TLS settings,
    everything) with only `server` changed; the new context is a copy of the context (user,
    namespace) naming that cluster. The old context becomes `workspace.kcp.io/previous`; when it
    used the current cluster, that cluster is kept as cluster `workspace.kcp.io/previous` too.
    `current-context` becomes `workspace.kcp.io/current`. Not saved: call `cfg.save()`."""
    ctx = _context(cfg, context_name)
    cluster_name = str(ctx.get("cluster") or "")
    old_cluster = _cluster(cfg, cluster_name)
    cfg.set("clusters", CURRENT, {**old_cluster, "server": server})
    cfg.set("contexts", CURRENT, {**ctx, "cluster": CURRENT})
    previous = ctx
    if cluster_name == CURRENT:
        previous = {**ctx, "cluster": PREVIOUS}
        cfg.set("clusters", PREVIOUS, old_cluster)
    cfg.set("contexts", PREVIOUS, previous)
    cfg.set_current_context(CURRENT)


def swap_to_previous(cfg: Kubeconfig, context_name: str) -> str:
    """Exchange context `context_name` and `workspace.kcp.io/previous` (kcp's `swapContexts`).

    Returns the server URL now current. Clusters named after the plugin's contexts travel with
    their contexts (current ↔ previous); other clusters stay as they are. Raises PluginError
    "no previous workspace found in kubeconfig" when there is none. Not saved: call `cfg.save()`."""
    ctx = _context(cfg, context_name)
    prev = cfg.get("contexts", PREVIOUS)
    if prev is None:
        raise PluginError("no previous workspace found in kubeconfig")
    # Read both clusters before writing: each write below replaces the other's source.
    current_cluster = cfg.get("clusters", CURRENT)
    previous_cluster = cfg.get("clusters", PREVIOUS)
    if ctx.get("cluster") == CURRENT:
        if current_cluster is None:
            raise PluginError(f"cluster {quote(CURRENT)} not found in kubeconfig")
        ctx = {**ctx, "cluster": PREVIOUS}
        cfg.set("clusters", PREVIOUS, current_cluster)
    if prev.get("cluster") == PREVIOUS:
        if previous_cluster is None:
            raise PluginError(f"cluster {quote(PREVIOUS)} not found in kubeconfig")
        prev = {**prev, "cluster": CURRENT}
        cfg.set("clusters", CURRENT, previous_cluster)
    cfg.set("contexts", CURRENT, prev)
    cfg.set("contexts", PREVIOUS, ctx)
    cfg.set_current_context(CURRENT)
    return str(_cluster(cfg, str(prev.get("cluster") or "")).get("server") or "")


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class ApiError(PluginError):
    """The server answered with an HTTP error; `message` is its Status message when it sent one."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @classmethod
    def from_response(cls, status: int, body: bytes) -> ApiError:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("message"):
            return cls(status, str(doc["message"]), str(doc.get("reason") or ""))
        return cls(status, f"the server responded with status {status}")


@dataclass(frozen=True)
class Connection:
    """How to talk to the server of one context: TLS settings (None for http://) and request headers."""

    ssl_context: ssl.SSLContext | None
    headers: dict[str, str] = field(default_factory=dict)


def _resolve(file_name: str, origin: Path | None) -> str:
    path = Path(file_name).expanduser()
    if not path.is_absolute() and origin is not None:
        path = origin.parent / path
    return str(path)


def _pem(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as e:
        raise PluginError(f"invalid base64 data in kubeconfig: {e}") from e


def _ssl_context(cluster: Obj, cluster_origin: Path | None, user: Obj, user_origin: Path | None) -> ssl.SSLContext:
    try:
        if cluster.get("insecure-skip-tls-verify"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cluster.get("certificate-authority-data"):
            ctx = ssl.create_default_context(cadata=_pem(str(cluster["certificate-authority-data"])).decode())
        elif cluster.get("certificate-authority"):
            ctx = ssl.create_default_context(cafile=_resolve(str(cluster["certificate-authority"]), cluster_origin))
        else:
            ctx = ssl.create_default_context()
        cert, key = user.get("client-certificate-data"), user.get("client-key-data")
        if cert and key:
            # ssl loads key pairs from files only: hand it private temporary ones, gone right after.
            with tempfile.TemporaryDirectory(prefix="kubectl-ws-") as tmp:
                cert_file, key_file = Path(tmp) / "client.crt", Path(tmp) / "client.key"
                cert_file.write_bytes(_pem(str(cert)))
                key_file.write_bytes(_pem(str(key)))
                ctx.load_cert_chain(str(cert_file), str(key_file))
        elif user.get("client-certificate") and user.get("client-key"):
            ctx.load_cert_chain(
                _resolve(str(user["client-certificate"]), user_origin), _resolve(str(user["client-key"]), user_origin)
            )
    except (ssl.SSLError, OSError, UnicodeDecodeError) as e:
        raise PluginError(f"invalid TLS settings in kubeconfig: {e}") from e
    return ctx


def connection_for(cfg: Kubeconfig, context_name: str) -> Connection:
    """TLS settings and credentials of context `context_name` (its cluster and user).

    Raises PluginError for a missing context or cluster, unreadable TLS material or token file,
    and users that authenticate only through exec or auth-provider plugins."""
    ctx = _context(cfg, context_name)
    cluster_name = str(ctx.get("cluster") or "")
    cluster = _cluster(cfg, cluster_name)
    user_name = str(ctx.get("user") or "")
    user = cfg.get("users", user_name) or {}
    user_origin = cfg.origin("users", user_name)
    headers = {"Accept": "application/json", "User-Agent": "kubectl-ws/kcp-django"}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = Path(_resolve(str(user["tokenFile"]), user_origin)).read_text().strip()
        except OSError as e:
            raise PluginError(f"cannot read token file of user {quote(user_name)}: {e}") from e
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user.get("username") and user.get("password") is not None:
        basic = base64.b64encode(f"{user['username']}:{user['password']}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    elif (user.get("exec") or user.get("auth-provider")) and not (
        user.get("client-certificate-data") or user.get("client-certificate")
    ):
        raise PluginError(
            f"user {quote(user_name)} authenticates through an exec or auth-provider plugin, "
            "which this plugin does not support"
        )
    server = str(cluster.get("server") or "")
    if urlsplit(server).scheme != "https":
        return Connection(None, headers)
    return Connection(_ssl_context(cluster, cfg.origin("clusters", cluster_name), user, user_origin), headers)


class Client:
    """JSON requests to paths under `base` (e.g. `https://host:6443`) with one context's credentials."""

    def __init__(self, base: str, connection: Connection, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.connection = connection
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = []
        if connection.ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=connection.ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, body: Obj | None = None) -> Obj:
        """Send `method` to `base + path`; the decoded JSON answer ({} when empty).

        Raises ApiError for HTTP error statuses and PluginError when the server cannot be reached
        or answers something that is not a JSON object."""
        headers = dict(self.connection.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise ApiError.from_response(e.code, e.read()) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PluginError(f"Unable to connect to the server: {reason}") from None
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise PluginError(f"{method} {self.base + path}: the server answered something that is not JSON") from e
        if not isinstance(doc, dict):
            raise PluginError(f"{method} {self.base + path}: the server answered something that is not an object")
        return doc

    def get(self, path: str) -> Obj:
        return self.request("GET", path)

    def post(self, path: str, body: Obj) -> Obj:
        return self.request("POST", path, body)


# --------------------------------------------------------------------------------------------
# One invocation
# --------------------------------------------------------------------------------------------


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """`--kubeconfig` and `--context`, as kcp's plugins bind them."""
    parser.add_argument("--kubeconfig", help="Path to the kubeconfig file")
    parser.add_argument("--context", help="The name of the kubeconfig context to use")


@dataclass
class Session:
    """One invocation: the loaded kubeconfig, the context it works on, and the output streams.

    The context is `--context` when given, else the kubeconfig's `current-context`; it is both the
    one whose server names the current workspace and the one copied when switching."""

    config: Kubeconfig
    context_name: str
    out: TextIO
    err: TextIO

    @classmethod
    def open(
        cls,
        kubeconfig: str | None,
        context: str | None,
        out: TextIO,
        err: TextIO,
        environ: Mapping[str, str] | None = None,
    ) -> Session:
        cfg = Kubeconfig.load(kubeconfig, environ)
        return cls(cfg, context or cfg.current_context, out, err)

    def server(self) -> str:
        """The server URL of the context (PluginError when the context or its cluster is missing)."""
        ctx = _context(self.config, self.context_name)
        return str(_cluster(self.config, str(ctx.get("cluster") or "")).get("server") or "")

    def workspace(self) -> tuple[str, str]:
        """(base URL, workspace path) of the context's server, or PluginError
        `current URL "..." does not point to a workspace`."""
        server = self.server()
        parsed = parse_cluster_url(server)
        if parsed is None:
            raise PluginError(f"current URL {quote(server)} does not point to a workspace")
        return parsed

    def client(self, base: str) -> Client:
        """An API client for `base` with the context's TLS settings and credentials."""
        return Client(base, connection_for(self.config, self.context_name))


def run_plugin(fn: Callable[[], int]) -> int:
    """Console-script wrapper shared by the plugins: a PluginError prints `Error: <message>` on
    stderr and exits 1, Ctrl-C exits 130."""
    try:
        return fn()
    except PluginError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
