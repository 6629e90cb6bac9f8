"""URLs of the portal: the GUI, the Django admin and the MOR-compatible API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dids:list", permanent=False)),
    path("", include("accounts.urls")),
    path("dids/", include("dids.urls")),
    path("billing/api/", include("dids.api.urls")),
    path("admin/", admin.site.urls),
]
