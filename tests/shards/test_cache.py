"""The cache of what crosses shards (shards.cache): PostgreSQL logical replication, with row
filters, from the shard's database into the global one, and its first consumers.

Real replication throughout: the suite's shard database (`default`) publishes, the suite's global
database subscribes (one server, two databases: the slot is made first, the subscription does not
make its own). The consumer test adds a second shard database (`<name>_peer`, migrated as a
shard's), where root lives; the suite's database then plays a shard without root.

Replication sees committed writes only, so every test here commits (transactional_db)."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError, connections

from tests.conftest import Api, _server_conninfo
from tests.factories import EXPORTS, RBAC, SCHEMAS, WS, apiexport_body, cowboy_schema, export_resource
from tests.workspaces.test_pull import as_shard

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

TYPES = "/apis/tenancy.kcp.io/v1alpha1/workspacetypes"
SLICES = "/apis/apis.kcp.io/v1alpha1/apiexportendpointslices"
TENANCY = "tenancy.kcp.io"
RBAC_GROUP = "rbac.authorization.k8s.io"
#: The brief's bound on how soon a committed change is in the cache.
WITHIN = 2.0


# --- set-up ---------------------------------------------------------------------------------------


def _database(alias: str = "default") -> str:
    return str(connections[alias].settings_dict["NAME"])


def _admin() -> psycopg.Connection[Any]:
    from django.conf import settings

    return psycopg.connect(_server_conninfo(settings.DATABASES["default"]), autocommit=True)


def _close_default() -> None:
    conn = connections["default"]
    conn.close()
    conn.close_pool()


@contextlib.contextmanager
def on_database(name: str) -> Iterator[None]:
    """Run the block with the `default` alias (the shard's database) pointing at database `name`:
    the code under test reads and writes there as it would on that shard."""
    conn = connections["default"]
    before = conn.settings_dict["NAME"]
    _close_default()
    conn.settings_dict["NAME"] = name
    try:
        yield
    finally:
        _close_default()
        conn.settings_dict["NAME"] = before


def _create_shard_database(name: str) -> None:
    """A new, empty shard database: created, and migrated as a shard's is (the global models and
    migrations stay in the suite's global database: the router)."""
    from django.core.management import call_command

    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    with on_database(name):
        call_command("migrate", database="default", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def peer(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Replication of the suite's shard database into the cache, and a second shard database (the
    peer, its name returned) with nothing replicated yet. Set up once for the module, torn down
    after it."""
    from tests.conftest import drop_cache_replication

    with django_db_blocker.unblock():
        from shards.cache.replication import cache_install, cache_uninstall

        peer_name = f"{_database()}_peer"
        _create_shard_database(peer_name)
        report = cache_install()
        assert report.subscription and not report.skipped, report
        try:
            _wait(lambda: _state() == "streaming", 20, "the local subscription streams")
            yield peer_name
        finally:
            cache_uninstall()
            with on_database(peer_name), as_shard(PEER_SHARD):
                cache_uninstall()
            with _admin() as admin:
                drop_cache_replication(admin.info.dsn, [peer_name])
                admin.execute(f'DROP DATABASE IF EXISTS "{peer_name}" WITH (FORCE)')


#: The peer holds root, so it is the shard named root (kcpsite.bootstrap.holds_root).
PEER_SHARD = "root"


def _state(subscription: str | None = None) -> str:
    from shards.cache.selectors import cache_health

    health = cache_health()
    wanted = subscription or health.local_subscription
    return next((s.state for s in health.subscriptions if s.subscription == wanted), "missing")


def _wait(check: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll `check` until it is truthy; the seconds it took. Fails after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def cached(table: str, cluster: str, name: str, resource: str | None = None) -> tuple[int, dict[str, Any]] | None:
    """(resourceVersion, body) of a row of the cache (the global database's copy), or None."""
    sql = f"SELECT resource_version, body FROM public.{table} WHERE cluster = %s AND name = %s"
    params: list[Any] = [cluster, name]
    if resource:
        sql += " AND resource = %s"
        params.append(resource)
    with connections["global"].cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return (int(row[0]), json.loads(row[1]) if isinstance(row[1], str) else row[1]) if row else None


def arrives(table: str, cluster: str, name: str, rv: int, resource: str | None = None) -> float:
    """Seconds until the cache holds `name` at resourceVersion `rv` (at most WITHIN)."""
    return _wait(
        lambda: (c := cached(table, cluster, name, resource)) is not None and c[0] == rv,
        WITHIN,
        f"{table} {cluster}/{name}@{rv} in the cache",
    )


def leaves(table: str, cluster: str, name: str, resource: str | None = None) -> float:
    return _wait(lambda: cached(table, cluster, name, resource) is None, WITHIN, f"{table} {cluster}/{name} gone")


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def marked(cluster: str, resource: str, name: str) -> bool:
    from kube.models import StoredObject

    return bool(
        StoredObject.objects.filter(cluster=cluster, group=RBAC_GROUP, resource=resource, name=name)
        .values_list("replicate", flat=True)
        .get()
    )


@pytest.fixture(autouse=True)
def empty_cache(transactional_db: None) -> None:
    """Each test starts with an empty cache: the suite empties the shard's tables after each test
    with TRUNCATE, which is deliberately not replicated (one shard's TRUNCATE would empty every
    shard's rows), so the rows of earlier tests stay in the cache. Past the read-only trigger as
    replication is."""
    from shards.cache.spec import TABLES

    with connections["global"].cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL session_replication_role = replica")
        for t in TABLES:
            cur.execute(f"DELETE FROM public.{t.table}")
        cur.execute("COMMIT")


# --- replication ----------------------------------------------------------------------------------


def test_types_schemas_exports_and_slices_reach_the_cache_change_there_and_leave_it(peer: str, api: Api) -> None:
    from shards.cache.selectors import cache_objects

    created = api.post(TYPES, {"metadata": {"name": "cached"}, "spec": {}})
    assert created.status_code == 201, created.content
    took = arrives("tenancy_workspacetype", "root", "cached", rv(created.json()))
    assert took < WITHIN
    assert api.post(SCHEMAS, cowboy_schema()).status_code == 201
    schema = api.get(f"{SCHEMAS}/v1.cowboys.wildwest.example.com").json()
    arrives("apis_apiresourceschema", "root", "v1.cowboys.wildwest.example.com", rv(schema))
    cowboys = export_resource(group="wildwest.example.com", plural="cowboys", schema="v1.cowboys.wildwest.example.com")
    assert api.post(EXPORTS, apiexport_body(name="wildwest", resources=[cowboys])).status_code == 201
    from apis.services import apiexport_reconcile

    identity = apiexport_reconcile(cluster="root", name="wildwest")
    export = api.get(f"{EXPORTS}/wildwest").json()
    arrives("apis_apiexport", "root", "wildwest", rv(export))
    with connections["global"].cursor() as cur:  # the promoted columns travel too
        cur.execute("SELECT identity_hash FROM public.apis_apiexport WHERE cluster = 'root' AND name = 'wildwest'")
        assert cur.fetchone() == (identity,) and identity
    endpoint_slice = api.get(f"{SLICES}/wildwest").json()
    arrives("apis_apiexportendpointslice", "root", "wildwest", rv(endpoint_slice))

    # Another shard's view of root (the directory places root on this one, "root"): the cache.
    with as_shard("shard-b"):
        names = [o["metadata"]["name"] for o in cache_objects(cluster="root", group=TENANCY, resource="workspacetypes")]
        assert "cached" in names and "universal" in names
        exports = cache_objects(cluster="root", group="apis.kcp.io", resource="apiexports")
        assert [e["metadata"]["name"] for e in exports] == ["wildwest"]
    # Never for the shard that holds the cluster, nor for a cluster the directory does not know.
    assert cache_objects(cluster="root", group=TENANCY, resource="workspacetypes") == []
    with as_shard("shard-b"):
        assert cache_objects(cluster="no-such-cluster", group=TENANCY, resource="workspacetypes") == []

    default_child = {"defaultChildWorkspaceType": {"name": "universal", "path": "root"}}
    changed = api.patch(f"{TYPES}/cached", {"spec": default_child})
    assert changed.status_code == 200, changed.content
    arrives("tenancy_workspacetype", "root", "cached", rv(changed.json()))
    body = cached("tenancy_workspacetype", "root", "cached")
    assert body is not None and body[1]["spec"]["defaultChildWorkspaceType"]["name"] == "universal"

    assert api.delete(f"{TYPES}/cached").status_code == 200
    leaves("tenancy_workspacetype", "root", "cached")
    assert api.delete(f"{EXPORTS}/wildwest").status_code == 200
    leaves("apis_apiexport", "root", "wildwest")
    assert api.delete(f"{SCHEMAS}/v1.cowboys.wildwest.example.com").status_code == 200
    leaves("apis_apiresourceschema", "root", "v1.cowboys.wildwest.example.com")


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "rules": rules}


def _binding(name: str, role: str, group: str = "system:authenticated") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
    }


USE_TYPES = {"apiGroups": [TENANCY], "resources": ["workspacetypes"], "verbs": ["use"], "resourceNames": ["team"]}
READ_CONFIGMAPS = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}


