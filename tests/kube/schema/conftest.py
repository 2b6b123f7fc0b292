"""Shared fixtures for kube.schema tests: the conformance suite's Widget CRD, inlined so the tests do not
depend on shared/ (kept in sync with shared/conformance/kcpconf.py `widget_crd` by test_widget_fixture_in_sync)."""

from __future__ import annotations

import copy
from typing import Any

import pytest


def widget_crd(
    group: str = "example.com", plural: str = "widgets", kind: str = "Widget", scope: str = "Namespaced"
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "size": {"type": "integer", "minimum": 0},
                                        "color": {"type": "string", "default": "blue"},
                                    },
                                },
                                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                            },
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture
def crd() -> dict[str, Any]:
    return widget_crd()


@pytest.fixture
def widget_schema() -> dict[str, Any]:
    return copy.deepcopy(widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
