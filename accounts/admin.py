"""The Django admin for accounts, groups and settings. Secrets are never shown in full."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse

from .audit import (
    accountant_group_snapshot,
    api_permission_group_snapshot,
    api_settings_snapshot,
    audit_record,
    change_text,
    creation_changes,
    snapshot_changes,
    system_settings_snapshot,
    user_snapshot,
)
from .forms import PortalAdminAuthenticationForm
from .models import (
    AccountantGroup,
    ApiKnownClient,
    ApiPermissionGroup,
    ApiSettings,
    AuditEntry,
    SystemSettings,
    User,
)

# /admin/login/ must not be a way around the sign-in lockout.
admin.site.login_form = PortalAdminAuthenticationForm


class AuditedAdminMixin:
    """Changes made in the Django admin land in the audit log like the portal's own."""

    audit_snapshot: Callable[[Any], dict]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        snapshot = type(self).audit_snapshot
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        after = snapshot(obj)
        audit_record(
            by=request.user,
            action=AuditEntry.Action.UPDATE if before is not None else AuditEntry.Action.CREATE,
            instance=obj,
            changes=snapshot_changes(before, after)
            if before is not None
            else creation_changes(after),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        changes = [
            {"field": label, "old": value, "new": "—"}
            for label, value in type(self).audit_snapshot(obj).items()
            if isinstance(value, str)
        ]
        audit_record(
            by=request.user, action=AuditEntry.Action.DELETE, instance=obj, changes=changes
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # One entry per object, as for a single delete.
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    audit_snapshot = user_snapshot
    list_display = ("username", "display_name", "role", "owner", "is_active", "api_restricted")
    list_filter = ("role", "is_active", "api_restricted", "own_providers")
    search_fields = ("username", "first_name", "last_name", "email")
    list_select_related = ("owner",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            "Portal",
            {
                "fields": (
                    "role",
                    "owner",
                    "is_system_administrator",
                    "own_providers",
                    "api_restricted",
                    "accountant_group",
                    "api_permission_group",
                    "hide_terminated_dids",
                    "items_per_page",
                )
            },
        ),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Portal", {"fields": ("role", "owner")}),
    )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        # A redirect after a POST is the admin's "password changed".
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            audit_record(
                by=request.user,
                action=AuditEntry.Action.UPDATE,
                instance=user,
                changes=[{"field": "Password", "note": "password changed"}],
            )
        return response


@admin.register(AccountantGroup)
class AccountantGroupAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_snapshot = accountant_group_snapshot
    list_display = ("name", "manage_dids")
    search_fields = ("name",)


@admin.register(ApiPermissionGroup)
class ApiPermissionGroupAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_snapshot = api_permission_group_snapshot
    list_display = ("name", "methods")
    search_fields = ("name",)


class ApiSettingsForm(forms.ModelForm):
    """Leaves the stored secret alone unless a new one is typed; never renders it."""

    # Not named api_secret_key: a form field named like the model field would be
    # copied onto the instance (blank included) after clean().
    new_secret_key = forms.CharField(
        label="New API Secret Key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )
    clear_secret = forms.BooleanField(required=False, label="Remove the secret key")

    class Meta:
        model = ApiSettings
        fields = ("reseller", "allow_api", "allow_get_api", "disable_hash_checking")

    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("new_secret_key")
        if cleaned.get("clear_secret"):
            self.instance.api_secret_key = ""
        elif new:
            self.instance.api_secret_key = new
        return cleaned


@admin.register(ApiSettings)
class ApiSettingsAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_snapshot = api_settings_snapshot
    form = ApiSettingsForm
    list_display = ("__str__", "allow_api", "allow_get_api", "disable_hash_checking", "secret")
    list_select_related = ("reseller",)
    fields = (
        "reseller",
        "allow_api",
        "allow_get_api",
        "disable_hash_checking",
        "secret",
        "new_secret_key",
        "clear_secret",
    )
    readonly_fields = ("secret",)

    @admin.display(description="Secret key")
    def secret(self, obj: ApiSettings) -> str:
        return obj.masked_secret or "—"


@admin.register(SystemSettings)
class SystemSettingsAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_snapshot = system_settings_snapshot
    list_display = ("__str__", "days_for_did_close")

    def has_add_permission(self, request) -> bool:
        return not SystemSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: entries are written by the services, never edited."""

    list_display = ("created_at", "actor_name", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "object_repr")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "change_list",
    )
    readonly_fields = fields

    @admin.display(description="Changes")
    def change_list(self, obj: AuditEntry) -> str:
        return "; ".join(change_text(change) for change in obj.changes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


@admin.register(ApiKnownClient)
class ApiKnownClientAdmin(admin.ModelAdmin):
    """The API's known clients (dids_get.md §7), written by successful authentications.
    Deleting one puts that address back under the lock of its `u`."""

    list_display = ("user", "address", "last_success_at")
    search_fields = ("user__username", "address")
    list_select_related = ("user",)
    readonly_fields = ("user", "address", "last_success_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ApiKnownClient | None = None
    ) -> bool:
        return False
