"""HTTP routes. Watches never reach these: the ASGI router sends them to the watch consumer."""

from django.contrib import admin
from django.urls import include, path, re_path

from kube.endpoints import views

api = views.KubeAPIView.as_view()
virtual_api = views.VirtualAPIView.as_view()

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^(?:clusters/(?P<cluster>[^/]+)/)?(?:healthz|livez|readyz)(?:/.*)?$", views.health),
    re_path(r"^(?:clusters/(?P<cluster>[^/]+)/)?version/?$", views.version),
    re_path(r"^clusters/(?P<cluster>[^/]+)/(?P<path>(?:api|apis|openapi)(?:/.*)?)$", api),
    re_path(r"^(?P<path>(?:api|apis|openapi)(?:/.*)?)$", api),
    re_path(r"^services/(?P<path>.+)$", virtual_api),
    path("", include("portal.urls")),  # the tenant portal: /, /login, /workspaces/... (never API paths)
    re_path(r"^.*$", views.not_found_view),
]
