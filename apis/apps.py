from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .registration import register

        register()
