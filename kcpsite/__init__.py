"""Django project of the kcp-shaped control plane."""
from .celery import app as celery_app

__all__ = ["celery_app"]
