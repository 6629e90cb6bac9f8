"""The MOR API, mounted at `/billing/api/` (portal/urls.py).

No trailing slash needed, as MOR clients call the methods; the exact pattern
matches, so CommonMiddleware's APPEND_SLASH never redirects (and so never drops a
POST). Every write method and alias has its own path (did_methods.md §1); any other
name under `/billing/api/` is no route (HTTP 404).
"""

from django.urls import path

from .methods import BY_NAME
from .methods.dispatch import api_dispatch
from .methods.view import WriteMethodView
from .views import DidsGetView

app_name = "api"

urlpatterns = [
    path("", api_dispatch, name="dispatch"),
    path("dids_get", DidsGetView.as_view(), name="dids_get"),
    path("dids_get/", DidsGetView.as_view(), name="dids_get_slash"),
]
for _name, _method in BY_NAME.items():
    _view = WriteMethodView.as_view(method=_method)
    urlpatterns += [path(_name, _view, name=_name), path(f"{_name}/", _view)]
