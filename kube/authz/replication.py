"""Which RBAC objects other shards need: the `replicate` mark on ClusterRoles and
ClusterRoleBindings (kcp's "labeler" controllers, done in the write's transaction instead).

Some checks run in a logical cluster that may live on another shard: `use` on a WorkspaceType in
root when a workspace is created anywhere, `bind` on an APIExport in the provider's workspace,
`initialize` on a WorkspaceType. Another shard answers them from the cache of what crosses shards
(the `kube_object` rows marked `replicate`, copied by logical replication; see shards.cache). The
apps say which grants those checks ask for (`replicated_grant_register`); this module marks
exactly the cluster-scoped RBAC objects that take part in such a grant:

* a ClusterRole whose effective rules (aggregation applied) grant one of them, wildcards
  included (`*` verbs, groups, resources; `resourceNames` do not matter: a role granting `use`
  on one type takes part);
* a ClusterRoleBinding whose role (a stored ClusterRole or a bootstrap default such as
  `cluster-admin`) does;
* a ClusterRoleBinding with a User or Group subject whose name starts with a registered prefix
  (`replicated_subject_prefix_register`: the apis app's `apis.kcp.io:binding:`, the users a
  maximal permission policy is checked for), whatever its role grants, and the stored
  ClusterRoles that role's rules come from: the role itself and, when it aggregates, every role
  its selectors reach (stored or bootstrap defaults such as `admin`, whose stored contributors
  are then marked): the other shard evaluates the binding with all of them, or it denies.

Roles and RoleBindings are never marked (the checks are cluster-scoped). The marks are kept only
while something replicates them (`replicated_marks_keep_when`: the shards app keeps them while
there is a cache); with one database nothing is replicated and an RBAC write costs nothing more. The mark is a column,
not an annotation: no client writes it, and setting it changes neither the object nor its
resourceVersion. It is recomputed for the whole cluster after every write of a ClusterRole or a
ClusterRoleBinding there (a binding's mark depends on its role), inside the write's transaction:
writes on a shard are serialized by the revision counter's row lock (kube.storage), taken by the
write before this runs, so the read below sees every earlier committed RBAC write and the mark
can never be computed from a stale view. `rbac_relabel_when_grants_changed` recomputes every
cluster once after the set of registered grants changed (a new version; run by `manage.py
kcp_cache install`), remembering which set the marks follow in the column's comment; a start
without a cache forgets it (`rbac_marks_forget`), so the next install after marks were not kept
recomputes them all."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from kube.errors import BadRequest
from kube.selectors import label_selector_from_dict
from kube.storage.backend import on_write
from kube.storage.models import Revision, StoredObject

from .rbac import DEFAULT_CLUSTER_ROLES, Policy

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_RESOURCES = ("clusterroles", "clusterrolebindings")


@dataclass(frozen=True)
class Grant:
    """A resource grant (`verb` on `resource` of `api_group`) or, with `path`, a non-resource one
    (`verb` on the URL path)."""

    verb: str
    api_group: str = ""
    resource: str = ""
    path: str = ""

    def granted_by(self, rule: Mapping[str, Any]) -> bool:
        verbs = _strings(rule.get("verbs"))
        if not ({"*", self.verb} & verbs):
            return False
        if self.path:
            urls = _strings(rule.get("nonResourceURLs"))
            return any(u == self.path or (u.endswith("*") and self.path.startswith(u[:-1])) for u in urls)
        groups, resources = _strings(rule.get("apiGroups")), _strings(rule.get("resources"))
        return bool({"*", self.api_group} & groups) and bool({"*", self.resource} & resources)


_grants: set[Grant] = set()


def _always() -> bool:
    return True


_keeping: Callable[[], bool] = _always


def replicated_marks_keep_when(predicate: Callable[[], bool]) -> None:
    """Keep the marks on every RBAC write only while `predicate()` (asked per write) holds."""
    global _keeping
    _keeping = predicate


def replicated_grant_register(grant: Grant) -> None:
    """Mark, from now on, the RBAC objects that take part in `grant` (apps call this when they load)."""
    _grants.add(grant)


def replicated_grants() -> frozenset[Grant]:
    return frozenset(_grants)


_subject_prefixes: set[str] = set()


def replicated_subject_prefix_register(prefix: str) -> None:
    """Mark, from now on, every ClusterRoleBinding with a User or Group subject named
    `prefix`..., and the ClusterRoles its role takes its rules from (apps call this when they
    load). For checks that evaluate a whole policy for such users in a cluster on another shard,
    whatever they ask (kcp's maximal permission policy), which no fixed grant can name."""
    if not prefix:
        raise ValueError("an empty prefix would replicate every binding")
    _subject_prefixes.add(prefix)


def replicated_subject_prefixes() -> frozenset[str]:
    return frozenset(_subject_prefixes)


def _strings(value: Any) -> set[str]:
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _grants_any(rules: Iterable[Mapping[str, Any]] | None) -> bool:
    grants = replicated_grants()
    return any(g.granted_by(r) for r in rules or () for g in grants)


def _names_prefixed_subject(binding: Mapping[str, Any], prefixes: frozenset[str]) -> bool:
    subjects = binding.get("subjects")
    for s in subjects if isinstance(subjects, list) else ():
        if isinstance(s, dict) and s.get("kind") in ("User", "Group"):
            name = s.get("name")
            if isinstance(name, str) and any(name.startswith(p) for p in prefixes):
                return True
    return False


def _labels(role: Mapping[str, Any]) -> dict[str, str]:
    labels = (role.get("metadata") or {}).get("labels") if isinstance(role.get("metadata"), dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _role_sources(name: str, roles: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """`name` and, transitively, every ClusterRole an aggregating role's selectors match (what
    rbac.Policy unions at read time): the roles a binding to `name` takes its rules from."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in roles:
            continue
        seen.add(current)
        rule = roles[current].get("aggregationRule")
        selectors = rule.get("clusterRoleSelectors") if isinstance(rule, Mapping) else None
        for sel in selectors if isinstance(selectors, list) else ():
            try:
                parsed = label_selector_from_dict(sel)
            except BadRequest:  # an invalid selector matches nothing, as in rbac.Policy
                continue
            todo.extend(other for other, body in roles.items() if other != current and parsed.matches(_labels(body)))
    return seen


def rbac_marks(*, cluster_roles: list[Obj], bindings: list[Obj]) -> tuple[set[str], set[str]]:
    """(names of the ClusterRoles, names of the ClusterRoleBindings) to replicate, out of one
    cluster's stored ClusterRoles and ClusterRoleBindings. Pure."""
    policy = Policy([], cluster_roles, [], [])  # the bootstrap defaults merged: bindings may name them
    stored = {str(r["metadata"]["name"]): r for r in cluster_roles if isinstance(r.get("metadata"), dict)}
    roles = {name for name in stored if _grants_any(policy.cluster_role_rules(name))}
    prefixes = replicated_subject_prefixes()
    # every ClusterRole by name as the other shard's Policy sees them: defaults, shadowed by stored
    merged: dict[str, Mapping[str, Any]] = {str(d["metadata"]["name"]): d for d in DEFAULT_CLUSTER_ROLES}
    merged.update(stored)
    marked_bindings = set()
    for b in bindings:
        ref = b.get("roleRef")
        if not isinstance(ref, dict) or ref.get("kind") != "ClusterRole":
            continue
        role = str(ref.get("name", ""))
        if prefixes and _names_prefixed_subject(b, prefixes):
            marked_bindings.add(str(b["metadata"]["name"]))
            roles |= _role_sources(role, merged) & stored.keys()
        elif _grants_any(policy.cluster_role_rules(role)):
            marked_bindings.add(str(b["metadata"]["name"]))
    return roles, marked_bindings


def rbac_relabel(cluster: str) -> int:
    """Set `replicate` on `cluster`'s ClusterRoles and ClusterRoleBindings to what `rbac_marks`
    says (inside the caller's transaction); returns how many rows changed."""
    rows = list(
        StoredObject.objects.filter(cluster=cluster, group=RBAC_GROUP, resource__in=CLUSTER_RESOURCES)
        .order_by("id")
        .values_list("id", "resource", "name", "body", "replicate")
    )
    if not rows:
        return 0
    roles, bindings = rbac_marks(
        cluster_roles=[body for _, resource, _, body, _ in rows if resource == "clusterroles"],
        bindings=[body for _, resource, _, body, _ in rows if resource == "clusterrolebindings"],
    )
    flip_on: list[int] = []
    flip_off: list[int] = []
    for row_id, resource, name, _, marked in rows:
        wanted = name in (roles if resource == "clusterroles" else bindings)
        if wanted != marked:
            (flip_on if wanted else flip_off).append(row_id)
    if flip_on:
        StoredObject.objects.filter(id__in=flip_on).update(replicate=True)
    if flip_off:
        StoredObject.objects.filter(id__in=flip_off).update(replicate=False)
    return len(flip_on) + len(flip_off)


def rbac_relabel_all() -> int:
    """`rbac_relabel` every cluster holding ClusterRoles or ClusterRoleBindings, each in its own
    transaction holding the revision counter's row lock (as a write would: no RBAC write
    interleaves). Idempotent; returns how many rows changed."""
    clusters = (
        StoredObject.objects.filter(group=RBAC_GROUP, resource__in=CLUSTER_RESOURCES)
        .values_list("cluster", flat=True)
        .distinct()
    )
    changed = 0
    for cluster in list(clusters):
        with transaction.atomic():
            list(Revision.objects.select_for_update().filter(id=1).values_list("id", flat=True))
            changed += rbac_relabel(cluster)
    return changed


def grants_fingerprint() -> str:
    """Names the set of registered grants and subject prefixes (what the marks follow)."""
    rules = [repr(g) for g in replicated_grants()] + [f"subject prefix {p!r}" for p in replicated_subject_prefixes()]
    text = "\n".join(sorted(rules))
    return "kcp replicated grants " + hashlib.sha256(text.encode()).hexdigest()


_COMMENT_SQL = (
    "SELECT col_description(a.attrelid, a.attnum) FROM pg_attribute a "
    "WHERE a.attrelid = 'kube_object'::regclass AND a.attname = 'replicate'"
)


def rbac_relabel_when_grants_changed() -> int | None:
    """`rbac_relabel_all` once per set of registered grants (the marks on every other write are
    kept by the writes themselves): None when the marks already follow the current set, else how
    many rows changed. The set is remembered in the `replicate` column's comment."""
    fingerprint = grants_fingerprint()
    with connection.cursor() as cur:
        cur.execute(_COMMENT_SQL)
        row = cur.fetchone()
    if row is not None and row[0] == fingerprint:
        return None
    changed = rbac_relabel_all()
    with connection.cursor() as cur:
        cur.execute(f"COMMENT ON COLUMN kube_object.replicate IS '{fingerprint}'")  # hex: nothing to quote
    return changed


def rbac_marks_forget() -> None:
    """The marks are not kept from now on (no cache): forget which grants they followed, so that
    the next `rbac_relabel_when_grants_changed` recomputes every cluster."""
    with connection.cursor() as cur:
        cur.execute(_COMMENT_SQL)
        row = cur.fetchone()
        if row is not None and row[0] is not None:
            cur.execute("COMMENT ON COLUMN kube_object.replicate IS NULL")


def register() -> None:
    """Recompute the marks on every write of a ClusterRole or ClusterRoleBinding (kube's app
    loading calls this once)."""
    for resource in CLUSTER_RESOURCES:
        on_write(RBAC_GROUP, resource, _relabel_on_write)


def _relabel_on_write(cluster: str) -> None:
    if _keeping():
        rbac_relabel(cluster)
