from django.apps import AppConfig


class ShardsConfig(AppConfig):
    name = "shards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kube.registry.store import on_change

        from .kinds import CORE, register
        from .tasks import shard_changed

        register()
        on_change(CORE, "shards", shard_changed)
