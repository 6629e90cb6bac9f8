"""The MOR API, mounted at `/billing/api/` (portal/urls.py).

No trailing slash on `dids_get`, as MOR clients call it; the exact pattern matches,
so CommonMiddleware's APPEND_SLASH never redirects (and so never drops a POST).
"""

from django.urls import path

from .views import DidsGetView

app_name = "api"

urlpatterns = [
    path("", DidsGetView.as_view(by_action=True), name="dispatch"),
    path("dids_get", DidsGetView.as_view(), name="dids_get"),
    path("dids_get/", DidsGetView.as_view(), name="dids_get_slash"),
]
