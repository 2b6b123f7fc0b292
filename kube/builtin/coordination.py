"""coordination.k8s.io/v1 Lease."""

from __future__ import annotations

from kube.registry import Column, Strategy


class LeaseStrategy(Strategy):
    def columns(self) -> list[Column]:
        return [Column("Holder", "string", lambda o: (o.get("spec") or {}).get("holderIdentity", ""))]
