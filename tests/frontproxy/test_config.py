"""The generated HAProxy configuration: accepted by `haproxy -c`, one backend per shard, the
rules in their order, and refusals of what cannot be configured."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from frontproxy.config import ProxyFiles, ShardBackend, error_response, render_config, write_proxy_files
from kcpsite.tls import TLSFiles

from .harness import HAPROXY

SHARDS = [ShardBackend("shard-1", "https://127.0.0.1:7001"), ShardBackend("root", "https://localhost:7000"),
          ShardBackend("eu.shard-2", "https://[::1]:7002")]


def _write(tmp_path: Path, tls: TLSFiles, shards: list[ShardBackend] = SHARDS) -> ProxyFiles:
    files = ProxyFiles(tmp_path / "proxy")
    write_proxy_files(files=files, shards=shards, root="root", bind="127.0.0.1:16443", ca_file=tls.ca_cert,
                      server_cert_pem=tls.server_cert.read_bytes(), server_key_pem=tls.server_key.read_bytes())
    return files


def test_haproxy_accepts_the_generated_configuration(tmp_path: Path, tls: TLSFiles) -> None:
    files = _write(tmp_path, tls)
    check = subprocess.run([HAPROXY, "-c", "-f", str(files.config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Configuration file is valid" in check.stdout
    assert files.shards_map.read_text() == "shard-1 be_shard-1\nroot be_root\neu.shard-2 be_eu.shard-2\n"
    assert files.routes_map.read_text() == "" and files.gone_map.read_text() == ""
    assert oct(files.server_pem.stat().st_mode & 0o777) == "0o600"


def test_the_configuration_shape(tmp_path: Path, tls: TLSFiles) -> None:
    files = ProxyFiles(tmp_path)
    text = render_config(files=files, shards=SHARDS, root="root", bind="127.0.0.1:6443", ca_file=tls.ca_cert)
    lines = [line.strip() for line in text.splitlines()]
    # Backends: root first, then by name; the default backend tracks each shard's check.
    assert [line for line in lines if line.startswith("backend ")] == [
        "backend be_root", "backend be_eu.shard-2", "backend be_shard-1", "backend be_default"]
    assert f"server root localhost:7000 ssl verify required ca-file {tls.ca_cert} verifyhost localhost check" in lines
    assert any(line.startswith("server eu.shard-2 [::1]:7002 ") for line in lines)
    default = lines[lines.index("backend be_default"):]
    assert any("server root" in line and "track be_root/root" in line and "backup" not in line for line in default)
    assert any("server shard-1" in line and "track be_shard-1/shard-1 backup" in line for line in default)
    assert lines.count("http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost") == 4
    # Header stripping comes before any routing rule; a shard's own parts next; wildcard before
    # lookup; rewrite last.
    frontend = lines[lines.index("frontend kcp"):lines.index("backend be_root")]
    rules = [line for line in frontend if line.startswith(("http-request", "use_backend", "default_backend"))]
    assert rules[0] == "http-request del-header X-Remote- -m beg"
    assert f"map_str({files.shards_map})" in rules[1] and "noshard.json" in rules[2]
    assert rules[4] == "http-request set-var(txn.segment) path,field(7,/),url_dec if export_view export_consumer"
    rules = rules[3:]
    assert "wildcard.json" in rules[2] and "map_str" in rules[3] and "unknown.json" in rules[5]
    assert rules[4] == f"http-request unset-var(txn.route) if {{ var(txn.segment),map_str({files.gone_map}) -m found }}"
    assert rules[-3].startswith("http-request replace-path ^/clusters/[^/]*(.*) /clusters/%[var(txn.route),field(2,/)]")
    assert text.count(f"map_str({files.routes_map})") == 1  # one map expression in memory
    for timeout in ("client", "server", "tunnel"):
        assert f"timeout {timeout} 1h" in lines
    assert f"stats socket {files.socket} mode 600 level admin expose-fd listeners" in lines


def test_error_files_are_kubernetes_status(tmp_path: Path) -> None:
    raw = error_response(503)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 503 ") and b"Retry-After: 1" in head
    assert f"Content-Length: {len(body)}".encode() in head
    status = json.loads(body)
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": status["message"], "reason": "ServiceUnavailable", "details": {}, "code": 503}


@pytest.mark.parametrize("shards, error", [
    ([ShardBackend("shard-1", "https://127.0.0.1:7001")], "root shard"),
    ([ShardBackend("root", "http://127.0.0.1:7000")], "not https"),
    ([ShardBackend("root", "https://127.0.0.1:7000"), ShardBackend("bad name", "https://127.0.0.1:7001")],
     "cannot name a backend"),
    ([], "no shard"),
])
def test_what_cannot_be_configured_is_refused(tmp_path: Path, shards: list[ShardBackend], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        render_config(files=ProxyFiles(tmp_path), shards=shards, root="root", bind="127.0.0.1:6443",
                      ca_file=tmp_path / "ca.crt")
