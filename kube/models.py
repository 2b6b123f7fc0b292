"""Django models of the kube app (re-exported from kube.storage.models so Django finds them)."""

from kube.authz.models import Token
from kube.storage.models import Event, KubeObject, Revision, StoredObject

__all__ = ["Event", "KubeObject", "Revision", "StoredObject", "Token"]
