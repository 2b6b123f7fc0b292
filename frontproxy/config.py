"""HAProxy's configuration for the front proxy, generated from the shard records.

Contract
--------
`write_proxy_files(files=ProxyFiles(dir), shards=[ShardBackend...], root=..., bind=..., ...)` writes
into the proxy directory:

* `haproxy.cfg` (`render_config`): one HTTPS frontend on `bind`, one backend per shard, a default
  backend, and the runtime API on the unix socket `admin.sock` (level admin, mode 0600);
* `shards.map` (shard → backend, `frontproxy.routes`); `routes.map` only when it does not exist
  yet (the route syncer owns it; a restarted HAProxy starts from the syncer's last write); an
  empty `gone.map` (keys the syncer unrouted since its last full replace, runtime only);
* `server.pem` (the server certificate and key, 0600) and `errors/*` (Kubernetes Status bodies);
* `params.json` (`ProxyParams`: bind, root shard, CA), from which the route syncer regenerates
  `haproxy.cfg` and `shards.map` when the shard records change (frontproxy.backends; HAProxy runs
  in master-worker mode with its master CLI at `master.sock`, and the runtime socket passes the
  listeners to a reload's new worker: `expose-fd listeners`).

The frontend's rules, in order (docs/shards.md has the why):

1. every client-supplied `X-Remote-*` header is deleted (identity is never taken from a client;
   `Authorization` and `Impersonate-*` pass: the shards authenticate and authorize them);
2. `/shards/<shard>/services/...` → that shard's backend, path unchanged: the shard's own part of
   its virtual workspaces (a provider's view of the consumers it holds, listed per shard in
   APIExportEndpointSlices); anything else under `/shards/`, or a shard without a backend → 404;
   then `/clusters/*/...` → 403 (wildcard requests to workspaces are per shard, never through the
   proxy);
3. `/clusters/<segment>/...`: the segment (percent-decoded) is looked up in `routes.map` (unless
   it is in `gone.map`); a miss →
   403 Status (existence never leaks); a hit names a shard in `shards.map` (a shard without a
   backend → 503) and the path is rewritten to `/clusters/<logical cluster name>/...`;
4. `/workspaces/<path>/...` (the portal: pages, JSON) and a provider's request for one consumer
   through an export's shared URL (`/services/apiexport/<path>/<export>/clusters/<logical
   cluster>/...`): the same lookup, no rewrite; a miss goes to the default backend, whose portal
   answers as it does for any unknown workspace (and whose virtual workspace answers 404 for a
   consumer it does not hold);
5. everything else → the default backend: the root shard, the other shards as backups.

Each backend checks its shard with `GET /readyz` every second (fall 2, rise 1) over TLS verified
with the project's CA; while none of its servers is up it answers 503 Status with `Retry-After: 1`
itself. Errors HAProxy generates (400, 408, 500, 502, 503, 504) are Status bodies too. Timeouts:
client/server/tunnel one hour (watches are long polls; websockets are tunnels); runtime map
updates never touch established streams.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .files import write_atomic
from .routes import backend_name, map_line, shard_name_valid

#: Long-lived streams: a watch's default lifetime is 30 min (KCP_WATCH_DEFAULT_TIMEOUT), kubectl
#: asks for up to an hour; websockets (the portal's live view) idle between updates.
STREAM_TIMEOUT = "1h"
CHECK_INTERVAL = "1s"

_REASONS = {
    400: ("BadRequest", "the request could not be read"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "not found"),
    408: ("Timeout", "the request was not received in time"),
    500: ("InternalError", "the front proxy failed to handle the request"),
    502: ("ServiceUnavailable", "the shard serving this request failed; retry"),
    503: ("ServiceUnavailable", "the shard serving this request is unavailable; retry"),
    504: ("Timeout", "the shard serving this request did not answer in time"),
}
_PHRASES = {400: "Bad Request", 403: "Forbidden", 408: "Request Time-out", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
#: Bodies of the answers the frontend's rules return themselves (file name → (code, message)).
_RULE_BODIES = {
    "wildcard.json": (403, "forbidden: requests to the `*` logical cluster are not served through the front proxy"),
    "unknown.json": (403, "forbidden: this workspace does not exist or you may not access it"),
    "unavailable.json": (503, "the shard serving this workspace is unavailable; retry"),
    "noshard.json": (404, "not found: /shards/<shard>/ leads only to the virtual workspaces (/services/) of a "
                          "shard the proxy knows"),
}


@dataclass(frozen=True)
class ShardBackend:
    """A shard as the proxy reaches it: its name and base URL (`https://host:port`)."""

    name: str
    base_url: str

    @property
    def address(self) -> str:
        parts = urlsplit(self.base_url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"shard {self.name!r}: base URL {self.base_url!r} is not https://host[:port]")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port or 443}"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""


@dataclass(frozen=True)
class ProxyFiles:
    """Where the proxy's files live (one directory)."""

    dir: Path

    @property
    def config(self) -> Path:
        return self.dir / "haproxy.cfg"

    @property
    def routes_map(self) -> Path:
        return self.dir / "routes.map"

    @property
    def gone_map(self) -> Path:
        return self.dir / "gone.map"

    @property
    def shards_map(self) -> Path:
        return self.dir / "shards.map"

    @property
    def server_pem(self) -> Path:
        return self.dir / "server.pem"

    @property
    def socket(self) -> Path:
        return self.dir / "admin.sock"

    @property
    def synced(self) -> Path:
        """Written by the route syncer after each full replace HAProxy took: from then on it
        listens to the directory, so no later change is missed (what a starting stack waits for)."""
        return self.dir / "syncer.synced"

    @property
    def errors(self) -> Path:
        return self.dir / "errors"

    @property
    def params(self) -> Path:
        """What the configuration was generated with besides the shards (`ProxyParams`)."""
        return self.dir / "params.json"

    @property
    def master_socket(self) -> Path:
        """HAProxy's master CLI (master-worker mode: `haproxy -W -S <this>,mode,600`)."""
        return self.dir / "master.sock"


