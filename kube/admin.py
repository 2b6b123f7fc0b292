"""Django admin registrations of the kube app (found by admin autodiscovery)."""

from kube.authz import admin as authz_admin  # noqa: F401  (registers Token)