def test_rbac_travels_only_while_marked(peer: str, api: Api) -> None:
    roles, bindings = f"{RBAC}/clusterroles", f"{RBAC}/clusterrolebindings"
    assert api.post(roles, _role("configmap-reader", [READ_CONFIGMAPS])).status_code == 201
    assert api.post(bindings, _binding("configmap-readers", "configmap-reader")).status_code == 201
    user_role = api.post(roles, _role("team-user", [USE_TYPES]))
    assert user_role.status_code == 201
    users = api.post(bindings, _binding("team-users", "team-user"))
    assert users.status_code == 201
    admins = api.post(bindings, _binding("root-admins", "cluster-admin", group="root-admins"))  # a default role
    assert admins.status_code == 201
    # Marked in the writes' transactions: the role granting `use`, its binding, a binding of
    # cluster-admin (`*` grants `use` too); never the others.
    assert marked("root", "clusterroles", "team-user") and marked("root", "clusterrolebindings", "team-users")
    assert marked("root", "clusterrolebindings", "root-admins")
    assert not marked("root", "clusterroles", "configmap-reader")
    assert not marked("root", "clusterrolebindings", "configmap-readers")
    arrives("kube_object", "root", "team-user", rv(user_role.json()), "clusterroles")
    arrives("kube_object", "root", "team-users", rv(users.json()), "clusterrolebindings")
    arrives("kube_object", "root", "root-admins", rv(admins.json()), "clusterrolebindings")
    # Replication keeps commit order: what was committed before these and is not here never comes.
    assert cached("kube_object", "root", "configmap-reader") is None
    assert cached("kube_object", "root", "configmap-readers") is None

    # The role stops granting `use`: it and its binding lose the mark and leave the cache.
    demoted = api.patch(f"{roles}/team-user", {"rules": [READ_CONFIGMAPS]})
    assert demoted.status_code == 200, demoted.content
    assert not marked("root", "clusterroles", "team-user") and not marked("root", "clusterrolebindings", "team-users")
    leaves("kube_object", "root", "team-user", "clusterroles")
    leaves("kube_object", "root", "team-users", "clusterrolebindings")
    # And back: both return, as they are now.
    promoted = api.patch(f"{roles}/team-user", {"rules": [USE_TYPES]})
    assert promoted.status_code == 200
    arrives("kube_object", "root", "team-user", rv(promoted.json()), "clusterroles")
    arrives("kube_object", "root", "team-users", rv(users.json()), "clusterrolebindings")
    # A role that reaches `use` by aggregation is marked as well (its aggregated rules count).
    aggregate = {
        "metadata": {"name": "team-aggregate"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/team": "true"}}]},
    }
    assert api.post(roles, aggregate).status_code == 201
    labelled = {"metadata": {"name": "team-part", "labels": {"example.com/team": "true"}}, "rules": [USE_TYPES]}
    assert api.post(roles, labelled).status_code == 201
    assert marked("root", "clusterroles", "team-aggregate") and marked("root", "clusterroles", "team-part")
    # Deleting removes it.
    assert api.delete(f"{bindings}/team-users").status_code == 200
    leaves("kube_object", "root", "team-users", "clusterrolebindings")


def test_the_cache_is_read_only_for_the_shards(peer: str, api: Api) -> None:
    """Not "tampering is reverted": the shards cannot tamper. Every write to a cache table by an
    ordinary session — the suite's, a superuser — is refused; only replication writes there."""
    from shards.cache.spec import TABLES

    arrives("tenancy_workspacetype", "root", "universal", rv(api.get(f"{TYPES}/universal").json()))
    statements = [
        "INSERT INTO public.{t} (cluster, \"group\", resource, namespace, name, resource_version, body) "
        "VALUES ('forged', 'x', 'y', '', 'z', 1, '{{}}')",
        "UPDATE public.{t} SET body = '{{}}'",
        "DELETE FROM public.{t}",
        "TRUNCATE public.{t}",
    ]
    for table in TABLES:
        for statement in statements:
            with pytest.raises(ProgrammingError, match="written by replication only"):
                with connections["global"].cursor() as cur:
                    cur.execute(statement.format(t=table.table))
    assert cached("tenancy_workspacetype", "root", "universal") is not None


def test_a_leftover_cache_row_does_not_stop_replication(peer: str, api: Api) -> None:
    """A row of the same key already in the cache (a resubscription after a lost slot, a shard
    restored from a backup) is replaced by the incoming one; without that the insert would fail in
    the apply worker, which would retry it forever and replicate nothing more from this shard."""
    from shards.cache.selectors import cache_health

    with connections["global"].cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            "INSERT INTO public.tenancy_workspacetype (cluster, \"group\", resource, namespace, name, "
            "resource_version, body) VALUES ('root', 'tenancy.kcp.io', 'workspacetypes', '', 'stale', 1, '{}')"
        )
        cur.execute("COMMIT")
    created = api.post(TYPES, {"metadata": {"name": "stale"}, "spec": {}})
    assert created.status_code == 201
    arrives("tenancy_workspacetype", "root", "stale", rv(created.json()))
    after = api.post(TYPES, {"metadata": {"name": "after-stale"}, "spec": {}})
    arrives("tenancy_workspacetype", "root", "after-stale", rv(after.json()))
    health = cache_health()
    (mine,) = [s for s in health.subscriptions if s.subscription == health.local_subscription]
    assert mine.state == "streaming" and mine.apply_errors == 0


