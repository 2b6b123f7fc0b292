"""Shared fixtures for kube.schema tests: the conformance suite's Widget CRD (tests.factories
`widget_crd`, a copy of shared/conformance/kcpconf.py's, so the tests do not depend on shared/)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories import widget_crd


@pytest.fixture
def crd() -> dict[str, Any]:
    return widget_crd()


@pytest.fixture
def widget_schema() -> dict[str, Any]:
    return copy.deepcopy(widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
