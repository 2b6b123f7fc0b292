"""Names and labels of apis.kcp.io that several modules agree on: the group, the key naming one
export, the labels marking an export's bindings and the objects its claims reach, the storage
resource of a bound resource, and what a permission claim is about."""

from __future__ import annotations

import hashlib
from typing import Any

GROUP = "apis.kcp.io"


def export_key(*, export_cluster: str, export_name: str) -> str:
    """A stable short key of one export (label keys name exports by it)."""
    return hashlib.sha224(f"{export_cluster}:{export_name}".encode()).hexdigest()


def export_label(*, export_cluster: str, export_name: str) -> str:
    """Carried by every APIBinding of the export: the provider's view lists them by it."""
    return "internal.apis.kcp.io/export-" + export_key(export_cluster=export_cluster, export_name=export_name)


def claim_label(*, export_cluster: str, export_name: str) -> str:
    """Carried by every consumer object the export's accepted claims reach."""
    return "claimed.internal.apis.kcp.io/" + export_key(export_cluster=export_cluster, export_name=export_name)


def bound_storage_resource(*, resource: str, identity_hash: str) -> str:
    return f"{resource}:{identity_hash}"


def claim_key(claim: dict[str, Any]) -> tuple[str, str, str]:
    """(group, resource, identityHash): what a claim is about, in the export and the binding."""
    return (str(claim.get("group", "")), str(claim.get("resource", "")), str(claim.get("identityHash", "")))
