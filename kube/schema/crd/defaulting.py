"""CRD defaulting, as `pkg/apis/apiextensions/v1/defaults.go` fills a v1 CustomResourceDefinition."""

from __future__ import annotations

from .common import (
    Obj,
    _d,
    _go_lower,
    _l,
    _s,
)


def default_crd(crd: Obj) -> None:
    """Apply v1 CRD defaulting in place (`SetObjectDefaults_CustomResourceDefinition`)."""
    if not isinstance(crd, dict):
        return
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = _s(names.get("kind"))
        if not names.get("singular"):
            names["singular"] = _go_lower(kind)
        if not names.get("listKind") and kind:
            names["listKind"] = kind + "List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}
    service = _d(_d(_d(_d(spec.get("conversion")).get("webhook")).get("clientConfig")).get("service"))
    if service and service.get("port") is None:
        service["port"] = 443
    status = crd.get("status")
    if status is None:
        status = {}
    if isinstance(status, dict) and not status.get("storedVersions"):
        for v in _l(spec.get("versions")):
            if isinstance(v, dict) and v.get("storage") is True and isinstance(v.get("name"), str):
                status["storedVersions"] = [v["name"]]
                crd["status"] = status
                break
