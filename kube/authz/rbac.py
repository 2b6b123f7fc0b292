"""Kubernetes RBAC evaluation for one logical cluster, as a pure function of its RBAC objects.

`Policy` is built from the Role, ClusterRole, RoleBinding and ClusterRoleBinding bodies of a cluster (plain
`rbac.authorization.k8s.io/v1` dicts, as stored) and answers `authorize(attrs)` with the semantics of
kubernetes' RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`, `pkg/apis/rbac/v1/evaluation_helpers.go`):

* a ClusterRoleBinding grants its ClusterRole's rules everywhere; a RoleBinding grants the rules of a Role of
  its own namespace, or of a ClusterRole, only for requests in that namespace;
* subjects: `User` (name equality), `Group` (membership), `ServiceAccount` (the user named
  `system:serviceaccount:<ns>:<name>`; a RoleBinding's subject without namespace means the binding's
  namespace, a ClusterRoleBinding's subject without namespace matches nobody); other kinds match nobody;
* rules: `*` wildcards in verbs, apiGroups, resources and nonResourceURLs; a request for a subresource is
  matched as `resource/subresource` or by `*/subresource`; `resourceNames` restricts only when non-empty and
  then never matches a request without a name (list, create, deletecollection...); a nonResourceURL ending in
  `*` is a prefix match;
* ClusterRoles with an `aggregationRule` get the union of the rules of every other ClusterRole matching one of
  their label selectors (what upstream's clusterrole-aggregation controller writes into `.rules`), computed
  here once per policy, transitively (admin <- edit <- view);
* a binding whose role does not exist grants nothing; when nothing allows a request the decision's reason
  names the missing roles the way the apiserver appends them to a 403 (`RBAC: role.rbac.authorization.k8s.io
  "x" not found`).

The module also carries the bootstrap policy every logical cluster starts with (`DEFAULT_CLUSTER_ROLES`,
`DEFAULT_CLUSTER_ROLE_BINDINGS`, merged into each `Policy` unless an object of the same name is stored) and
the apiserver's 403 wording (`forbidden_message`).

Performance contract: a `Policy` is immutable once built and safe to share between threads; callers cache one
per cluster. Bindings are indexed by subject, and the rules that apply to one (user, groups, namespace) are
resolved once and memoised, so a decision is a scan over that user's own rules only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kube.errors import BadRequest
from kube.meta_validation import go_quote
from kube.selectors import LabelSelector, label_selector_from_dict

from .user import UserInfo

__all__ = [
    "DEFAULT_CLUSTER_ROLES",
    "DEFAULT_CLUSTER_ROLE_BINDINGS",
    "Attributes",
    "Decision",
    "Policy",
    "forbidden_message",
]

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
_MEMO_SIZE = 4096


# --- request attributes and decisions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attributes:
    """What a request wants to do (apiserver's `authorizer.Attributes`).

    Resource requests (`resource_request=True`) are judged on verb, api_group, resource, subresource, name and
    namespace (empty for cluster-scoped requests and for lists across all namespaces); non-resource requests
    on verb and path only. Verbs are the API verbs (`get`, `list`, `watch`, `create`, `update`, `patch`,
    `delete`, `deletecollection`, or custom ones such as `access`, `bind`, `use`), not HTTP methods.
    """

    user: UserInfo
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""
    resource_request: bool = True

    @classmethod
    def for_resource(
        cls,
        user: UserInfo,
        verb: str,
        resource: str,
        *,
        api_group: str = "",
        subresource: str = "",
        name: str = "",
        namespace: str = "",
        path: str = "",
    ) -> Attributes:
        """A resource request (`kubectl get configmaps -n default` is `list`, "", `configmaps`, ns `default`)."""
        return cls(
            user=user,
            verb=verb,
            api_group=api_group,
            resource=resource,
            subresource=subresource,
            name=name,
            namespace=namespace,
            path=path,
            resource_request=True,
        )

    @classmethod
    def for_path(cls, user: UserInfo, verb: str, path: str) -> Attributes:
        """A non-resource request (`/healthz`, `/api`, kcp's `access` on `/`)."""
        return cls(user=user, verb=verb, path=path, resource_request=False)


@dataclass(frozen=True)
class Decision:
    """The authorizer's answer. `reason` says which binding allowed the request (`RBAC: allowed by
    ClusterRoleBinding "x" of ClusterRole "y" to User "bob"`), or, for a denial, is empty unless some binding
    that applies to the user refers to a missing role (`RBAC: clusterrole.rbac.authorization.k8s.io "y" not
    found`); upstream appends such a reason to the 403 message (see `forbidden_message`)."""

    allowed: bool
    reason: str = ""


# --- the apiserver's 403 wording ---------------------------------------------------------------------------


def _sanitize(s: str) -> str:
    """responsewriters' `sanitizer`: a 403 message must not look like HTML."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """The `message` of the apiserver's 403 Status for `attrs`.

    Follows `responsewriters.Forbidden` + `forbiddenMessage` + `apierrors.NewForbidden`:

    * `configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace
      "default"`; cluster-scoped requests end with `at the cluster scope`;
    * with a name: `configmaps "x" is forbidden: ...`; with a group the prefix is the qualified resource
      (`widgets.example.com "w" is forbidden: ...`) while the sentence names the resource and, for a
      subresource, `resource "widgets/status"`;
    * non-resource requests: `forbidden: User "bob" cannot get path "/metrics"`;
    * a non-empty `reason` (a denial's `Decision.reason`) is appended after `: `.

    `&`, `<` and `>` in the sentence are HTML-escaped as upstream does.
    """
    username = attrs.user.name if attrs.user is not None else ""
    if not attrs.resource_request:
        msg = f"User {go_quote(username)} cannot {attrs.verb} path {go_quote(attrs.path)}"
    else:
        resource = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
        scope = f"in the namespace {go_quote(attrs.namespace)}" if attrs.namespace else "at the cluster scope"
        msg = (
            f"User {go_quote(username)} cannot {attrs.verb} resource {go_quote(resource)} "
            f"in API group {go_quote(attrs.api_group)} {scope}"
        )
    msg = _sanitize(msg)
    if reason:
        msg = f"{msg}: {reason}"
    if not attrs.resource_request or (not attrs.resource and not attrs.api_group):
        return f"forbidden: {msg}"
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        return f"{qualified} {go_quote(attrs.name)} is forbidden: {msg}"
    return f"{qualified} is forbidden: {msg}"


# --- bootstrap policy --------------------------------------------------------------------------------------

_READ = ["get", "list", "watch"]
_WRITE = ["create", "update", "patch", "delete", "deletecollection"]
_READ_WRITE = [*_READ, *_WRITE]
_BOOTSTRAP_META: Obj = {
    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
}
_AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def _rule(
    verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None, urls: list[str] | None = None
) -> Obj:
    r: Obj = {"verbs": list(verbs)}
    if groups is not None:
        r["apiGroups"] = list(groups)
    if resources is not None:
        r["resources"] = list(resources)
    if urls is not None:
        r["nonResourceURLs"] = list(urls)
    return r


def _cluster_role(
    name: str, rules: list[Obj] | None = None, *, labels: Mapping[str, str] | None = None, aggregate: str = ""
) -> Obj:
    meta = {
        "name": name,
        "labels": {**_BOOTSTRAP_META["labels"], **(labels or {})},
        "annotations": dict(_BOOTSTRAP_META["annotations"]),
    }
    role: Obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": meta}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {_AGGREGATE + aggregate: "true"}}]}
    role["rules"] = rules or []
    return role


def _cluster_role_binding(name: str, groups: list[str]) -> Obj:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": name,
            "labels": dict(_BOOTSTRAP_META["labels"]),
            "annotations": dict(_BOOTSTRAP_META["annotations"]),
        },
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups],
    }


#: Upstream's bootstrap ClusterRoles (bootstrappolicy/policy.go) restricted to the kinds this server serves, plus
#: kcp's `system:kcp:workspace:access`. admin/edit/view are aggregations, as upstream: their own rules live in
#: `system:aggregate-to-{admin,edit,view}`, and any ClusterRole labelled
#: `rbac.authorization.k8s.io/aggregate-to-<role>: "true"` extends them (edit is part of admin, view of edit).
DEFAULT_CLUSTER_ROLES: list[Obj] = [
    _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _rule(["*"], urls=["*"])]),
    _cluster_role(
        "system:discovery",
        [
            _rule(
                ["get"],
                urls=[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            )
        ],
    ),
    _cluster_role(
        "system:public-info-viewer", [_rule(["get"], urls=["/healthz", "/livez", "/readyz", "/version", "/version/"])]
    ),
    _cluster_role(
        "system:basic-user",
        [
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
        ],
    ),
    _cluster_role("admin", aggregate="admin"),
    _cluster_role("edit", labels={_AGGREGATE + "admin": "true"}, aggregate="edit"),
    _cluster_role("view", labels={_AGGREGATE + "edit": "true"}, aggregate="view"),
    _cluster_role(
        "system:aggregate-to-admin",
        [
            _rule(_READ_WRITE, [RBAC_GROUP], ["rolebindings", "roles"]),
        ],
        labels={_AGGREGATE + "admin": "true"},
    ),
    _cluster_role(
        "system:aggregate-to-edit",
        [
            _rule(_READ, [""], ["secrets"]),
            _rule(["impersonate"], [""], ["serviceaccounts"]),
            _rule(_WRITE, [""], ["configmaps", "events", "secrets", "serviceaccounts"]),
            _rule(["create"], [""], ["serviceaccounts/token"]),
            _rule(_READ_WRITE, ["coordination.k8s.io"], ["leases"]),
        ],
        labels={_AGGREGATE + "edit": "true"},
    ),
    _cluster_role(
        "system:aggregate-to-view",
        [
            _rule(_READ, [""], ["configmaps", "serviceaccounts"]),
            _rule(_READ, [""], ["events", "namespaces/status"]),
            _rule(_READ, [""], ["namespaces"]),
        ],
        labels={_AGGREGATE + "view": "true"},
    ),
    _cluster_role("system:kcp:workspace:access", [_rule(["access"], urls=["/"])]),
]

#: Upstream's bootstrap ClusterRoleBindings for the roles above: discovery, health and self-review for every
#: authenticated user, health/version for everyone, cluster-admin for `system:masters`.
DEFAULT_CLUSTER_ROLE_BINDINGS: list[Obj] = [
    _cluster_role_binding("cluster-admin", ["system:masters"]),
    _cluster_role_binding("system:basic-user", ["system:authenticated"]),
    _cluster_role_binding("system:discovery", ["system:authenticated"]),
    _cluster_role_binding("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
]


# --- compiled rules ----------------------------------------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...]:
    """A list of strings from a stored body; anything malformed counts as empty (grants nothing)."""
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


class _Rule:
    """One PolicyRule, pre-digested into sets so matching is a few hash lookups."""

    __slots__ = (
        "source",
        "verbs",
        "all_verbs",
        "groups",
        "all_groups",
        "resources",
        "all_resources",
        "star_subresources",
        "names",
        "urls",
        "all_urls",
        "url_prefixes",
    )

    def __init__(self, rule: Obj) -> None:
        self.source = rule
        verbs, groups = _strings(rule.get("verbs")), _strings(rule.get("apiGroups"))
        resources, urls = _strings(rule.get("resources")), _strings(rule.get("nonResourceURLs"))
        self.verbs = frozenset(verbs)
        self.all_verbs = "*" in self.verbs
        self.groups = frozenset(groups)
        self.all_groups = "*" in self.groups
        self.resources = frozenset(resources)
        self.all_resources = "*" in self.resources
        self.star_subresources = frozenset(r[2:] for r in resources if r.startswith("*/"))
        self.names = frozenset(_strings(rule.get("resourceNames")))
        self.urls = frozenset(urls)
        self.all_urls = "*" in self.urls
        self.url_prefixes = tuple(u.rstrip("*") for u in urls if u.endswith("*"))

    def allows(self, a: Attributes) -> bool:
        """Upstream's `RuleAllows`."""
        if not (self.all_verbs or a.verb in self.verbs):
            return False
        if not a.resource_request:
            return self.all_urls or a.path in self.urls or any(a.path.startswith(p) for p in self.url_prefixes)
        if not (self.all_groups or a.api_group in self.groups):
            return False
        if not self.all_resources:
            combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
            if combined not in self.resources and not (a.subresource and a.subresource in self.star_subresources):
                return False
        return not self.names or a.name in self.names


@dataclass(frozen=True)
class _Subject:
    kind: str
    name: str
    namespace: str

    def describe(self, binding_namespace: str) -> str:
        """Upstream's `describeSubject`."""
        if self.kind == "ServiceAccount":
            return f"{self.kind} {go_quote(self.name + '/' + (self.namespace or binding_namespace))}"
        return f"{self.kind} {go_quote(self.name)}"

    def applies_to(self, user: UserInfo, binding_namespace: str) -> bool:
        """Upstream's `appliesToUser` (the binding namespace defaults a ServiceAccount's namespace)."""
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            ns = self.namespace or binding_namespace
            return bool(ns) and user.name == f"{SERVICE_ACCOUNT_PREFIX}{ns}:{self.name}"
        return False

    def index_key(self, binding_namespace: str) -> tuple[str, str] | None:
        """The (`user` | `group`, name) under which a binding with this subject is found, or None when the
        subject can match nobody."""
        if self.kind == "User":
            return ("user", self.name)
        if self.kind == "Group":
            return ("group", self.name)
        if self.kind == "ServiceAccount":
            ns = self.namespace or binding_namespace
            return ("user", f"{SERVICE_ACCOUNT_PREFIX}{ns}:{self.name}") if ns else None
        return None


@dataclass(frozen=True)
class _Grant:
    """One rule granted to a user, with the (shared, immutable) decision it yields when it allows."""

    rule: _Rule
    decision: Decision


@dataclass
class _Binding:
    kind: str  # ClusterRoleBinding | RoleBinding
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[_Subject, ...]
    rules: tuple[_Rule, ...] = ()
    error: str = ""
    _grants: dict[_Subject, tuple[_Grant, ...]] = field(default_factory=dict)

    def describe(self, subject: _Subject) -> str:
        """Upstream's `clusterRoleBindingDescriber` / `roleBindingDescriber`."""
        name = self.name if self.kind == "ClusterRoleBinding" else f"{self.name}/{self.namespace}"
        return (
            f"{self.kind} {go_quote(name)} of {self.role_kind} {go_quote(self.role_name)} to "
            f"{subject.describe(self.namespace)}"
        )

    def grants(self, subject: _Subject) -> tuple[_Grant, ...]:
        """This binding's rules as granted through `subject`, built once per subject and shared by every user
        it applies to (the allow reason names the subject)."""
        hit = self._grants.get(subject)
        if hit is None:
            allowed = Decision(True, f"RBAC: allowed by {self.describe(subject)}")
            hit = self._grants[subject] = tuple(_Grant(r, allowed) for r in self.rules)
        return hit


@dataclass(frozen=True)
class _Resolved:
    grants: tuple[_Grant, ...]
    errors: tuple[str, ...] = field(default=())


def _meta(obj: Any) -> Mapping[str, Any]:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    name = _meta(obj).get("name")
    return name if isinstance(name, str) else ""


def _namespace(obj: Mapping[str, Any]) -> str:
    ns = _meta(obj).get("namespace")
    return ns if isinstance(ns, str) else ""


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    labels = _meta(obj).get("labels")
    if not isinstance(labels, Mapping):
        return {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}


def _rules_of(obj: Mapping[str, Any]) -> list[Obj]:
    rules = obj.get("rules")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def _merge(defaults: Sequence[Obj], stored: Iterable[Obj]) -> list[Obj]:
    """Stored objects, plus the defaults whose names none of them uses."""
    stored = list(stored)
    taken = {_name(o) for o in stored}
    return stored + [d for d in defaults if _name(d) not in taken]


def _aggregate(cluster_roles: Mapping[str, Obj]) -> dict[str, list[Obj]]:
    """The effective rules of every ClusterRole after aggregation.

    Upstream's controller sets an aggregated role's rules to the union (first occurrence kept, selectors in
    order, matching roles sorted by name, the role itself skipped) of the current rules of the ClusterRoles its
    selectors match, and re-runs when any of them changes. Starting every aggregated role from no rules and
    iterating to the fixed point gives the state that controller converges to, including for chains
    (admin <- edit <- view) and cycles. An invalid selector matches nothing (upstream's controller gives up on
    that role; validation rejects such selectors on write anyway).
    """
    effective: dict[str, list[Obj]] = {}
    selectors: dict[str, list[LabelSelector]] = {}
    for name, role in cluster_roles.items():
        rule = role.get("aggregationRule")
        if isinstance(rule, Mapping):
            sels = rule.get("clusterRoleSelectors")
            parsed = []
            for sel in sels if isinstance(sels, list) else []:
                try:
                    parsed.append(label_selector_from_dict(sel))
                except BadRequest:
                    continue
            selectors[name] = parsed
            effective[name] = []
        else:
            effective[name] = _rules_of(role)
    if not selectors:
        return effective
    ordered = sorted(cluster_roles)
    labels = {name: _labels(cluster_roles[name]) for name in ordered}
    matches = {
        agg: [[m for m in ordered if m != agg and sel.matches(labels[m])] for sel in sels]
        for agg, sels in selectors.items()
    }
    for _ in range(len(cluster_roles) + 2):
        changed = False
        for agg, per_selector in matches.items():
            union: list[Obj] = []
            for members in per_selector:
                for member in members:
                    for r in effective[member]:
                        if r not in union:
                            union.append(r)
            if union != effective[agg]:
                effective[agg] = union
                changed = True
        if not changed:
            break
    return effective


class Policy:
    """The RBAC state of one logical cluster, ready to answer many requests.

    Built from the cluster's stored RBAC objects (any order; malformed entries grant nothing) with the
    bootstrap `DEFAULT_CLUSTER_ROLES` and `DEFAULT_CLUSTER_ROLE_BINDINGS` merged in unless an object of the same
    name is stored (pass `defaults=False` to evaluate the given objects alone). The objects are never modified;
    their rule dicts are kept by reference, so callers must not mutate them afterwards (stored bodies are
    replaced, not edited, which is what the authorizer's per-cluster cache relies on).
    """

    def __init__(
        self,
        roles: list[Obj],
        cluster_roles: list[Obj],
        role_bindings: list[Obj],
        cluster_role_bindings: list[Obj],
        *,
        defaults: bool = True,
    ) -> None:
        if defaults:
            cluster_roles = _merge(DEFAULT_CLUSTER_ROLES, cluster_roles)
            cluster_role_bindings = _merge(DEFAULT_CLUSTER_ROLE_BINDINGS, cluster_role_bindings)
        by_name: dict[str, Obj] = {}
        for cr in cluster_roles:
            if isinstance(cr, Mapping) and _name(cr):
                by_name[_name(cr)] = cr
        self._cluster_role_rules = _aggregate(by_name)
        compiled: dict[int, _Rule] = {}

        def compile_rules(rules: list[Obj]) -> tuple[_Rule, ...]:
            out = []
            for r in rules:
                c = compiled.get(id(r))
                if c is None:
                    c = compiled[id(r)] = _Rule(r)
                out.append(c)
            return tuple(out)

        cluster_rules = {name: compile_rules(rules) for name, rules in self._cluster_role_rules.items()}
        role_rules = {
            (_namespace(r), _name(r)): compile_rules(_rules_of(r)) for r in roles if isinstance(r, Mapping) and _name(r)
        }

        def binding(obj: Obj, kind: str) -> _Binding | None:
            if not isinstance(obj, Mapping) or not _name(obj):
                return None
            ref = obj.get("roleRef")
            if not isinstance(ref, Mapping):
                ref = {}
            role_kind, role_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
            listed = obj.get("subjects")
            subjects = tuple(
                _Subject(str(s.get("kind") or ""), str(s.get("name") or ""), str(s.get("namespace") or ""))
                for s in (listed if isinstance(listed, list) else [])
                if isinstance(s, Mapping)
            )
            ns = _namespace(obj) if kind == "RoleBinding" else ""
            b = _Binding(kind, _name(obj), ns, role_kind, role_name, subjects)
            if role_kind == "ClusterRole":
                rules = cluster_rules.get(role_name)
                if rules is None:
                    b.error = f"clusterrole.{RBAC_GROUP} {go_quote(role_name)} not found"
                else:
                    b.rules = rules
            elif role_kind == "Role":  # a ClusterRoleBinding looks in namespace "", where no Role lives
                rules = role_rules.get((ns, role_name))
                if rules is None:
                    b.error = f"role.{RBAC_GROUP} {go_quote(role_name)} not found"
                else:
                    b.rules = rules
            else:
                b.error = f"unsupported role reference kind: {go_quote(role_kind)}"
            return b

        self._crbs: list[_Binding] = [
            b for b in (binding(o, "ClusterRoleBinding") for o in cluster_role_bindings) if b is not None
        ]
        self._rbs: list[_Binding] = [b for b in (binding(o, "RoleBinding") for o in role_bindings) if b is not None]
        # subject index: ("user"|"group", name) -> positions in _crbs; namespace -> same for _rbs
        self._crb_index: dict[tuple[str, str], list[int]] = {}
        self._rb_index: dict[str, dict[tuple[str, str], list[int]]] = {}
        for i, b in enumerate(self._crbs):
            for key in {k for s in b.subjects if (k := s.index_key("")) is not None}:
                self._crb_index.setdefault(key, []).append(i)
        for i, b in enumerate(self._rbs):
            per_ns = self._rb_index.setdefault(b.namespace, {})
            for key in {k for s in b.subjects if (k := s.index_key(b.namespace)) is not None}:
                per_ns.setdefault(key, []).append(i)
        self._memo: dict[tuple[str, tuple[str, ...], str], _Resolved] = {}

    # -- resolution ---------------------------------------------------------------------------------------

    @staticmethod
    def _candidates(index: Mapping[tuple[str, str], list[int]], user: UserInfo) -> list[int]:
        found: set[int] = set(index.get(("user", user.name), ()))
        for g in user.groups:
            found.update(index.get(("group", g), ()))
        return sorted(found)

    def _resolve(self, user: UserInfo, namespace: str) -> _Resolved:
        """Every rule granted to `user` for requests in `namespace` ("" = cluster scope only), in upstream's
        visiting order (ClusterRoleBindings, then the namespace's RoleBindings, each in stored order)."""
        groups = tuple(user.groups)
        key = (user.name, groups, namespace)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        grants: list[_Grant] = []
        errors: list[str] = []
        sources: list[tuple[list[_Binding], list[int]]] = [(self._crbs, self._candidates(self._crb_index, user))]
        if namespace:
            sources.append((self._rbs, self._candidates(self._rb_index.get(namespace, {}), user)))
        for bindings, positions in sources:
            for i in positions:
                b = bindings[i]
                subject = next((s for s in b.subjects if s.applies_to(user, b.namespace)), None)
                if subject is None:  # pragma: no cover - the index only yields applicable bindings
                    continue
                if b.error:
                    errors.append(b.error)
                    continue
                grants.extend(b.grants(subject))
        resolved = _Resolved(tuple(grants), tuple(dict.fromkeys(errors)))
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = resolved
        return resolved

    # -- public API ---------------------------------------------------------------------------------------

    def authorize(self, attrs: Attributes) -> Decision:
        """Allow when some rule granted to `attrs.user` for `attrs.namespace` allows the request."""
        resolved = self._resolve(attrs.user, attrs.namespace if attrs.resource_request else "")
        for g in resolved.grants:
            if g.rule.allows(attrs):
                return g.decision
        if not resolved.errors:
            return Decision(False, "")
        errs = resolved.errors
        return Decision(False, "RBAC: " + (errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"))

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Obj], list[Obj]]:
        """The SelfSubjectRulesReview status lists for `user` in `namespace` (cluster-wide grants included):
        `resourceRules` `{verbs, apiGroups, resources, resourceNames}` and `nonResourceRules`
        `{verbs, nonResourceURLs}`, one entry per granted rule in evaluation order, undeduplicated and with
        empty lists omitted, as upstream returns them. The result is complete (`incomplete: false`)."""
        resource_rules: list[Obj] = []
        non_resource_rules: list[Obj] = []
        for g in self._resolve(user, namespace).grants:
            r = g.rule
            src = r.source
            verbs = list(_strings(src.get("verbs")))
            if r.resources:
                rr: Obj = {"verbs": verbs}
                for key in ("apiGroups", "resources", "resourceNames"):
                    values = list(_strings(src.get(key)))
                    if values:
                        rr[key] = values
                resource_rules.append(rr)
            if r.urls:
                urls = list(_strings(src.get("nonResourceURLs")))
                non_resource_rules.append({"verbs": verbs, "nonResourceURLs": urls})
        return resource_rules, non_resource_rules

    def cluster_role_rules(self, name: str) -> list[Obj] | None:
        """The effective rules of a ClusterRole (aggregation applied), or None if there is no such role."""
        rules = self._cluster_role_rules.get(name)
        return None if rules is None else [dict(r) for r in rules]