def test_a_shard_never_answers_its_own_clusters_from_the_cache(peer: str, api: Api) -> None:
    """With replication paused the cache is stale; the shard holding root still answers from its
    own rows (types, the `use` check), and the cache refuses to answer for it anyway."""
    from kube import errors
    from kube.authz.user import UserInfo
    from shards.cache.replication import cache_subscription_set_enabled
    from shards.cache.selectors import cache_objects
    from workspaces.admission import workspace_type_use_check, workspace_types

    use = rv(api.get(f"{RBAC}/clusterrolebindings/system:kcp:authenticated:workspacetype-use").json())
    arrives("kube_object", "root", "system:kcp:authenticated:workspacetype-use", use, "clusterrolebindings")
    alice = UserInfo(name="alice", groups=("system:authenticated",))
    workspace_type_use_check(user=alice, type_name="team")
    cache_subscription_set_enabled(enabled=False)
    try:
        _wait(lambda: _state() == "disabled", 5, "the subscription is disabled")
        assert api.post(TYPES, {"metadata": {"name": "local-only"}, "spec": {}}).status_code == 201
        assert api.delete(f"{RBAC}/clusterrolebindings/system:kcp:authenticated:workspacetype-use").status_code == 200
        assert "local-only" in workspace_types()
        with pytest.raises(errors.Forbidden):
            workspace_type_use_check(user=alice, type_name="team")
        # the cache still has the old state, and is not asked
        assert cached("kube_object", "root", "system:kcp:authenticated:workspacetype-use") is not None
        assert cached("tenancy_workspacetype", "root", "local-only") is None
        assert cache_objects(cluster="root", group=TENANCY, resource="workspacetypes") == []
    finally:
        cache_subscription_set_enabled(enabled=True)
    _wait(lambda: _state() == "streaming", 10, "the subscription streams again")
    leaves("kube_object", "root", "system:kcp:authenticated:workspacetype-use", "clusterrolebindings")


