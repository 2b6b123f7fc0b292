"""The route syncer: keeps HAProxy's `routes.map` in step with the directory of logical clusters.

Contract
--------
Steps, in order, each repeated as the loop needs it:

1. connect: LISTEN on the directory's channel (shards.models.DIRECTORY_CHANNEL) first, so no
   change committed after the snapshot below is missed, and on the shard records' (SHARDS_CHANNEL);
   the backends: at the start, on a shard notification and with every periodic full replace, the
   configuration follows the shard records (frontproxy.backends: regenerated, the map file
   written, HAProxy reloaded gracefully, then the map pushed into the new worker);
2. full replace: stream the routed rows (phase in ROUTED_PHASES) in one snapshot into the map file
   (written atomically: a restarted HAProxy starts with these routes), then push the file into
   HAProxy with `prepare map` / `add map @<ver>` / `commit map @<ver>` (atomic for requests);
3. incremental: each batch of notifications names logical clusters and paths; their current rows
   are read back (one indexed query: the notification is a doorbell, the row is the truth, so
   order and duplicates do not matter). A key to route is looked up and added when missing (set
   only when its value changes); a key to unroute is added to the small `gone.map`, which the
   frontend checks first, and taken out of it when routed again. HAProxy 2.6's `set map` and
   `del map` walk the whole map (about 55 ms per key at a million entries); lookups and adds are
   constant or logarithmic (0.02 ms). The full replace empties `gone.map`.
   A path taken over by a new logical cluster while the old one is still Deleting keeps the new
   route. The map file is rewritten from the directory shortly after (no sooner than twice the
   last rewrite took, so a million-entry file is not rewritten per change);
4. every `resync_every` seconds (60), and whenever the database or HAProxy connection was lost and
   is back, a full replace again: it heals whatever a missed notification left behind;
5. every PROBE_EVERY (1 s) a new runtime API connection asks which worker answers: a worker other
   than the one the map was pushed to (HAProxy restarted by its supervisor, or reloaded by an
   operator) started from the map file, which lags the runtime map by up to the file's rewrite
   interval, so it gets the map pushed (the file written first when it lags).

The database gone: routes stay as HAProxy has them (frozen) and the syncer retries with backoff.
HAProxy gone: the file keeps being written; once its socket answers again, a full replace.

Ordering: no full replace drops a newer route
---------------------------------------------
HAProxy's `commit map @<ver>` purges every older version of the map, including entries added to
the current version after `prepare map`: an incremental add made while a full replace is being
pushed would be lost at its commit, until the next notification or full replace
(tests/frontproxy/test_syncer.py::test_haproxy_drops_an_add_made_between_prepare_and_commit).
The syncer never does that: one thread, one runtime API connection, one command at a time, and
notifications are read only between steps. So for a route R committed at time t:

* R's snapshot read (the full replace's `routes_all`, or `apply`'s `routes_touching`) that first
  sees it happens after t, and its NOTIFY is delivered only after t (PostgreSQL delivers a
  notification once its transaction is visible to new snapshots);
* a full replace whose snapshot predates t therefore has R's notification still queued on the
  LISTEN connection when it commits; the notification is applied after the commit, so R is added
  then (and the file is marked dirty);
* a full replace whose snapshot follows an `apply` of R contains R (the snapshot is later, the
  row committed), so its commit keeps it;
* the map file pushed without a fresh snapshot (HAProxy back, a new worker) is pushed only when
  no `apply` happened since it was written (`_file_dirty`), so it holds every applied change;
* a reload (`sync_backends`) writes the map file first, closes the connection to the old worker
  and pushes into the new one before reading further notifications.

Tested with a row committed while a full replace is being pushed (after its snapshot, between
`prepare` and `commit`): routed within a second of the commit from its notification, and kept by
the next full replace (test_a_route_committed_during_a_full_replace_is_routed_after_it_and_stays).
A 403 seen once in the sharded stack about a second after a workspace turned Ready is therefore
not this ordering. Causes that fit: the stack declared ready while the syncer process was still
starting (HAProxy served the `--once` file; a workspace made Ready before the syncer's LISTEN
was routed only by its first full replace, seconds later: kcpsite.sharded now waits for
`syncer.synced`); a HAProxy worker started from a lagging map file (a restart) before step 5
existed, noticed only at the syncer's next command or full replace (up to a minute); or a 403
from the shard itself (the proxy's own says "this workspace does not exist or you may not access
it"). Not the directory lagging the Workspace: the entry turns Ready before the Workspace does
(its write commits on its own, inside the Workspace's still open transaction).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.db import DatabaseError

from shards.models import SHARDS_CHANNEL

from .backends import BackendsError, proxy_config_refresh, proxy_config_stale, proxy_reload
from .config import ProxyFiles
from .files import write_atomic
from .routes import map_line, route_entries, route_key_valid
from .runtime import RuntimeAPI, RuntimeAPIError, worker_now
from .selectors import close_database, listen_connection, routes_all, routes_touching, shard_backends

log = logging.getLogger(__name__)

RESYNC_EVERY = 60.0
#: After the first notification, further ones arriving within this window join its batch.
BATCH_WINDOW = 0.005
BATCH_MAX = 5000
RETRY_MIN, RETRY_MAX = 0.5, 5.0
#: The map file is rewritten after changes no sooner than this, or twice the last rewrite's time.
FILE_MIN_INTERVAL = 0.5
#: While HAProxy's socket does not answer, it is tried again this often.
HAPROXY_RETRY = 1.0
#: This often a new runtime API connection asks which worker answers: a restarted or reloaded
#: HAProxy started from the map file, which may lack the last changes; it gets the map pushed.
PROBE_EVERY = 1.0
#: After the configuration could not follow the shard records (HAProxy down, a refused
#: configuration), it is tried again this often.
BACKENDS_RETRY = 5.0


@dataclass
class SyncStats:
    """What the syncer did, for tests and logs."""

    full_replaces: int = 0
    reloads: int = 0
    entries: int = 0
    changes: int = 0
    file_writes: int = 0
    last_error: str = ""
    errors: list[str] = field(default_factory=list)


class RouteSyncer:
    def __init__(self, files: ProxyFiles, *, resync_every: float = RESYNC_EVERY, haproxy: str | None = None) -> None:
        self.files = files
        self.resync_every = resync_every
        self.haproxy_bin = haproxy  # checks a regenerated configuration (`haproxy -c`)
        self.haproxy = RuntimeAPI(files.socket)
        self.stats = SyncStats()
        self._listen: psycopg.Connection | None = None
        self._haproxy_synced = False
        self._next_push = 0.0
        self._next_resync = 0.0
        self._file_dirty = False
        self._file_due = 0.0
        self._file_cost = 0.0
        self._backends_due = 0.0
        self._backends_error = ""
        self._next_probe = 0.0
        self._worker_pid: int | None = None

    @property
    def map_file(self) -> Path:
        return self.files.routes_map

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Sync until `stop` is set (forever without one)."""
        stop = stop or threading.Event()
        delay = RETRY_MIN
        while not stop.is_set():
            try:
                self.step(stop)
                delay = RETRY_MIN
            except (psycopg.Error, DatabaseError) as e:
                self._database_lost(e)
                stop.wait(delay)
                delay = min(RETRY_MAX, delay * 2)
        self.close()

    def step(self, stop: threading.Event | None = None) -> None:
        """One turn: (re)connect, a full replace when due (or a push of the file while HAProxy
        was unreachable), one batch of notifications (waiting up to the next due time), the map
        file when due."""
        if self._listen is None:
            self._listen = listen_connection()
            self._next_resync = 0.0  # notifications may have been missed meanwhile
        now = time.monotonic()
        if now >= self._next_resync:
            self._backends_due = 0.0  # a missed shard notification heals with the routes
        if now >= self._backends_due:
            self.sync_backends()
            now = time.monotonic()
        if now >= self._next_resync:
            self.full_replace()
        elif not self._haproxy_synced and now >= self._next_push:
            if self._file_dirty:
                self.write_map_file()
            self.push_map_file()
        elif now >= self._next_probe:
            self.probe_worker()
        now = time.monotonic()
        wait = min(self._next_resync, self._backends_due, self._next_probe) - now
        if self._file_dirty:
            wait = min(wait, self._file_due - now)
        if not self._haproxy_synced:
            wait = min(wait, self._next_push - now)
        if stop is not None:
            wait = min(wait, 0.5)
        self.apply(self._notifications(max(0.0, wait)))
        if self._file_dirty and time.monotonic() >= self._file_due:
            self.write_map_file()

    def close(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None
        self.haproxy.close()
        close_database()

    def _database_lost(self, error: Exception) -> None:
        self._record(f"database: {error}")
        if self._listen is not None:
            try:
                self._listen.close()
            except psycopg.Error:
                pass
            self._listen = None
        close_database()

    def _record(self, message: str) -> None:
        log.warning("route syncer: %s", message)
        self.stats.last_error = message
        self.stats.errors = [*self.stats.errors[-20:], message]

    # ---- the steps -----------------------------------------------------------------------------
    def full_replace(self) -> None:
        """The map file from one snapshot of the directory, then HAProxy's map from the file."""
        self.write_map_file()
        self._next_resync = time.monotonic() + self.resync_every
        self.push_map_file()

    def push_map_file(self) -> None:
        """Replace HAProxy's map with the map file's entries (atomically for requests)."""
        began = time.monotonic()
        try:
            self._worker_pid = self.haproxy.worker().pid
            count = self.haproxy.map_replace(self.map_file, self._file_entries())
            self.haproxy.map_clear(self.files.gone_map)  # the new map lacks what was gone
        except RuntimeAPIError as e:
            if self._haproxy_synced or not self.stats.last_error.startswith("haproxy"):
                self._record(f"haproxy: {e}")
            self._haproxy_synced = False
            self._next_push = time.monotonic() + HAPROXY_RETRY
            return
        self._haproxy_synced = True
        self.stats.full_replaces += 1
        self.stats.entries = count
        write_atomic(self.files.synced, [f"{count}\n"])
        log.info("route syncer: %d map entries replaced in %.2fs", count, time.monotonic() - began)

    def probe_worker(self) -> None:
        """Whether the worker answering new connections is the one the map was pushed to; if not
        (HAProxy restarted, or reloaded by someone else), push again on a new connection."""
        self._next_probe = time.monotonic() + PROBE_EVERY
        try:
            pid: int | None = worker_now(self.files.socket).pid
        except RuntimeAPIError:
            pid = None
        if pid is None or pid != self._worker_pid:
            if self._haproxy_synced:
                log.info("route syncer: HAProxy worker %s answers now (was %s): the map again", pid, self._worker_pid)
            self._resync_haproxy()

    def _resync_haproxy(self) -> None:
        self.haproxy.close()  # an old worker would keep this connection, and live on for it
        self._haproxy_synced = False
        self._next_push = time.monotonic()

    def sync_backends(self) -> None:
        """Make the running HAProxy follow the shard records (frontproxy.backends): the files
        regenerated when the records changed, the map file written, a graceful reload, then the
        map pushed into the new worker. Notifications that arrive meanwhile wait on the LISTEN
        connection and are applied after that push."""
        self._backends_due = float("inf")  # until a shard notification or the next full replace
        try:
            changed = proxy_config_refresh(files=self.files, shards=shard_backends(), haproxy=self.haproxy_bin)
            if not changed and not proxy_config_stale(files=self.files):
                self._backends_error = ""
                return
            if self._file_dirty:
                self.write_map_file()  # the new worker starts from the current routes
            self._resync_haproxy()
            proxy_reload(files=self.files)
        except (BackendsError, OSError) as e:  # OSError: RuntimeAPIError, or a file not written
            message = f"backends: {e}"
            if message != self._backends_error:
                self._record(message)
                self._backends_error = message
            self._backends_due = time.monotonic() + BACKENDS_RETRY
            return
        self._backends_error = ""
        self.stats.reloads += 1

    def write_map_file(self) -> int:
        """Rewrite the map file from the directory (atomically); the number of entries."""
        began = time.monotonic()
        count = write_atomic(self.map_file, (map_line(k, v) for k, v in route_entries(routes_all())))
        self._file_cost = time.monotonic() - began
        self._file_dirty = False
        self.stats.file_writes += 1
        return count

    def _file_entries(self) -> Iterator[tuple[str, str]]:
        with open(self.map_file, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition(" ")
                yield key, value

    def apply(self, changed: tuple[set[str], set[str]]) -> None:
        """Bring the keys of the changed names and paths to what the directory says now."""
        names, paths = changed
        if not names and not paths:
            return
        routes = routes_touching(names=names, paths=paths)
        wanted: dict[str, str | None] = {k: None for k in names | paths if route_key_valid(k)}
        for route in routes:
            if route.valid:
                for key in route.keys:
                    wanted[key] = route.value
        self._file_dirty = True
        self._file_due = time.monotonic() + max(FILE_MIN_INTERVAL, 2 * self._file_cost)
        self.stats.changes += len(wanted)
        if not self._haproxy_synced:
            return  # the full replace when HAProxy is back covers these
        gone = self.files.gone_map
        try:
            for key, value in wanted.items():
                if value is None:
                    # Unrouted through the small gone map (`del map` walks the big one).
                    if self.haproxy.map_get(self.map_file, key) is not None and self.haproxy.map_get(gone, key) is None:
                        self.haproxy.map_add(gone, key, "1")
                else:
                    if self.haproxy.map_get(gone, key) is not None:
                        self.haproxy.map_del(gone, key)
                    self.haproxy.map_upsert(self.map_file, key, value)
        except RuntimeAPIError as e:
            self._record(f"haproxy: {e}")
            self._haproxy_synced = False
            self._next_push = time.monotonic()

    def _notifications(self, wait: float) -> tuple[set[str], set[str]]:
        """The names and paths of one batch of notifications (empty after `wait` seconds of none)."""
        assert self._listen is not None
        names: set[str] = set()
        paths: set[str] = set()
        timeout = wait
        count = 0
        for notify in self._listen.notifies(timeout=timeout, stop_after=1):
            count += self._note(notify.channel, notify.payload, names, paths)
        if count:
            for notify in self._listen.notifies(timeout=BATCH_WINDOW, stop_after=BATCH_MAX):
                count += self._note(notify.channel, notify.payload, names, paths)
        return names, paths

    def _note(self, channel: str, payload: str, names: set[str], paths: set[str]) -> int:
        if channel == SHARDS_CHANNEL:
            self._backends_due = 0.0  # a shard added, removed or moved: the configuration follows
            return 1
        try:
            row = json.loads(payload)
            name, path = str(row.get("name") or ""), str(row.get("path") or "")
        except (ValueError, AttributeError):
            self._next_resync = 0.0  # not ours to understand: heal with a full replace
            return 1
        if name:
            names.add(name)
        if path:
            paths.add(path)
        return 1

