"""A binding on one shard to an export on another, with real replication.

The peer shard database (tests.shards.test_cache's `peer`) holds root, the shard named root, and
in it the provider's schema and export, `bind` for ivan and `apiexports/content` for paula. The
suite's database plays shard-b: it holds the consumer workspaces (placed through the directory)
and nothing of root. shard-b resolves the export's path through the directory, reads the export
and its schemas from the cache, checks `bind` against root's replicated RBAC, serves the bound
resource from the cached schema, and serves its provider virtual workspace for the consumer it
holds (authorized by root's replicated RBAC) — the last two while root's database refuses every
connection. The consumer's part never opens the peer's database (`default` is the suite's)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import BINDINGS, apibinding_body, apiexport_body, cowboy_schema, export_resource
from tests.factories import COWBOY_GROUP as GROUP
from tests.shards import test_cache
from tests.shards.test_cache import (
    PEER_SHARD,
    RBAC_GROUP,
    WITHIN,
    _admin,
    _state,
    _user_binding,
    _wait,
    arrives,
    cached,
    on_database,
    rv,
)
from tests.workspaces.test_pull import as_shard

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

#: The cache tests' fixtures: the peer shard database, and an empty cache before each test.
peer_fixture, empty_cache_fixture = test_cache.peer, test_cache.empty_cache

SCHEMA = f"v1.cowboys.{GROUP}"
COWBOYS = f"/apis/{GROUP}/v1alpha1/namespaces/default/cowboys"


def _provider_on_peer() -> str:
    """root on the peer: the schema, the export (reconciled to its identity), `bind` for ivan."""
    from apis.kinds import API_EXPORTS, API_RESOURCE_SCHEMAS
    from apis.services import apiexport_reconcile
    from kcpsite.bootstrap import bootstrap_root
    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    bootstrap_root()
    root = RequestContext(cluster="root")
    STORE.create(API_RESOURCE_SCHEMAS, root, "", cowboy_schema())
    cowboys = export_resource(group=GROUP, plural="cowboys", schema=SCHEMA)
    STORE.create(API_EXPORTS, root, "", apiexport_body(name=GROUP, resources=[cowboys]))
    identity = apiexport_reconcile(cluster="root", name=GROUP)
    roles, bindings = (
        REGISTRY.resolve(cluster="root", group=RBAC_GROUP, version="v1", resource=r)
        for r in ("clusterroles", "clusterrolebindings")
    )
    assert roles is not None and bindings is not None
    rule = {"apiGroups": ["apis.kcp.io"], "resources": ["apiexports"], "verbs": ["bind"], "resourceNames": [GROUP]}
    STORE.create(roles, root, "", {"metadata": {"name": "binder"}, "rules": [rule]})
    STORE.create(bindings, root, "", _user_binding("binders", "binder", "ivan"))
    content = {"apiGroups": ["apis.kcp.io"], "resources": ["apiexports/content"], "verbs": ["get", "list", "watch"]}
    STORE.create(roles, root, "", {"metadata": {"name": "viewer"}, "rules": [content]})
    STORE.create(bindings, root, "", _user_binding("viewers", "viewer", "paula"))
    return identity


def _consumer_on_shard_b(client: Any, owner: str) -> tuple[str, Api]:
    """A workspace root:<random> on shard-b, owned (cluster-admin) by `owner`."""
    from kube.authz.tokens import token_issue
    from kube.storage.backend import ensure_revision_row
    from shards.directory import directory_place
    from workspaces.logicalclusters import logicalclusters_pull

    ensure_revision_row()
    name, workspace = uuid.uuid4().hex[:16], f"c{uuid.uuid4().hex[:8]}"
    owner_json = json.dumps({"username": owner, "uid": owner, "groups": ["system:authenticated"]})
    directory_place(
        name=name, path=f"root:{workspace}", parent="root", workspace=workspace, owner_uid=str(uuid.uuid4()),
        shard="shard-b", type="root:universal", spec={"initializers": ["root:universal"], "owner": owner_json},
    )  # fmt: skip
    assert logicalclusters_pull() == 1
    return name, Api(client, token_issue(user_name=owner, groups=[]), cluster=f"root:{workspace}")


def test_a_binding_to_an_export_on_another_shard_is_served_from_the_cache(peer_fixture: str, client: Any) -> None:
    from shards.cache.replication import cache_install, cache_uninstall

    cache_uninstall(publication=False)  # the suite's database is shard-b here, not root
    try:
        with on_database(peer_fixture), as_shard(PEER_SHARD):
            identity = _provider_on_peer()
            report = cache_install()
            assert report.subscription and not report.skipped
        _wait(lambda: _state(report.subscription) == "streaming", 20, "the peer's subscription streams")
        _wait(lambda: cached("apis_apiexport", "root", GROUP) is not None, WITHIN, "the export in the cache")
        _wait(lambda: cached("kube_object", "root", "binders") is not None, WITHIN, "ivan's grant in the cache")
        with as_shard("shard-b"):
            _bound_on_shard_b(client, peer_fixture, identity)
    finally:
        with on_database(peer_fixture), as_shard(PEER_SHARD):
            cache_uninstall()
        cache_install()


def _bound_on_shard_b(client: Any, peer_database: str, identity: str) -> None:
    """ivan binds root's export from shard-b; mallory, without `bind`, is refused; the binding
    stays Bound and its resource served while root's shard is down."""
    from apis.bindings import CACHE, _schema_infos, apibinding_reconcile

    cluster, ivan = _consumer_on_shard_b(client, "ivan")
    _, mallory = _consumer_on_shard_b(client, "mallory")
    refused = mallory.post(BINDINGS, apibinding_body(name="wildwest", path="root", export=GROUP))
    assert refused.status_code == 403, refused.content  # bind checked against root's replicated RBAC
    assert f'no permission to bind to export "root:{GROUP}"' in refused.json()["message"]

    created = ivan.post(BINDINGS, apibinding_body(name="wildwest", path="root", export=GROUP))
    assert created.status_code == 201, created.content
    assert apibinding_reconcile(cluster=cluster, name="wildwest")
    binding = ivan.get(f"{BINDINGS}/wildwest").json()
    assert binding["status"]["phase"] == "Bound", binding["status"]
    assert binding["status"]["apiExportClusterName"] == "root"
    [bound] = binding["status"]["boundResources"]
    assert (bound["resource"], bound["schema"]["name"], bound["schema"]["identityHash"]) == (
        "cowboys",
        SCHEMA,
        identity,
    )
    _slice_lists_shard_b(peer_database)

    # Shard root down (its database refuses every connection): shard-b re-reconciles the
    # binding and serves the bound resource from the cache, with no process memory of it.
    with _down(peer_database):
        _schema_infos.cache_clear()
        CACHE.clear()
        assert apibinding_reconcile(cluster=cluster, name="wildwest")
        assert ivan.get(f"{BINDINGS}/wildwest").json()["status"]["phase"] == "Bound"
        _serves_cowboys(ivan)
        _provider_view_on_shard_b(ivan, cluster)