def test_an_outage_of_the_cache_stops_nothing_and_the_cache_converges(peer: str, api: Api) -> None:
    """Replication stopped (the subscription disabled: what the cache sees of a dead global
    database or a cut link): the shard keeps serving and writing, its slot keeps the WAL; resumed,
    the cache catches up to exactly the rows the shard publishes (counts and checksums)."""
    from shards.cache.replication import cache_subscription_set_enabled
    from shards.cache.selectors import cache_compare, cache_health

    roles = f"{RBAC}/clusterroles"
    cache_subscription_set_enabled(enabled=False)
    try:
        _wait(lambda: _state() == "disabled", 5, "the subscription is disabled")
        for i in range(20):
            assert api.post(TYPES, {"metadata": {"name": f"t{i}"}, "spec": {}}).status_code == 201
        for i in range(0, 20, 3):
            assert api.patch(f"{TYPES}/t{i}", {"metadata": {"labels": {"n": str(i)}}}).status_code == 200
        for i in range(1, 20, 4):
            assert api.delete(f"{TYPES}/t{i}").status_code == 200
        assert api.post(roles, _role("outage-user", [USE_TYPES])).status_code == 201
        assert api.post(f"{RBAC}/clusterrolebindings", _binding("outage-users", "outage-user")).status_code == 201
        assert api.get(f"{TYPES}/t0").status_code == 200  # reads serve as ever
        assert cached("tenancy_workspacetype", "root", "t0") is None
        local = cache_health().local_slot
        assert local is not None and local.exists and local.lag_bytes and local.lag_bytes > 0
        shard, cache = cache_compare(clusters=["root"])["tenancy_workspacetype"]
        assert shard != cache
    finally:
        cache_subscription_set_enabled(enabled=True)
    took = _wait(lambda: all(s == c for s, c in cache_compare(clusters=["root"]).values()), 10, "the cache converges")
    result = cache_compare(clusters=["root"])
    assert result["tenancy_workspacetype"][0][0] == 4 + 20 - 5  # the built-in types and what is left of t*
    assert result["kube_object"][0][0] > 0
    print(f"converged {took:.2f} s after replication resumed")


