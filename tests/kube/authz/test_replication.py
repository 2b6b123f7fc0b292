"""Which RBAC objects are marked for the cache of what crosses shards (kube.authz.replication):
exactly the ClusterRoles whose effective rules grant a registered grant, and the
ClusterRoleBindings of such roles (stored or bootstrap defaults). Pure: no database."""

from __future__ import annotations

from typing import Any

from kube.authz.replication import Grant, rbac_marks, replicated_grants

RBAC = "rbac.authorization.k8s.io"


def role(name: str, *rules: dict[str, Any], labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "rules": list(rules), **extra}


def binding(name: str, role_name: str, kind: str = "ClusterRole") -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name}}


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def test_the_apps_register_the_cross_cluster_checks() -> None:
    """Loaded apps register `use`/`initialize` on WorkspaceTypes, `bind` on APIExports and the
    workspace `access` gate every check passes first."""
    assert {
        Grant(verb="use", api_group="tenancy.kcp.io", resource="workspacetypes"),
        Grant(verb="initialize", api_group="tenancy.kcp.io", resource="workspacetypes"),
        Grant(verb="bind", api_group="apis.kcp.io", resource="apiexports"),
        Grant(verb="access", path="/"),
    } <= replicated_grants()


def test_roles_granting_a_registered_grant_and_their_bindings_are_marked() -> None:
    roles = [
        role("type-user", rule(["use"], ["tenancy.kcp.io"], ["workspacetypes"], ["team"])),  # resourceNames count
        role("binder", rule(["bind"], ["apis.kcp.io"], ["apiexports"])),
        role("everything", rule(["*"], ["*"], ["*"])),
        role("tenancy-star", rule(["*"], ["tenancy.kcp.io"], ["*"])),
        role("enterer", {"verbs": ["access"], "nonResourceURLs": ["/"]}),
        role("prefix-enterer", {"verbs": ["access"], "nonResourceURLs": ["/*"]}),
        role("reader", rule(["get", "list"], ["tenancy.kcp.io"], ["workspacetypes"])),
        role("other-use", rule(["use"], ["example.com"], ["widgets"])),
        role("metrics", {"verbs": ["access"], "nonResourceURLs": ["/metrics"]}),
    ]
    bindings = [
        binding("b-type-user", "type-user"),
        binding("b-reader", "reader"),
        binding("b-admin", "cluster-admin"),  # a bootstrap default role, not stored
        binding("b-access", "system:kcp:workspace:access"),  # the default that grants `access`
        binding("b-view", "view"),  # a default that grants neither
        binding("b-missing", "no-such-role"),
        binding("b-role", "type-user", kind="Role"),  # RoleBinding-style refs never count
    ]
    marked_roles, marked_bindings = rbac_marks(cluster_roles=roles, bindings=bindings)
    assert marked_roles == {"type-user", "binder", "everything", "tenancy-star", "enterer", "prefix-enterer"}
    assert marked_bindings == {"b-type-user", "b-admin", "b-access"}


def test_aggregation_counts_and_a_stored_role_shadows_the_default_of_its_name() -> None:
    part = role("part", rule(["use"], ["tenancy.kcp.io"], ["workspacetypes"]), labels={"example.com/agg": "true"})
    aggregate = {
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/agg": "true"}}]},
    }
    tame_admin = role("cluster-admin", rule(["get"], [""], ["configmaps"]))
    marked_roles, marked_bindings = rbac_marks(
        cluster_roles=[part, aggregate, tame_admin],
        bindings=[binding("b-agg", "agg"), binding("b-admin", "cluster-admin")],
    )
    assert marked_roles == {"part", "agg"}
    assert marked_bindings == {"b-agg"}


def subjects_binding(name: str, role_name: str, *subjects: tuple[str, str]) -> dict[str, Any]:
    out = binding(name, role_name)
    out["subjects"] = [
        {"kind": k, "name": n, **({"apiGroup": RBAC} if k != "ServiceAccount" else {})} for k, n in subjects
    ]
    return out


def test_the_apis_app_registers_the_binding_subject_prefix() -> None:
    from kube.authz.replication import replicated_subject_prefixes

    assert "apis.kcp.io:binding:" in replicated_subject_prefixes()


def test_bindings_of_prefixed_subjects_are_marked_with_every_role_their_rules_come_from() -> None:
    """A maximal permission policy is checked for `apis.kcp.io:binding:<user>` and its groups,
    whatever the request: such a binding travels whatever its role grants, and with it the stored
    roles the other shard needs to evaluate it (an aggregating role and what it aggregates,
    through a default such as `admin` too); other subjects do not make a binding travel."""
    mpp = role("mpp-cowboys", rule(["get", "list"], ["wildwest.example.com"], ["cowboys"]))
    extra = role("extra", rule(["create"], ["wildwest.example.com"], ["cowboys"]), labels={"example.com/agg": "true"})
    to_admin = role("to-admin", rule(["delete"], ["wildwest.example.com"], ["cowboys"]),
                    labels={"rbac.authorization.k8s.io/aggregate-to-admin": "true"})  # fmt: skip
    aggregate = {
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/agg": "true"}}]},
    }
    unrelated = role("unrelated", rule(["get"], [""], ["configmaps"]))
    marked_roles, marked_bindings = rbac_marks(
        cluster_roles=[mpp, extra, to_admin, aggregate, unrelated],
        bindings=[
            subjects_binding("b-user", "mpp-cowboys", ("User", "apis.kcp.io:binding:ivan")),
            subjects_binding("b-group", "agg", ("Group", "apis.kcp.io:binding:system:authenticated")),
            subjects_binding("b-admin", "admin", ("User", "someone"), ("User", "apis.kcp.io:binding:paula")),
            subjects_binding("b-plain", "unrelated", ("User", "ivan")),
            subjects_binding("b-sa", "unrelated", ("ServiceAccount", "apis.kcp.io:binding:x")),
        ],
    )
    assert marked_bindings == {"b-user", "b-group", "b-admin"}
    # admin is a bootstrap default (not stored): only its stored contributor travels with it
    assert marked_roles == {"mpp-cowboys", "agg", "extra", "to-admin"}


def test_a_new_subject_prefix_changes_what_the_marks_follow() -> None:
    """The install recomputes every cluster when the fingerprint changed: a prefix counts."""
    from kube.authz import replication

    before = replication.grants_fingerprint()
    replication.replicated_subject_prefix_register("example.com:mirror:")
    try:
        assert replication.grants_fingerprint() != before
    finally:
        replication._subject_prefixes.discard("example.com:mirror:")
    assert replication.grants_fingerprint() == before
