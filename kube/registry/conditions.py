"""Status conditions, one rule for every controller (Kubernetes' `meta.SetStatusCondition`):
a condition's `lastTransitionTime` moves only when its `status` changes; a new reason or message
alone rewrites those fields and keeps the time. A condition that does not change at all stays the
same dict in the same place, so a reconciler that recomputes a status it already wrote produces
an equal status and writes nothing."""

from __future__ import annotations

from typing import Any

from kube.timefmt import now_rfc3339

Obj = dict[str, Any]


def set_condition(
    target: Obj,
    *,
    type: str,  # noqa: A002 - the field's name in every Kubernetes condition
    status: str | bool,
    reason: str = "",
    message: str = "",
    now: str | None = None,
) -> bool:
    """Set condition `type` in `target["conditions"]` (`target` is an object's `.status`; the list
    is created when absent); `status` is "True"/"False"/"Unknown" or a bool. Empty `reason`/`message` are
    left out. `now` is the time to record on a transition (default: the current time). Returns
    whether the conditions changed. Existing conditions keep their order; a new one is appended."""
    value = ("True" if status else "False") if isinstance(status, bool) else str(status)
    conditions = [c for c in target.get("conditions") or [] if isinstance(c, dict)]
    index = next((i for i, c in enumerate(conditions) if c.get("type") == type), None)
    old = conditions[index] if index is not None else None
    new: Obj = {"type": type, "status": value}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if old is not None and old.get("status") == value and old.get("lastTransitionTime"):
        new["lastTransitionTime"] = old["lastTransitionTime"]
    else:
        new["lastTransitionTime"] = now or now_rfc3339()
    if old is not None and {k: v for k, v in old.items() if k != "lastTransitionTime"} == {
        k: v for k, v in new.items() if k != "lastTransitionTime"
    } and old.get("lastTransitionTime"):
        target["conditions"] = conditions
        return False
    if index is None:
        conditions.append(new)
    else:
        conditions[index] = new
    target["conditions"] = conditions
    return True


def condition_is_true(status: Obj, type: str) -> bool:  # noqa: A002
    """Whether `status` holds condition `type` with status "True"."""
    return any(
        isinstance(c, dict) and c.get("type") == type and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