def test_health_reports_each_subscription_and_install_is_idempotent(peer: str, api: Api) -> None:
    from kube.authz.replication import rbac_marks_forget
    from shards.cache.replication import cache_install
    from shards.cache.selectors import cache_health

    report = cache_install()
    assert report.steps == [], report.steps  # nothing to change
    # A start without a cache (marks not kept meanwhile) makes the next install recompute them.
    rbac_marks_forget()
    assert [s for s in cache_install().steps if s.startswith("replication marks recomputed")]
    assert cache_install().steps == []
    health = cache_health()
    (mine,) = [s for s in health.subscriptions if s.subscription == health.local_subscription]
    assert mine.state == "streaming" and mine.worker_pid and mine.tables_not_ready == 0 and mine.apply_errors == 0
    assert health.local_slot is not None and health.local_slot.active and health.local_slot.wal_status != "lost"
    assert health.local_slot.lag_bytes is not None


# --- consumers: a shard without root ----------------------------------------------------------------


def test_a_shard_without_root_types_workspaces_and_checks_use_from_the_cache(peer: str, client: Any) -> None:
    """Root lives on the peer shard (its own database, the shard named root). The suite's
    database plays shard-b, which holds a workspace `root:org` (placed there through the
    directory) and no root: creating a workspace in org is typed by root's types from the cache,
    its parent's type comes from the directory (org's Workspace is in root, on the peer), and
    `use` is checked against root's replicated RBAC — allowed for the built-in types every
    authenticated user may use, refused for one nobody was granted; the new workspace is placed
    and made Ready on shard-b."""
    from kcpsite.bootstrap import bootstrap_root
    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from shards.cache.replication import cache_install, cache_uninstall
    from workspaces.kinds import WORKSPACE_TYPES

    # The suite's database stops replicating under the name root (it is shard-b here); the peer,
    # the shard named root, replicates from now on.
    cache_uninstall(publication=False)
    try:
        with on_database(peer), as_shard(PEER_SHARD):
            bootstrap_root()
            root = RequestContext(cluster="root")
            STORE.create(WORKSPACE_TYPES, root, "", {"metadata": {"name": "vip"}, "spec": {}})
            # a type with an initializer of its own, and who may finish it: ivan
            STORE.create(WORKSPACE_TYPES, root, "", {"metadata": {"name": "gated"}, "spec": {"initializer": True}})
            finisher = {"apiGroups": [TENANCY], "resources": ["workspacetypes"], "verbs": ["initialize"],
                         "resourceNames": ["gated"]}
            roles, bindings = (REGISTRY.resolve(cluster="root", group=RBAC_GROUP, version="v1", resource=r)
                               for r in ("clusterroles", "clusterrolebindings"))
            assert roles is not None and bindings is not None
            STORE.create(roles, root, "", _role("gated-initializer", [finisher]))
            STORE.create(bindings, root, "", _user_binding("gated-initializers", "gated-initializer", "ivan"))
            report = cache_install()
            assert report.subscription and not report.skipped
        _wait(lambda: _state(report.subscription) == "streaming", 20, "the peer's subscription streams")
        _typed_from_the_cache(client)
        _initialized_from_the_cache()
    finally:
        with on_database(peer), as_shard(PEER_SHARD):
            cache_uninstall()
        cache_install()  # the suite's database replicates again


def _user_binding(name: str, role: str, user: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}],
    }


