"""Pages of the things around a DID: /providers/, /devices/, /dial-plans/."""

from django.urls import path

from .views.catalog import DEVICES, DIAL_PLANS, PROVIDERS, catalog_views

app_name = "catalog"

urlpatterns = []
for prefix, kind in (("providers", PROVIDERS), ("devices", DEVICES), ("dial-plans", DIAL_PLANS)):
    views = catalog_views(kind)
    urlpatterns += [
        path(f"{prefix}/", views["list"], name=f"{kind.key}_list"),
        path(f"{prefix}/new/", views["create"], name=f"{kind.key}_create"),
        path(f"{prefix}/<int:pk>/", views["edit"], name=f"{kind.key}_edit"),
        path(f"{prefix}/<int:pk>/delete/", views["delete"], name=f"{kind.key}_delete"),
    ]
