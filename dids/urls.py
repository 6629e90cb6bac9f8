"""The DIDs pages of the GUI (the API has its own URLs in dids.api.urls)."""

from django.urls import path

from . import views

app_name = "dids"

urlpatterns = [
    path("", views.DidListView.as_view(), name="list"),
    path("export.csv", views.DidExportView.as_view(), name="export"),
    path("bulk/", views.DidBulkView.as_view(), name="bulk"),
    path("<int:pk>/", views.DidDetailView.as_view(), name="detail"),
]
