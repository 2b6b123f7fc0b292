from django.apps import AppConfig


class FrontProxyConfig(AppConfig):
    """No models: the management commands `kcp_proxy_config` and `kcp_route_syncer`."""

    name = "frontproxy"
    default_auto_field = "django.db.models.BigAutoField"
