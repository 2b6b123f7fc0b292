"""The running proxy follows the shard records: one backend per shard, regenerated and reloaded
gracefully when a shard is added, removed or changes its base URL.

Contract
--------
* `proxy_config_refresh(files=..., shards=..., haproxy=...)`: renders `haproxy.cfg` from the usable
  shard records and `params.json` (frontproxy.config.ProxyParams). When it differs from the file,
  the new text is checked with `haproxy -c` first, then `shards.map` and `haproxy.cfg` are replaced
  (each atomically); True when they were. A record that cannot be a backend (a name no backend can
  carry, a base URL that is not `https://host[:port]`) is left out and named in the error log:
  its workspaces answer 503 as for any shard the proxy has no backend for, and one bad record never
  stops the proxy following the others. No root record, or `haproxy -c` refusing the text →
  `BackendsError`, and the files stay as they are (the running HAProxy keeps serving).
* `proxy_config_stale(files=...)`: whether the running worker started before `haproxy.cfg` was
  last written (by at least a second: HAProxy reports its start in whole seconds); so a syncer that
  died between writing the files and reloading reloads when it is back.
* `proxy_reload(files=...)`: the master CLI's `reload` (HAProxy runs in master-worker mode, `-W -S
  <dir>/master.sock`), then waits until a new connection to the runtime API is answered by a new
  worker. The new worker reads the configuration and the map files and takes over the listening
  sockets (`expose-fd listeners`); the old one stops accepting and finishes its established
  streams (watches, websockets) before it exits; it closes idle keep-alive connections at once
  (their next request goes to the new worker). Its maps are no longer updated: a request in
  flight there sees the routes of the reload's moment.

The route syncer (frontproxy.syncer) calls these on a `kcp_shards` notification (a record
inserted, deleted or whose base URL changed; heartbeats are silent), at its start and with every
full replace (healing a missed notification), writes `routes.map` just before the reload (the new
worker starts from current routes) and pushes the map after it.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .config import ProxyFiles, ProxyParams, ShardBackend, render_config, write_shards_map
from .files import write_atomic
from .routes import shard_name_valid
from .runtime import RuntimeAPIError, master_reload, worker_now

log = logging.getLogger(__name__)

#: How long a reload may take until the new worker answers (a configuration check passed first).
RELOAD_TIMEOUT = 10.0


class BackendsError(RuntimeError):
    """The configuration cannot follow the shard records now (the message says why)."""


def usable_shards(shards: Iterable[ShardBackend]) -> tuple[list[ShardBackend], list[str]]:
    """The records that can be backends, and why each other one cannot."""
    usable, refused = [], []
    for shard in shards:
        if not shard_name_valid(shard.name):
            refused.append(f"shard {shard.name!r}: the name cannot name a backend")
            continue
        try:
            _ = shard.address
        except ValueError as e:
            refused.append(str(e))
            continue
        usable.append(shard)
    return usable, refused


def proxy_config_refresh(*, files: ProxyFiles, shards: Iterable[ShardBackend], haproxy: str | None) -> bool:
    """Rewrite `haproxy.cfg` and `shards.map` for `shards` when the configuration changes (see the
    module docstring); True when the files were replaced. `haproxy`: the binary that checks the
    text (`None`: not checked)."""
    try:
        params = ProxyParams.load(files)
    except (OSError, ValueError) as e:
        raise BackendsError(f"cannot regenerate the configuration ({e}); re-run kcp_proxy_config") from e
    usable, refused = usable_shards(shards)
    for why in refused:
        log.error("front proxy: %s (left out of the configuration)", why)
    try:
        text = render_config(files=files, shards=usable, root=params.root, bind=params.bind, ca_file=params.ca_file)
    except ValueError as e:
        raise BackendsError(f"configuration not changed: {e}") from e
    try:
        if files.config.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    if haproxy and Path(haproxy).exists():
        _check(files, text, haproxy)
    write_shards_map(files=files, shards=usable)
    write_atomic(files.config, [text])
    log.info("front proxy: configuration rewritten for shards %s", ", ".join(s.name for s in usable))
    return True


def _check(files: ProxyFiles, text: str, haproxy: str) -> None:
    candidate = files.dir / ".haproxy.cfg.check"
    write_atomic(candidate, [text])
    try:
        check = subprocess.run([haproxy, "-c", "-q", "-f", str(candidate)], capture_output=True, text=True,
                               timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise BackendsError(f"haproxy -c could not run: {e}") from e
    finally:
        candidate.unlink(missing_ok=True)
    if check.returncode != 0:
        raise BackendsError(f"haproxy -c refused the new configuration: {(check.stdout + check.stderr).strip()}")


def proxy_config_stale(*, files: ProxyFiles) -> bool:
    """Whether the running worker predates `haproxy.cfg` (RuntimeAPIError: HAProxy not reachable)."""
    worker = worker_now(files.socket)
    return files.config.stat().st_mtime >= worker.started + 1


def proxy_reload(*, files: ProxyFiles, timeout: float = RELOAD_TIMEOUT) -> int:
    """Reload HAProxy gracefully and return the new worker's pid once it answers (BackendsError
    when none does within `timeout`; RuntimeAPIError when HAProxy is not reachable)."""
    before = worker_now(files.socket)
    master_reload(files.master_socket)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            now = worker_now(files.socket)
        except RuntimeAPIError:
            now = before  # the new worker is between binding and answering
        if now.pid != before.pid:
            log.info("front proxy: reloaded, worker %d replaces %d", now.pid, before.pid)
            return now.pid
        time.sleep(0.05)
    raise BackendsError(f"no new HAProxy worker {timeout:.0f}s after the reload (its log says why)")