def _slice_lists_shard_b(peer_database: str) -> None:
    """shard-b's first binding of root's export records shard-b in the global table; root's
    reconcile of the export then lists shard-b's provider virtual workspace after its own."""
    from apis.kinds import API_EXPORT_ENDPOINT_SLICES
    from apis.services import apiexport_reconcile
    from apis.tasks import sync_apiexport_shard
    from kube.registry.store import STORE
    from shards.services import shard_register_self

    shard_register_self(name="shard-b", base_url="https://shard-b.internal:6443",
                        virtual_workspace_url="https://proxy.example:6443/shards/shard-b")  # fmt: skip
    assert sync_apiexport_shard("root", GROUP) is True
    with on_database(peer_database), as_shard(PEER_SHARD):
        apiexport_reconcile(cluster="root", name=GROUP)
        endpoint_slice = STORE.lookup(API_EXPORT_ENDPOINT_SLICES, cluster="root", name=GROUP)
    assert endpoint_slice is not None
    urls = [e["url"] for e in endpoint_slice["status"]["endpoints"]]
    assert len(urls) == 2 and urls[1] == f"https://proxy.example:6443/shards/shard-b/services/apiexport/root/{GROUP}"
    assert urls[0].endswith(f"/services/apiexport/root/{GROUP}") and "shard-b" not in urls[0]


