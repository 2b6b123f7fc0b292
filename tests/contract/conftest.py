"""The contract suite's fixtures: `kind` is parametrized by each test (tests.contract.support
`kinds`); `case` is its row of the table and `w` its workspace with the identities.

One world per kind, shared by the checks of a module (Django's `setUpTestData` pattern): the
workspace, identities and prerequisites are written once inside an outer transaction that is
rolled back after the module's last test of that kind; each test runs in a savepoint inside it
(the `db` fixture), so every check starts from the same untouched world. The watch tests need
committed data and build their own world per test (tests/contract/test_watch.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.kinds import CASES, Case, World, world


@pytest.fixture
def case(kind: tuple[str, str, str]) -> Case:
    return CASES[kind]


@pytest.fixture(scope="module")
def w(kind: tuple[str, str, str], django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    from django.db import connections, transaction
    from django.test import Client

    from kcpsite.bootstrap import bootstrap_root
    from kube.authz.tokens import token_issue

    with django_db_blocker.unblock():
        # One outer transaction per database (the shard's and the global one, where the world's
        # users and tokens go): every write of the world is rolled back.
        aliases = list(connections)
        outers = [transaction.atomic(using=alias) for alias in aliases]
        for outer in outers:
            outer.__enter__()
        try:
            bootstrap_root()
            admin = Api(Client(), token_issue(user_name="admin", groups=["system:masters"]))
            yield world(admin, CASES[kind])
        finally:
            for alias in aliases:
                transaction.set_rollback(True, using=alias)
            for outer in reversed(outers):
                outer.__exit__(None, None, None)
