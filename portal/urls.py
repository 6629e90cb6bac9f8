"""URLs of the portal: the GUI, the Django admin and the MOR-compatible API."""

from django.contrib import admin
from django.urls import include, path

from dids.api.methods.dispatch import api_dispatch
from dids.views.home import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("", include("accounts.urls")),
    path("", include("dids.catalog_urls")),
    path("dids/", include("dids.urls")),
    path("billing/api/", include("dids.api.urls")),
    # The dispatch URL without its slash too: APPEND_SLASH would answer a POST with a
    # redirect (losing its body), and a client's slash must not decide whether it works.
    path("billing/api", api_dispatch),
    path("admin/", admin.site.urls),
]

# Django's own 400 page reads a POST body again (requires_csrf_token) and fails with a
# bare 500 when the body was what could not be read.
handler400 = "portal.errors.bad_request"
