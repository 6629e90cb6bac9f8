"""The DIDs pages of the GUI (the API has its own URLs in dids.api.urls)."""

from django.urls import path

from . import views
from .views.home import BlocksView
from .views.pickers import PickerView

app_name = "dids"

urlpatterns = [
    path("blocks/", BlocksView.as_view(), name="blocks"),
    path("pick/<slug:kind>/", PickerView.as_view(), name="pick"),
    path("", views.DidListView.as_view(), name="list"),
    path("export.csv", views.DidExportView.as_view(), name="export"),
    path("add/", views.DidCreateView.as_view(), name="create"),
    path("import/", views.DidImportView.as_view(), name="import"),
    path("import/<uuid:pk>/", views.DidImportPlanView.as_view(), name="import_plan"),
    path("bulk/", views.DidBulkView.as_view(), name="bulk"),
    path("<int:pk>/", views.DidDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.DidEditView.as_view(), name="edit"),
    path("<int:pk>/action/<slug:action>/", views.DidActionView.as_view(), name="action"),
]