def status_body(code: int, message: str) -> bytes:
    """A Kubernetes Status (metav1.Status) JSON body."""
    reason = _REASONS[code][0]
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "details": {}, "code": code},
                      separators=(",", ":")).encode()


def error_response(code: int) -> bytes:
    """An HAProxy errorfile: the whole HTTP/1.0 response with a Status body."""
    body = status_body(code, _REASONS[code][1])
    head = [f"HTTP/1.0 {code} {_PHRASES[code]}", "Content-Type: application/json", "Cache-Control: no-cache",
            f"Content-Length: {len(body)}"]
    if code in (502, 503):
        head.append("Retry-After: 1")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _server_line(shard: ShardBackend, ca_file: Path, *, track: bool = False, backup: bool = False) -> str:
    """A shard's server line. verifyhost checks the certificate's DNS names (and common name): our
    certificates name the host a base URL uses, IP literals included (kcpsite.tls puts the first
    host in the CN). In the default backend the server `track`s its shard backend's check, so each
    shard is checked once."""
    check = f"track {backend_name(shard.name)}/{shard.name}" if track else "check"
    return (f"    server {shard.name} {shard.address} ssl verify required ca-file {ca_file} "
            f"verifyhost {shard.host} {check}{' backup' if backup else ''}")


def _backend(name: str, servers: list[str], errors: Path) -> str:
    return "\n".join([
        f"backend {name}",
        "    option httpchk",
        "    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost",
        "    http-check expect status 200",
        f"    default-server inter {CHECK_INTERVAL} fastinter {CHECK_INTERVAL} downinter {CHECK_INTERVAL} "
        "fall 2 rise 1",
        # No usable server: answer at once instead of queueing for `timeout queue`.
        "    http-request return status 503 content-type application/json "
        f"file {errors / 'unavailable.json'} hdr Retry-After 1 if {{ nbsrv eq 0 }}",
        *servers,
    ])


