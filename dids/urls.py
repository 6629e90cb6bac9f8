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
    path("<int:pk>/", views.DidDetailView.as_view(), name="detail"),
]