def _initialized_from_the_cache() -> None:
    """An initializer finishing on shard-b (removing itself from a LogicalCluster's
    status.initializers) needs `initialize` on its type in root: root's replicated RBAC."""
    from kube import errors
    from kube.authz.user import UserInfo
    from kube.registry.store import STORE
    from shards.directory import directory_place
    from workspaces.admission import logicalcluster_admit_change
    from workspaces.kinds import LOGICAL_CLUSTERS
    from workspaces.logicalclusters import logicalclusters_pull

    _wait(lambda: cached("kube_object", "root", "gated-initializers") is not None, WITHIN, "ivan's grant cached")
    name = uuid.uuid4().hex[:16]
    with as_shard("shard-b"):
        directory_place(name=name, path="root:gated", parent="root", workspace="gated", owner_uid=str(uuid.uuid4()),
                        shard="shard-b", type="root:gated", spec={"initializers": ["root:gated"]})
        assert logicalclusters_pull() == 1
        old = STORE.lookup(LOGICAL_CLUSTERS, cluster=name, name="cluster")
        assert old is not None and old["status"]["initializers"] == ["root:gated"]
        new = {**old, "status": {**old["status"], "initializers": []}}
        ivan, mallory = (UserInfo(name=n, groups=("system:authenticated",)) for n in ("ivan", "mallory"))
        logicalcluster_admit_change(user=ivan, new=new, old=old)
        with pytest.raises(errors.Forbidden):
            logicalcluster_admit_change(user=mallory, new=new, old=old)


def _typed_from_the_cache(client: Any) -> None:
    from kube.authz.tokens import token_issue
    from kube.storage.backend import ensure_revision_row
    from shards.directory import directory_get, directory_place
    from shards.services import shard_heartbeat, shard_register_self
    from workspaces.admission import workspace_types
    from workspaces.logicalclusters import logicalclusters_pull
    from workspaces.services import workspace_reconcile

    _wait(lambda: cached("tenancy_workspacetype", "root", "vip") is not None, WITHIN, "root's types in the cache")
    _wait(lambda: cached("kube_object", "root", "system:kcp:tenancy:authenticated:access") is not None, WITHIN,
          "root's replicated RBAC in the cache")

    org = uuid.uuid4().hex[:16]
    ensure_revision_row()  # this shard's storage, which holds no root (bootstrap_root is the peer's)
    with as_shard("shard-b"):
        shard_register_self(name="shard-b", base_url="https://shard-b.example", labels={"name": "shard-b"})
        shard_heartbeat(name="shard-b")
        owner = json.dumps({"username": "alice", "uid": "alice", "groups": ["system:authenticated"]})
        directory_place(
            name=org, path="root:org", parent="root", workspace="org", owner_uid=str(uuid.uuid4()),
            shard="shard-b", type="root:organization", spec={"initializers": ["root:universal"], "owner": owner},
        )
        assert logicalclusters_pull() == 1  # org is made here; alice is its cluster-admin
        assert {"root", "universal", "organization", "team", "vip"} <= set(workspace_types())  # from the cache
        alice = Api(client, token_issue(user_name="alice", groups=[]), cluster="root:org")
        here = {"selector": {"matchLabels": {"name": "shard-b"}}}
        crew = {"metadata": {"name": "crew"}, "spec": {"type": {"name": "team", "path": "root"}, "location": here}}
        team = alice.post(WS, crew)
        assert team.status_code == 201, team.content
        assert team.json()["spec"]["type"] == {"name": "team", "path": "root"}
        # placed (the shard records are global) and made here, typed from the cache all the way
        assert workspace_reconcile(cluster=org, name="crew") == "Ready"
        ready = alice.get(f"{WS}/crew").json()
        placed = directory_get(name=ready["spec"]["cluster"])
        assert placed is not None
        assert (placed.path, placed.shard, placed.type) == ("root:org:crew", "shard-b", "root:team")
        defaulted = alice.post(WS, {"metadata": {"name": "plain"}})  # org's default child type
        assert defaulted.status_code == 201, defaulted.content
        assert defaulted.json()["spec"]["type"]["name"] == "universal"
        refused = alice.post(WS, {"metadata": {"name": "posh"}, "spec": {"type": {"name": "vip", "path": "root"}}})
        assert refused.status_code == 403, refused.content
        assert 'cannot use resource "workspacetypes"' in refused.json()["message"]
        # organization does not allow an organization below it: the parent's type is org's own,
        # read from the directory (not "universal", which a missing Workspace row would give)
        org_type = {"type": {"name": "organization", "path": "root"}}
        nested = alice.post(WS, {"metadata": {"name": "sub"}, "spec": org_type})
        assert nested.status_code == 422, nested.content
        assert "does not allow parent type root:organization" in nested.json()["message"]