def _serves_cowboys(ivan: Api) -> None:
    ns = ivan.post("/api/v1/namespaces", {"metadata": {"name": "default"}})
    assert ns.status_code in (201, 409), ns.content
    made = ivan.post(COWBOYS, {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Cowboy", "metadata": {"name": "joe"}})
    assert made.status_code == 201, made.content
    assert [c["metadata"]["name"] for c in ivan.get(COWBOYS).json()["items"]] == ["joe"]
    for doc in ("/openapi/v2", "/openapi/v3", f"/openapi/v3/apis/{GROUP}/v1alpha1"):
        got = ivan.get(doc)
        assert got.status_code == 200, (doc, got.status_code, got.content[:300])


def _provider_view_on_shard_b(ivan: Api, cluster: str) -> None:
    """shard-b's provider virtual workspace for root's export: paula (apiexports/content in
    root's replicated RBAC) sees shard-b's consumer, across `*` and by name; ivan is refused."""
    from kube.authz.tokens import token_issue

    def view(token: str, consumer: str, url: str) -> Any:
        client = Api(ivan.client, token)
        client.prefix = f"/services/apiexport/root/{GROUP}/clusters/{consumer}"
        return client.get(url)

    paula = token_issue(user_name="paula", groups=[])
    listed = view(paula, "*", f"/apis/{GROUP}/v1alpha1/cowboys")
    assert listed.status_code == 200, listed.content
    items = listed.json()["items"]
    assert [(c["metadata"]["name"], c["metadata"]["annotations"]["kcp.io/cluster"]) for c in items] == [
        ("joe", cluster)
    ]
    one = view(paula, cluster, f"/apis/{GROUP}/v1alpha1/namespaces/default/cowboys/joe")
    assert one.status_code == 200, one.content
    bindings = view(paula, "*", "/apis/apis.kcp.io/v1alpha2/apibindings")
    assert [b["metadata"]["name"] for b in bindings.json()["items"]] == ["wildwest"], bindings.content
    refused = view(ivan.token, "*", f"/apis/{GROUP}/v1alpha1/cowboys")
    assert refused.status_code == 403, refused.content
    assert '"apiexports/content"' in refused.json()["message"]


@contextlib.contextmanager
def _down(database: str) -> Iterator[None]:
    """The database of a shard unreachable: no new connection, the open ones ended."""
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])
    try:
        yield
    finally:
        with _admin() as admin:
            admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')


# --- what the export's shard decides, seen on the consumer's shard ----------------------------------


def _peer_rbac() -> tuple[Any, Any]:
    from kube.registry import REGISTRY

    roles, bindings = (
        REGISTRY.resolve(cluster="root", group=RBAC_GROUP, version="v1", resource=r)
        for r in ("clusterroles", "clusterrolebindings")
    )
    assert roles is not None and bindings is not None
    return roles, bindings


def _ensure(info: Any, body: dict[str, Any]) -> None:
    """Create `body` in root unless it is there (the module's tests share the peer's database)."""
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    if STORE.lookup(info, cluster="root", name=body["metadata"]["name"]) is None:
        STORE.create(info, RequestContext(cluster="root"), "", body)


def _export_on_peer(name: str, **spec: Any) -> str:
    """root on the peer: the cowboys schema, the export `name` of it (with `spec`), reconciled to
    its identity, and `bind` on every export for ivan."""
    from apis.kinds import API_EXPORTS, API_RESOURCE_SCHEMAS
    from apis.services import apiexport_reconcile
    from kcpsite.bootstrap import bootstrap_root
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    bootstrap_root()
    _ensure(API_RESOURCE_SCHEMAS, cowboy_schema())
    cowboys = export_resource(group=GROUP, plural="cowboys", schema=SCHEMA)
    STORE.create(
        API_EXPORTS, RequestContext(cluster="root"), "", apiexport_body(name=name, resources=[cowboys], **spec)
    )
    roles, bindings = _peer_rbac()
    bind = {"apiGroups": ["apis.kcp.io"], "resources": ["apiexports"], "verbs": ["bind"]}
    _ensure(roles, {"metadata": {"name": "any-binder"}, "rules": [bind]})
    _ensure(bindings, _user_binding("any-binders", "any-binder", "ivan"))
    return apiexport_reconcile(cluster="root", name=name)


