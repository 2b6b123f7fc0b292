from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The tenant portal: login, personal tokens, theme, workspace pages, the API catalog and bind
    wizard, the object browser and the live websocket. It uses the apps' services and selectors;
    nothing below it (kube, workspaces, apis, shards) imports it.

    The label stays "portal" (it was `kcpsite.portal` before it became a top-level app) so the
    migration history and the `portal_preference` table carry over unchanged."""

    name = "portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"
