"""The Django admin for accounts, groups and settings. Secrets are never shown in full."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import AccountantGroup, ApiPermissionGroup, ApiSettings, SystemSettings, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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


@admin.register(AccountantGroup)
class AccountantGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "manage_dids")
    search_fields = ("name",)


@admin.register(ApiPermissionGroup)
class ApiPermissionGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "methods")
    search_fields = ("name",)


class ApiSettingsForm(forms.ModelForm):
    """Leaves the stored secret alone unless a new one is typed; never renders it."""

    api_secret_key = forms.CharField(
        label="API Secret Key",
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
        new = cleaned.get("api_secret_key")
        if cleaned.get("clear_secret"):
            self.instance.api_secret_key = ""
        elif new:
            self.instance.api_secret_key = new
        return cleaned


@admin.register(ApiSettings)
class ApiSettingsAdmin(admin.ModelAdmin):
    form = ApiSettingsForm
    list_display = ("__str__", "allow_api", "allow_get_api", "disable_hash_checking", "secret")
    list_select_related = ("reseller",)
    fields = (
        "reseller",
        "allow_api",
        "allow_get_api",
        "disable_hash_checking",
        "secret",
        "api_secret_key",
        "clear_secret",
    )
    readonly_fields = ("secret",)

    @admin.display(description="Secret key")
    def secret(self, obj: ApiSettings) -> str:
        return obj.masked_secret or "—"


@admin.register(SystemSettings)
class SystemSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "days_for_did_close")

    def has_add_permission(self, request) -> bool:
        return not SystemSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
