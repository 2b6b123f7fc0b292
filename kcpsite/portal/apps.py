from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The tenant portal's shell: login, personal tokens, theme, websocket, object browser."""

    name = "kcpsite.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"
