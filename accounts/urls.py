from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from . import views

# The administration pages live in the `accounts` namespace; sign-in and sign-out
# keep their plain names (`login`, `logout`), which settings.LOGIN_URL and others use.
administration = [
    path("accounts/", views.AccountListView.as_view(), name="account_list"),
    path("accounts/new/", views.AccountCreateView.as_view(), name="account_create"),
    path("accounts/<int:pk>/", views.AccountEditView.as_view(), name="account_edit"),
    path(
        "accounts/<int:pk>/password/",
        views.AccountPasswordView.as_view(),
        name="account_password",
    ),
    path(
        "accounts/<int:pk>/api-settings/",
        views.ResellerApiSettingsView.as_view(),
        name="reseller_api_settings",
    ),
    path(
        "accountant-groups/",
        views.accountant_group_views["list"],
        name="accountant_group_list",
    ),
    path(
        "accountant-groups/new/",
        views.accountant_group_views["create"],
        name="accountant_group_create",
    ),
    path(
        "accountant-groups/<int:pk>/",
        views.accountant_group_views["edit"],
        name="accountant_group_edit",
    ),
    path(
        "accountant-groups/<int:pk>/delete/",
        views.accountant_group_views["delete"],
        name="accountant_group_delete",
    ),
    path("api-groups/", views.api_group_views["list"], name="api_group_list"),
    path("api-groups/new/", views.api_group_views["create"], name="api_group_create"),
    path("api-groups/<int:pk>/", views.api_group_views["edit"], name="api_group_edit"),
    path("api-groups/<int:pk>/delete/", views.api_group_views["delete"], name="api_group_delete"),
    path("settings/api/", views.ApiSettingsView.as_view(), name="api_settings"),
    path("settings/system/", views.SystemSettingsView.as_view(), name="system_settings"),
    path("hash-tool/", views.HashToolView.as_view(), name="hash_tool"),
    path("my-password/", views.OwnPasswordView.as_view(), name="own_password"),
    path("audit-log/", views.AuditLogView.as_view(), name="audit_log"),
]

urlpatterns = [
    path("login/", login_not_required(views.PortalLoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((administration, "accounts"))),
]