@contextlib.contextmanager
def _replicating_from_peer(peer_database: str, setup: Any, *cached_rows: tuple[str, str, str]) -> Iterator[None]:
    """`setup()` run on the peer (root's shard), the peer replicating into the cache, the rows
    `cached_rows` ((table, cluster, name)) arrived; the block runs as shard-b, whose database is
    the suite's (which publishes nothing meanwhile: it is not root's shard here)."""
    from shards.cache.replication import cache_install, cache_uninstall

    cache_uninstall(publication=False)
    try:
        with on_database(peer_database), as_shard(PEER_SHARD):
            setup()
            report = cache_install()
            assert report.subscription and not report.skipped
        _wait(lambda: _state(report.subscription) == "streaming", 20, "the peer's subscription streams")
        for table, cluster, name in cached_rows:
            row = (table, cluster, name)
            _wait(lambda row=row: cached(*row) is not None, WITHIN, f"{table} {cluster}/{name} in the cache")
        with as_shard("shard-b"):
            yield
    finally:
        with on_database(peer_database), as_shard(PEER_SHARD):
            cache_uninstall()
        cache_install()


def _bound(client: Any, export: str) -> tuple[str, Api]:
    """A consumer on shard-b owned by ivan, with the binding `export` of root's export, Bound."""
    from apis.bindings import apibinding_reconcile

    cluster, ivan = _consumer_on_shard_b(client, "ivan")
    created = ivan.post(BINDINGS, apibinding_body(name=export, path="root", export=export))
    assert created.status_code == 201, created.content
    assert apibinding_reconcile(cluster=cluster, name=export) == "Bound"
    ns = ivan.post("/api/v1/namespaces", {"metadata": {"name": "default"}})
    assert ns.status_code in (201, 409), ns.content
    return cluster, ivan


