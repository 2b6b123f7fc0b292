from django.apps import AppConfig


class ShardsConfig(AppConfig):
    name = "shards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kube.authz.authorizer import ReplicatedRBAC, replicated_rbac_set
        from kube.authz.replication import replicated_marks_keep_when
        from kube.registry.store import on_change

        from .cache.selectors import cache_rbac_rows, cache_rbac_signature
        from .cache.spec import cache_configured
        from .kinds import CORE, register
        from .tasks import shard_changed

        register()
        on_change(CORE, "shards", shard_changed)
        # Cross-cluster checks (`use`, `bind`, `initialize`) in a cluster another shard holds read
        # its replicated RBAC from the cache (kube.authz.authorizer, shards.cache.selectors).
        replicated_rbac_set(ReplicatedRBAC(signature=cache_rbac_signature, rows=cache_rbac_rows))
        # The RBAC replication marks are kept while there is a cache to replicate them into.
        replicated_marks_keep_when(cache_configured)
