"""The contract suite's fixtures: `kind` is parametrized by each test (tests.contract.support
`kinds`); `case` is its row of the table and `w` its workspace with the identities."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.contract.kinds import CASES, Case, World, world


@pytest.fixture
def case(kind: tuple[str, str, str]) -> Case:
    return CASES[kind]


@pytest.fixture
def w(api: Api, case: Case) -> World:
    return world(api, case)