def _cowboy(name: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Cowboy", "metadata": {"name": name}}


def test_the_maximal_permission_policy_of_an_export_on_another_shard_is_its_shards_rbac(
    peer_fixture: str, client: Any
) -> None:
    """root's export `mpp` has a maximal permission policy; root grants `apis.kcp.io:binding:ivan`
    get, list and create on cowboys. On shard-b, ivan (cluster-admin of his workspace) may do
    those and nothing else, refused as kube refuses; when root takes `create` back, shard-b
    refuses it too once the change has crossed."""
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    limit = {"apiGroups": [GROUP], "resources": ["cowboys"], "verbs": ["get", "list", "create"]}

    def provider() -> None:
        _export_on_peer("mpp", maximalPermissionPolicy={"local": {}})
        roles, bindings = _peer_rbac()
        STORE.create(roles, RequestContext(cluster="root"), "", {"metadata": {"name": "mpp-cowboys"}, "rules": [limit]})
        STORE.create(
            bindings,
            RequestContext(cluster="root"),
            "",
            _user_binding("mpp-cowboys", "mpp-cowboys", "apis.kcp.io:binding:ivan"),
        )

    with _replicating_from_peer(
        peer_fixture, provider, ("apis_apiexport", "root", "mpp"), ("kube_object", "root", "mpp-cowboys")
    ):
        # both objects crossed (the binding names a prefixed user; the role is its role)
        assert cached("kube_object", "root", "mpp-cowboys", "clusterroles") is not None
        assert cached("kube_object", "root", "mpp-cowboys", "clusterrolebindings") is not None
        _, ivan = _bound(client, "mpp")
        made = ivan.post(COWBOYS, _cowboy("joe"))
        assert made.status_code == 201, made.content
        assert [c["metadata"]["name"] for c in ivan.get(COWBOYS).json()["items"]] == ["joe"]
        assert ivan.get(f"{COWBOYS}/joe").status_code == 200
        refused = ivan.delete(f"{COWBOYS}/joe")
        assert refused.status_code == 403, refused.content
        status = refused.json()
        assert (status["kind"], status["reason"], status["details"]["name"]) == ("Status", "Forbidden", "joe")
        assert status["message"] == (
            f'cowboys.{GROUP} "joe" is forbidden: User "ivan" cannot delete resource "cowboys" in API group '
            f'"{GROUP}" in the namespace "default": not permitted by the maximal permission policy of APIExport "mpp"'
        )

        # root takes `create` back: allowed -> refused on shard-b once the role has crossed
        with on_database(peer_fixture), as_shard(PEER_SHARD):
            roles, _ = _peer_rbac()

            def narrow(role: dict[str, Any]) -> None:
                role["rules"] = [{**limit, "verbs": ["get", "list"]}]

            written = STORE.guaranteed_update(roles, RequestContext(cluster="root"), "", "mpp-cowboys", narrow)
            assert written is not None
        arrives("kube_object", "root", "mpp-cowboys", rv(written), resource="clusterroles")
        refused = ivan.post(COWBOYS, _cowboy("jim"))
        assert refused.status_code == 403, refused.content
        assert 'cannot create resource "cowboys"' in refused.json()["message"]
        assert "maximal permission policy" in refused.json()["message"]
        assert ivan.get(f"{COWBOYS}/joe").status_code == 200


HORSES = f"/apis/{GROUP}/v1alpha1/namespaces/default/horses"
CLAIM = {"group": "", "resource": "configmaps", "verbs": ["get", "list"]}


def _horse_schema() -> dict[str, Any]:
    from tests.factories import apiresourceschema_body, resource_names, schema_version

    spec = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return apiresourceschema_body(
        group=GROUP,
        names=resource_names(plural="horses", kind="Horse"),
        versions=[schema_version(name="v1alpha1", schema={"type": "object", "properties": {"spec": spec}})],
    )


@contextlib.contextmanager
def _follower(shard: str) -> Iterator[None]:
    """`manage.py kcp_follow_directory` of shard `shard` on the suite's databases (the process a
    shard runs), its tasks run eagerly inside it (KCP_CELERY_EAGER: no worker needed); once it
    listens on the cache's channel. Stopped with SIGTERM, as the launcher does."""
    import os
    import subprocess
    import sys
    import tempfile

    from django.conf import settings
    from django.db import connections

    from kcpsite.embedded import embedded_database_url
    from kcpsite.launcher import PROJECT_DIR
    from shards.cache.spec import APIS_CHANNEL
    from tests.conftest import _url_with_database

    server = os.environ.get("DATABASE_URL") or embedded_database_url(settings.DATA_DIR)  # the suite's server
    env = {
        **os.environ,
        "DATABASE_URL": _url_with_database(server, str(connections["default"].settings_dict["NAME"])),
        "KCP_GLOBAL_DATABASE_URL": _url_with_database(server, str(connections["global"].settings_dict["NAME"])),
        "KCP_SHARD_NAME": shard,
        "KCP_CELERY_EAGER": "1",
        "KCP_DB_POOL_SIZE": "0",
    }

    def listening() -> bool:
        with connections["global"].cursor() as cur:
            cur.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = %s",
                [f"LISTEN {APIS_CHANNEL}"],
            )
            return cur.fetchone() is not None

    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "kcp_follow_directory"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=log
        )
        try:
            try:
                _wait(lambda: listening() or proc.poll() is not None, 60, "the follower listens")
            finally:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"the follower exited: {log.read().decode(errors='replace')[-3000:]}")
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_an_export_changing_on_its_shard_reaches_its_bindings_on_another_shard_promptly(
    peer_fixture: str, client: Any
) -> None:
    """A binding on shard-b of root's export `changing`: root adds a schema and a resource of it
    and a permission claim to the export; shard-b's directory follower hears the cache's doorbell
    and the binding shows both within seconds (no resync runs here). A change made while nobody
    listens (the follower stopped) is found by the next resync."""
    from apis.kinds import API_EXPORTS, API_RESOURCE_SCHEMAS
    from apis.tasks import resync_apibindings
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    root = RequestContext(cluster="root")

    def status(ivan: Api) -> tuple[list[str], list[dict[str, Any]]]:
        s = ivan.get(f"{BINDINGS}/changing").json()["status"]
        return sorted(b["resource"] for b in s.get("boundResources") or []), s.get("exportPermissionClaims") or []

    with _replicating_from_peer(
        peer_fixture, lambda: _export_on_peer("changing"), ("apis_apiexport", "root", "changing")
    ):
        _, ivan = _bound(client, "changing")
        assert status(ivan) == (["cowboys"], [])
        with _follower("shard-b"):
            with on_database(peer_fixture), as_shard(PEER_SHARD):
                _ensure(API_RESOURCE_SCHEMAS, _horse_schema())

                def gain(export: dict[str, Any]) -> None:
                    horses = export_resource(group=GROUP, plural="horses", schema=f"v1.horses.{GROUP}")
                    export["spec"]["resources"].append(horses)
                    export["spec"]["permissionClaims"] = [CLAIM]

                written = STORE.guaranteed_update(API_EXPORTS, root, "", "changing", gain)
                assert written is not None
            took = _wait(lambda: status(ivan) == (["cowboys", "horses"], [CLAIM]), 10, "the binding follows its export")
            print(f"root's export change shown by shard-b's binding {took:.2f} s after root's commit")
        horse = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Horse", "metadata": {"name": "spirit"}}
        assert ivan.post(HORSES, horse).status_code == 201

        # nobody listens now: root drops the claim; the binding keeps it until the resync
        assert resync_apibindings() >= 0  # what this process's resync has seen so far
        with on_database(peer_fixture), as_shard(PEER_SHARD):

            def drop(export: dict[str, Any]) -> None:
                export["spec"]["permissionClaims"] = []

            written = STORE.guaranteed_update(API_EXPORTS, root, "", "changing", drop)
            assert written is not None
        arrives("apis_apiexport", "root", "changing", rv(written))
        assert status(ivan) == (["cowboys", "horses"], [CLAIM])
        assert resync_apibindings() == 1
        assert status(ivan) == (["cowboys", "horses"], [])
        assert resync_apibindings() == 0  # nothing changed since


