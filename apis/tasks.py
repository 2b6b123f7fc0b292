"""Celery tasks of the apis app: keys in, idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_apiexport(cluster: str, name: str) -> str:
    from .services import apiexport_reconcile

    return apiexport_reconcile(cluster=cluster, name=name)
