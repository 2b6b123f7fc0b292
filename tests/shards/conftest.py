"""Helpers of the shards tests: what a commit sets off on a live stack, run in a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def committed() -> Iterator[None]:
    """Run what the writes inside set off once they commit, as on a live stack: the after-commit
    callbacks of both databases (the Store's triggers on the shard's, none on the global one
    today, but nothing is missed if one appears) and the Celery tasks they enqueue, eagerly
    (callbacks those tasks register run too)."""
    from django.db import connections
    from django.test import TestCase

    from kcpsite.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with TestCase.captureOnCommitCallbacks(using="default", execute=True):
            if "global" in connections.databases:
                with TestCase.captureOnCommitCallbacks(using="global", execute=True):
                    yield
            else:
                yield
    finally:
        app.conf.task_always_eager = eager
