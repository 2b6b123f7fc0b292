"""Portal routes of the API catalog, the bind wizard and binding status (included by
kcpsite.portal.urls under the `portal` namespace)."""

from django.urls import path

import workspaces.portal_urls  # noqa: F401  (registers the `wspath` converter)

from . import portal

CATALOG = "workspaces/<wspath:path>/catalog/"
EXPORT = CATALOG + "<wspath:export_path>/<str:export_name>/"
BINDING = "workspaces/<wspath:path>/bindings/<str:name>/"

urlpatterns = [
    path(CATALOG, portal.catalog_view, name="catalog"),
    path(EXPORT + "bind", portal.bind_view, name="catalog-bind"),
    path(EXPORT + "review", portal.bind_review_view, name="catalog-bind-review"),
    path(BINDING, portal.binding_view, name="binding"),
    path(BINDING + "status", portal.binding_status_view, name="binding-status"),
    path(BINDING + "claims", portal.binding_claims_view, name="binding-claims"),
]
