from django.apps import AppConfig


class KubeConfig(AppConfig):
    name = "kube"
    label = "kube"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: kube.registration reaches the models, which Django loads only once
        # every app is.
        from kube import registration
        from kube.authz import replication

        registration.register()
        replication.register()
