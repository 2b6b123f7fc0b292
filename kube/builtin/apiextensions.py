"""apiextensions.k8s.io/v1 CustomResourceDefinition: stored and served here; serving custom
resources from it is the CRD issue's work."""

from __future__ import annotations

from typing import Any

from kube.registry import Column, Strategy

Obj = dict[str, Any]


class CRDStrategy(Strategy):
    has_status_subresource = True
    allow_unconditional_update = False
    tracks_generation = True

    def columns(self) -> list[Column]:
        return [Column("Created At", "date", lambda o: o["metadata"].get("creationTimestamp", ""))]
