"""HTTP routes. Watches never reach these: the ASGI router sends them to the watch consumer."""

import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from kube.endpoints import views

api = views.KubeAPIView.as_view()
virtual_api = views.VirtualAPIView.as_view()
own_part_api = views.VirtualAPIView.as_view(whole=False)
OWN_PART = re.escape(settings.KUBE_OWN_PART_PREFIX.strip("/"))

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^(?:clusters/(?P<cluster>[^/]+)/)?(?:healthz|livez|readyz)(?:/.*)?$", views.health),
    re_path(r"^(?:clusters/(?P<cluster>[^/]+)/)?version/?$", views.version),
    re_path(r"^clusters/(?P<cluster>[^/]+)/(?P<path>(?:api|apis|openapi)(?:/.*)?)$", api),
    re_path(r"^(?P<path>(?:api|apis|openapi)(?:/.*)?)$", api),
    re_path(r"^services/(?P<path>.+)$", virtual_api),
    # this shard's own part of a virtual workspace served by several (kube.endpoints.fanout)
    re_path(rf"^{OWN_PART}/services/(?P<path>.+)$", own_part_api),
    path("", include("portal.urls")),  # the tenant portal: /, /login, /workspaces/... (never API paths)
    re_path(r"^.*$", views.not_found_view),
]