def test_the_caches_doorbell_names_only_remote_exports_this_shard_binds(api: Api) -> None:
    """What a notification asks of this shard (apis.remote.remote_change_exports): nothing for a
    malformed one, another kind, an export no binding here uses, or a cluster this shard holds
    (its own writes reconcile their bindings); the export, or for a schema every export of that
    cluster the bindings here use. (Binding rows as the binding reconciler leaves them: the
    exports they resolved to are not on any shard here.)"""
    from django.utils import timezone

    from apis.kinds import API_EXPORTS
    from apis.models import APIBindingRow
    from apis.remote import remote_change_exports
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE

    def note(**fields: Any) -> list[tuple[str, str]]:
        return remote_change_exports(payload=json.dumps(fields))

    def bound(name: str, export_cluster: str, export_name: str) -> None:
        APIBindingRow.objects.create(
            cluster="consumer", group="apis.kcp.io", resource="apibindings", name=name, uid=uuid.uuid4(),
            resource_version=1, body={"metadata": {"name": name}}, created=timezone.now(),
            export_cluster=export_cluster, export_name=export_name, phase="Bound",
        )  # fmt: skip

    for bad in ("{not json", "[1]", "null", json.dumps({"resource": "apiexports", "cluster": "far"})):
        assert remote_change_exports(payload=bad) == []
    assert note(op="UPDATE", resource="apiexports", cluster="far", name="e1") == []  # no binding of it here
    bound("b1", "far", "e1")
    bound("b2", "far", "e2")
    assert note(op="UPDATE", resource="apiexports", cluster="far", name="e1") == [("far", "e1")]
    assert note(op="DELETE", resource="apiexports", cluster="far", name="e2") == [("far", "e2")]
    assert note(op="INSERT", resource="apiresourceschemas", cluster="far", name="s") == [("far", "e1"), ("far", "e2")]
    assert note(op="INSERT", resource="workspacetypes", cluster="far", name="e1") == []
    # an export in root, which this shard holds: its own writes reconcile its bindings
    STORE.create(API_EXPORTS, RequestContext(cluster="root"), "", apiexport_body(name="here", resources=[]))
    bound("b3", "root", "here")
    assert note(op="UPDATE", resource="apiexports", cluster="root", name="here") == []
