"""kube wired at start-up (AppConfig.ready): the built-in kinds, the provider of the kinds CRDs
define, and the controllers' triggers (namespace and CRD cleanup). Here, above `kube.builtin` and
`kube.tasks`, so that the kinds need not import the tasks that clean up after them (the tasks
import the kinds' cleanup functions)."""

from __future__ import annotations

from kube.builtin import builtin_resources
from kube.builtin.apiextensions import GROUP as CRD_GROUP
from kube.builtin.apiextensions import RESOURCE as CRD_RESOURCE
from kube.builtin.customresources import crd_resources
from kube.registry import REGISTRY
from kube.registry.store import on_change
from kube.tasks import crd_changed, namespace_changed


def register() -> None:
    for info in builtin_resources():
        REGISTRY.register(info)
    on_change("", "namespaces", namespace_changed)
    REGISTRY.add_provider(crd_resources)
    on_change(CRD_GROUP, CRD_RESOURCE, crd_changed)
