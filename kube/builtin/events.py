"""events.k8s.io/v1 Event. Stored on its own (not converted to/from core/v1 Events)."""

from __future__ import annotations

from typing import Any

from kube.registry import Column, Strategy


class EventsV1Strategy(Strategy):
    field_labels = (
        "reason",
        "type",
        "reportingController",
        "regarding.kind",
        "regarding.name",
        "regarding.namespace",
        "regarding.uid",
    )

    def columns(self) -> list[Column]:
        def regarding(o: dict[str, Any]) -> str:
            ref = o.get("regarding") or {}
            return f"{(ref.get('kind') or '').lower()}/{ref.get('name', '')}"

        return [
            Column("Type", "string", lambda o: o.get("type", "")),
            Column("Reason", "string", lambda o: o.get("reason", "")),
            Column("Object", "string", regarding),
            Column("Message", "string", lambda o: o.get("note", "")),
        ]