def render_config(*, files: ProxyFiles, shards: Iterable[ShardBackend], root: str, bind: str, ca_file: Path) -> str:
    """The HAProxy configuration (see the module docstring). `root` names the shard that serves
    what is not addressed to a workspace; `bind` is `host:port`."""
    shards = sorted(shards, key=lambda s: (s.name != root, s.name))
    if not shards:
        raise ValueError("no shard to route to")
    for shard in shards:
        if not shard_name_valid(shard.name):
            raise ValueError(f"shard name {shard.name!r} cannot name a backend")
    if shards[0].name != root:
        raise ValueError(f"the root shard {root!r} is not among the shards")
    errors = files.errors
    routes = files.routes_map
    backends = [_backend(backend_name(s.name), [_server_line(s, ca_file)], errors) for s in shards]
    default_servers = [_server_line(s, ca_file, track=True, backup=s.name != root) for s in shards]
    default = _backend("be_default", default_servers, errors)
    return "\n".join([
        "# Generated by `manage.py kcp_proxy_config` from the shard records; edits are overwritten.",
        "global",
        # expose-fd: a reload's new worker takes the listening sockets over (no refused connection).
        f"    stats socket {files.socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 1d",
        "    log stdout format raw local0 notice",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "    ssl-default-server-options ssl-min-ver TLSv1.2",
        "",
        "http-errors kube-status",
        *(f"    errorfile {code} {errors / f'{code}.http'}" for code in sorted(_PHRASES)),
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlog-normal",
        "    errorfiles kube-status",
        "    retries 1",
        "    timeout connect 2s",
        "    timeout check 2s",
        "    timeout queue 5s",
        "    timeout http-request 30s",
        "    timeout http-keep-alive 60s",
        f"    timeout client {STREAM_TIMEOUT}",
        f"    timeout server {STREAM_TIMEOUT}",
        f"    timeout tunnel {STREAM_TIMEOUT}",
        "    timeout client-fin 30s",
        "",
        "frontend kcp",
        f"    bind {bind} ssl crt {files.server_pem} alpn h2,http/1.1",
        # 1. Identity comes from credentials the shards verify, never from a client's header.
        "    http-request del-header X-Remote- -m beg",
        # 2. A shard's virtual workspaces under its own prefix; nothing else of a shard is reached so.
        "    acl shard_prefix path_beg /shards/",
        "    acl shard_services path_reg ^/shards/[^/]+/services/",
        f"    http-request set-var(txn.backend) path,field(3,/),map_str({files.shards_map}) "
        "if shard_prefix shard_services",
        "    http-request return status 404 content-type application/json "
        f"file {errors / 'noshard.json'} if shard_prefix !{{ var(txn.backend) -m found }}",
        "    acl api_cluster path_beg /clusters/",
        "    acl portal_workspace path_beg /workspaces/",
        "    http-request set-var(txn.segment) path,field(3,/),url_dec if api_cluster || portal_workspace",
        # A provider's request for one consumer through the export's shared URL: the consumer's shard.
        "    acl export_view path_beg /services/apiexport/",
        "    acl export_consumer path_reg ^/services/apiexport/[^/]+/[^/]+/clusters/[^*/]",
        "    http-request set-var(txn.segment) path,field(7,/),url_dec if export_view export_consumer",
        # 2. Wildcards to workspaces never cross the proxy.
        "    http-request return status 403 content-type application/json "
        f"file {errors / 'wildcard.json'} if api_cluster {{ var(txn.segment) -m str * }}",
        # 3./4. One lookup (one map expression in memory) for both prefixes.
        f"    http-request set-var(txn.route) var(txn.segment),map_str({routes}) if {{ var(txn.segment) -m found }}",
        # Keys unrouted since the syncer's last full replace (`del map` on a big map is linear).
        f"    http-request unset-var(txn.route) if {{ var(txn.segment),map_str({files.gone_map}) -m found }}",
        "    http-request return status 403 content-type application/json "
        f"file {errors / 'unknown.json'} if api_cluster !{{ var(txn.route) -m found }}",
        f"    http-request set-var(txn.backend) var(txn.route),field(1,/),map_str({files.shards_map}) "
        "if { var(txn.route) -m found }",
        "    http-request return status 503 content-type application/json "
        f"file {errors / 'unavailable.json'} hdr Retry-After 1 "
        "if { var(txn.route) -m found } !{ var(txn.backend) -m found }",
        "    http-request replace-path ^/clusters/[^/]*(.*) /clusters/%[var(txn.route),field(2,/)]\\1 if api_cluster",
        "    use_backend %[var(txn.backend)] if { var(txn.backend) -m found }",
        # 5. Everything else.
        "    default_backend be_default",
        "",
        *(b + "\n" for b in backends),
        default,
        "",
    ])


def write_proxy_files(*, files: ProxyFiles, shards: Iterable[ShardBackend], root: str, bind: str, ca_file: Path,
                      server_cert_pem: bytes, server_key_pem: bytes) -> None:
    """Write the configuration and what it refers to (see the module docstring); `routes.map` only
    when missing, so the syncer's last routes survive a regeneration."""
    shards = list(shards)
    files.dir.mkdir(parents=True, exist_ok=True)
    os.chmod(files.dir, 0o700)
    files.errors.mkdir(exist_ok=True)
    for code in _PHRASES:
        write_atomic(files.errors / f"{code}.http", [error_response(code).decode()])
    for name, (code, message) in _RULE_BODIES.items():
        write_atomic(files.errors / name, [status_body(code, message).decode()])
    write_atomic(files.server_pem, [server_cert_pem.decode(), server_key_pem.decode()])
    write_shards_map(files=files, shards=shards)
    if not files.routes_map.exists():
        write_atomic(files.routes_map, [])
    write_atomic(files.gone_map, [])  # the file routes.map is always whole: nothing is gone from it
    write_atomic(files.params, [ProxyParams(root=root, bind=bind, ca_file=ca_file).dumps()])
    write_atomic(files.config, [render_config(files=files, shards=shards, root=root, bind=bind, ca_file=ca_file)])


@dataclass(frozen=True)
class ProxyParams:
    """The generation parameters other than the shards, kept in `params.json` beside the
    configuration: the route syncer regenerates `haproxy.cfg` and `shards.map` from them and the
    current shard records when those change (frontproxy.backends)."""

    root: str
    bind: str
    ca_file: Path

    def dumps(self) -> str:
        return json.dumps({"root": self.root, "bind": self.bind, "ca_file": str(self.ca_file)})

    @classmethod
    def load(cls, files: ProxyFiles) -> ProxyParams:
        """Raises OSError (missing: a directory written before params.json existed; re-run
        kcp_proxy_config) or ValueError (not ours)."""
        doc = json.loads(files.params.read_text(encoding="utf-8"))
        try:
            return cls(root=str(doc["root"]), bind=str(doc["bind"]), ca_file=Path(doc["ca_file"]))
        except (KeyError, TypeError) as e:
            raise ValueError(f"{files.params}: {e!r}") from e


def write_shards_map(*, files: ProxyFiles, shards: Iterable[ShardBackend]) -> None:
    write_atomic(files.shards_map, (map_line(s.name, backend_name(s.name)) for s in shards))
