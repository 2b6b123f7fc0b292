"""The apis app wired into kube at start-up (AppConfig.ready): its kinds (each with its table),
the resources bindings serve, claim admission, the controllers' triggers and the APIExport
virtual workspace. Here, above every other module of the app, so that nothing below needs a
function-local import to reach its neighbours."""

from __future__ import annotations

from kube.authz.replication import Grant, replicated_grant_register, replicated_subject_prefix_register
from kube.registry import REGISTRY
from kube.registry.reserved import exempt_metadata_key
from kube.registry.resources import ALL_VERBS
from kube.registry.store import on_admission, on_change
from shards.cache.spec import APIS_CHANNEL
from shards.notifications import global_channel_register

from .bindings import BINDING_PREFIX, bound_resources
from .claims import claims_admit
from .kinds import KINDS
from .models import PRESENCE_CHANNEL
from .names import GROUP
from .services import SKIP_SLICE_ANNOTATION
from .tasks import apibinding_changed, apiexport_cache_notified, apiexport_changed, apiexport_presence_notified
from .virtual import register_apiexport_virtual_workspace


def register() -> None:
    for info in KINDS:
        REGISTRY.register(info)
    REGISTRY.add_provider(bound_resources, first=True)
    on_admission(claims_admit)
    # kcp.io is reserved (workspaces app), but this opt-out is the export owner's to set
    exempt_metadata_key(SKIP_SLICE_ANNOTATION)
    on_change(GROUP, "apibindings", apibinding_changed)
    on_change(GROUP, "apiexports", apiexport_changed)
    register_apiexport_virtual_workspace()
    # a shard's first binding of an export, or its last one gone: the export's shard updates the
    # endpoint slice (apis.presence)
    global_channel_register(channel=PRESENCE_CHANNEL, handler=apiexport_presence_notified)
    # `bind` is checked in the export's workspace, which may be on another shard: its RBAC is
    # replicated into the cache (kube.authz.replication).
    replicated_grant_register(Grant(verb="bind", api_group=GROUP, resource="apiexports"))
    # so is `apiexports/content`, which a shard's provider virtual workspace checks for an export
    # another shard holds (apis.virtual)
    for verb in ALL_VERBS:
        replicated_grant_register(Grant(verb=verb, api_group=GROUP, resource="apiexports/content"))
    # and the maximal permission policy of an export another shard holds is evaluated against its
    # workspace's RBAC for the `apis.kcp.io:binding:` users and groups (apis.bindings)
    replicated_subject_prefix_register(BINDING_PREFIX)
    # an export or its schemas changed on another shard: the bindings here re-reconcile
    global_channel_register(channel=APIS_CHANNEL, handler=apiexport_cache_notified)
