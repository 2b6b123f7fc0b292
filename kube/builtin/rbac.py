"""rbac.authorization.k8s.io/v1 kinds: stored and served; enforcement is a later issue."""

from __future__ import annotations

from typing import Any

from kube.errors import FieldErrors
from kube.registry import Column, Strategy

Obj = dict[str, Any]


def _subjects(kind: str):  # type: ignore[no-untyped-def]
    return lambda o: ", ".join(s.get("name", "") for s in o.get("subjects") or [] if s.get("kind") == kind)


def _validate_rules(obj: Obj) -> FieldErrors:
    errs = FieldErrors()
    for i, rule in enumerate(obj.get("rules") or []):
        if not isinstance(rule, dict):
            errs.invalid(f"rules[{i}]", rule, "must be an object")
            continue
        if not rule.get("verbs"):
            errs.required(f"rules[{i}].verbs", "verbs must contain at least one value")
        if rule.get("nonResourceURLs") and (rule.get("resources") or rule.get("apiGroups")):
            errs.invalid(
                f"rules[{i}].nonResourceURLs",
                rule["nonResourceURLs"],
                "rules cannot apply to both regular resources and non-resource URLs",
            )
    return errs


def _validate_binding(obj: Obj, namespaced: bool) -> FieldErrors:
    errs = FieldErrors()
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        errs.required("roleRef")
        return errs
    if not ref.get("name"):
        errs.required("roleRef.name")
    allowed = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in allowed:
        errs.not_supported("roleRef.kind", ref.get("kind"), allowed)
    if ref.get("apiGroup") != "rbac.authorization.k8s.io":
        errs.not_supported("roleRef.apiGroup", ref.get("apiGroup"), ["rbac.authorization.k8s.io"])
    for i, s in enumerate(obj.get("subjects") or []):
        if not isinstance(s, dict) or not s.get("name"):
            errs.required(f"subjects[{i}].name")
            continue
        if s.get("kind") not in ("User", "Group", "ServiceAccount"):
            errs.not_supported(f"subjects[{i}].kind", s.get("kind"), ["ServiceAccount", "User", "Group"])
    return errs


def _validate_roleref_immutable(new: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    if new.get("roleRef") != old.get("roleRef"):
        errs.invalid("roleRef", new.get("roleRef"), "cannot change roleRef")
    return errs


class RoleStrategy(Strategy):
    name_is_path_segment = True

    def validate(self, obj: Obj) -> FieldErrors:
        return _validate_rules(obj)

    def columns(self) -> list[Column]:
        return [Column("Created At", "string", lambda o: o["metadata"].get("creationTimestamp", ""))]

    append_age_column = False


class ClusterRoleStrategy(RoleStrategy):
    pass


class RoleBindingStrategy(Strategy):
    name_is_path_segment = True

    namespaced = True

    def validate(self, obj: Obj) -> FieldErrors:
        return _validate_binding(obj, self.namespaced)

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = self.validate(new)
        errs.extend(_validate_roleref_immutable(new, old))
        return errs

    def columns(self) -> list[Column]:
        return [
            Column(
                "Role",
                "string",
                lambda o: f"{(o.get('roleRef') or {}).get('kind', '')}/{(o.get('roleRef') or {}).get('name', '')}",
            ),
            Column("Users", "string", _subjects("User"), priority=1),
            Column("Groups", "string", _subjects("Group"), priority=1),
            Column("ServiceAccounts", "string", _subjects("ServiceAccount"), priority=1),
        ]

    def table_columns(self, name: Column, age: Column) -> list[Column]:
        """kube's order: Name, Role, Age, then the wide Users, Groups, ServiceAccounts."""
        role, *wide = self.columns()
        return [name, role, age, *wide]


class ClusterRoleBindingStrategy(RoleBindingStrategy):
    namespaced = False
