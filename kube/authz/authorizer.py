"""Authorization of a request in one logical cluster: the workspace `access` check, then RBAC.

Policies are built from the cluster's RBAC objects and cached per cluster behind a one-row
signature query (count and newest revision of its RBAC rows), so a RoleBinding takes effect on
the next request and a cluster costs one bounded cache entry.

Checks in another logical cluster (`use` on a WorkspaceType in root, `bind` on an APIExport)
may name one this shard does not hold. Those callers pass `replicated=True`: when the cluster
has no RBAC rows here, its policy is built from the RBAC objects replicated from its shard
(kube.authz.replication marks them; the source, set by the shards app, reads the cache and
answers only for clusters the directory places on another shard). Local rows always win, and
requests in a logical cluster (which is always one of this shard's) never ask the cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from kube import errors
from kube.storage.models import StoredObject

from .rbac import Attributes, Policy, forbidden_message
from .user import SYSTEM_MASTERS, UserInfo, is_privileged_group, is_privileged_user_name

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
CACHE_SIZE = 4096

#: Keyed by (source, cluster): "local" or "replicated".
_cache: OrderedDict[tuple[str, str], tuple[tuple[int, int], Policy]] = OrderedDict()
_lock = threading.Lock()

Signature = tuple[int, int]
RBACRows = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class ReplicatedRBAC:
    """Where `replicated=True` checks read the RBAC of a logical cluster another shard holds:
    `signature(cluster)` (count, newest resourceVersion of its replicated RBAC objects; (0, 0)
    when there is nothing to use: the cluster is on this shard, unknown, or there is no cache)
    and `rows(cluster)` ([(resource, body)])."""

    signature: Callable[[str], Signature]
    rows: Callable[[str], RBACRows]


_replicated: ReplicatedRBAC | None = None


def replicated_rbac_set(source: ReplicatedRBAC | None) -> None:
    """Install the source of replicated RBAC (the shards app does, when it loads)."""
    global _replicated
    _replicated = source


def _policy_of(rows: RBACRows) -> Policy:
    by_kind: dict[str, list[dict[str, Any]]] = {r: [] for r in RBAC_RESOURCES}
    for resource, body in rows:
        if resource in by_kind:
            by_kind[resource].append(body)
    return Policy(
        roles=by_kind["roles"],
        cluster_roles=by_kind["clusterroles"],
        role_bindings=by_kind["rolebindings"],
        cluster_role_bindings=by_kind["clusterrolebindings"],
    )


def _cached(key: tuple[str, str], signature: Signature, rows: Callable[[], RBACRows]) -> Policy:
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == signature:
            _cache.move_to_end(key)
            return hit[1]
    policy = _policy_of(rows())
    with _lock:
        _cache[key] = (signature, policy)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return policy


def policy_for(cluster: str, *, replicated: bool = False) -> Policy:
    """The RBAC policy of `cluster`: from its rows on this shard; with `replicated`, when there
    are none here, from its replicated RBAC objects (see the module docstring)."""
    rows = StoredObject.objects.filter(cluster=cluster, group=RBAC_GROUP, resource__in=RBAC_RESOURCES)
    agg = rows.aggregate(n=Count("id"), rv=Max("resource_version"))
    signature = (int(agg["n"] or 0), int(agg["rv"] or 0))
    source = _replicated
    if replicated and signature[0] == 0 and source is not None:
        remote = source.signature(cluster)
        if remote[0]:
            return _cached(("replicated", cluster), remote, lambda: source.rows(cluster))
    return _cached(("local", cluster), signature, lambda: list(rows.values_list("resource", "body")))


def bound_cluster(user: UserInfo) -> str:
    """The logical cluster a credential is bound to ("" for cluster-independent identities)."""
    values = user.extra.get("kcp.io/cluster") or []
    return values[0] if values else ""


def effective_user(user: UserInfo, cluster: str) -> UserInfo:
    """A credential bound to another logical cluster counts as anonymous here, as in kcp: its
    only groups are system:authenticated and system:cluster:<origin>."""
    origin = bound_cluster(user)
    if not origin or origin == cluster or cluster == "*":
        return user
    return UserInfo(name="system:anonymous", groups=("system:authenticated", f"system:cluster:{origin}"))


def authorize(user: UserInfo, cluster: str, attrs: Attributes, *, replicated: bool = False) -> None:
    """Raise Forbidden unless `user` may do `attrs` in `cluster`. `replicated`: `cluster` may be
    held by another shard; see `policy_for`."""
    if user.is_admin:
        return
    if cluster == "*":
        raise errors.Forbidden(
            forbidden_message(attrs) + " in the `*` logical cluster",
            kind=attrs.resource,
            group=attrs.api_group,
            name=attrs.name,
        )
    policy = policy_for(cluster, replicated=replicated)
    if not _may_enter(user, cluster, policy):
        raise errors.Forbidden(
            # The workspace is not named: addressed by path, its logical cluster name is not the
            # caller's to learn (the caller knows what it addressed).
            f'User "{user.name}" cannot access this workspace: access denied',
            kind="workspaces",
            group="tenancy.kcp.io",
        )
    decision = policy.authorize(attrs)
    if not decision.allowed:
        raise errors.Forbidden(forbidden_message(attrs), kind=attrs.resource, group=attrs.api_group, name=attrs.name)


def _may_enter(user: UserInfo, cluster: str, policy: Policy) -> bool:
    """kcp's workspace access: `access` on `/` here; the cluster's own service accounts may."""
    if bound_cluster(user) == cluster and user.name.startswith("system:serviceaccount:"):
        return True
    gate = Attributes(
        user=user,
        verb="access",
        api_group="",
        resource="",
        subresource="",
        name="",
        namespace="",
        path="/",
        resource_request=False,
    )
    return policy.authorize(gate).allowed


def can(user: UserInfo, cluster: str, attrs: Attributes, *, replicated: bool = False) -> tuple[bool, str]:
    """For SelfSubjectAccessReview: the decision without raising."""
    try:
        authorize(user, cluster, attrs, replicated=replicated)
    except errors.Forbidden as e:
        return False, e.message
    return True, ""


IMPERSONATE_USER = "impersonate-user"
IMPERSONATE_GROUP = "impersonate-group"


def impersonate(user: UserInfo, cluster: str, headers: dict[str, str]) -> UserInfo:
    """Kubernetes impersonation (`kubectl --as/--as-group`): allowed only when RBAC grants the
    `impersonate` verb on users/groups (or serviceaccounts) in this logical cluster; otherwise 403.
    Identity never comes from any other header (X-Remote-* is ignored).

    Whatever a workspace's RBAC grants, a privileged group (`system:masters`, `system:kcp:*`) or
    user name (`system:kcp:*`, …) can be taken only by a requester who already holds it, or by
    `system:masters` (kcp's impersonation gatekeeper does the same): RBAC in a workspace is its
    admin's to write, so `impersonate` on groups there must never reach beyond the workspace."""
    target = headers.get(IMPERSONATE_USER, "")
    groups = [g.strip() for g in headers.get(IMPERSONATE_GROUP, "").split(",") if g.strip()]
    if not target and not groups:
        return user
    if not target:
        raise errors.Forbidden("requested impersonation of groups without a user")
    _refuse_privilege_escalation(user, target, groups)
    checks = []
    if target.startswith("system:serviceaccount:") and target.count(":") == 3:
        _, _, ns, name = target.split(":")
        checks.append(Attributes.for_resource(user, "impersonate", "serviceaccounts", name=name, namespace=ns))
    else:
        checks.append(Attributes.for_resource(user, "impersonate", "users", name=target))
    for g in groups:
        checks.append(Attributes.for_resource(user, "impersonate", "groups", name=g))
    for attrs in checks:
        authorize(user, cluster, attrs)
    return UserInfo(
        name=target,
        groups=tuple(dict.fromkeys([*groups, "system:authenticated"])),
        extra={"kcp.io/cluster": [cluster]} if cluster != "*" else {},
    )


def _refuse_privilege_escalation(user: UserInfo, target: str, groups: list[str]) -> None:
    if SYSTEM_MASTERS in user.groups:
        return
    held = set(user.groups)
    for g in groups:
        if is_privileged_group(g) and g not in held:
            raise errors.Forbidden(f'impersonation of the privileged group "{g}" is not allowed', kind="groups", name=g)
    if is_privileged_user_name(target) and target != user.name:
        raise errors.Forbidden(
            f'impersonation of the privileged user "{target}" is not allowed', kind="users", name=target
        )
