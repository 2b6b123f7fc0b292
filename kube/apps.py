from django.apps import AppConfig


class KubeConfig(AppConfig):
    name = "kube"
    label = "kube"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kube.builtin import register_builtins

        register_builtins()
