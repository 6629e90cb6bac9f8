"""The Django admin for DIDs and the things around them."""

from django.contrib import admin

from .models import Device, DialPlan, Did, DidHistory, DidImport, Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "owner")
    list_select_related = ("owner",)
    search_fields = ("name",)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("display", "extension", "user")
    list_select_related = ("user",)
    search_fields = ("name", "extension", "user__username")


@admin.register(DialPlan)
class DialPlanAdmin(admin.ModelAdmin):
    list_display = ("display", "owner")
    list_select_related = ("owner",)
    list_filter = ("type",)
    search_fields = ("name",)


class DidHistoryInline(admin.TabularInline):
    model = DidHistory
    extra = 0
    can_delete = False
    readonly_fields = ("at", "by", "source", "action", "changes")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Did)
class DidAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "provider", "reseller", "user", "device", "dial_plan")
    list_filter = ("status",)
    list_select_related = ("provider", "reseller", "user", "device", "dial_plan")
    search_fields = ("number",)
    raw_id_fields = ("provider", "user", "device", "reseller", "dial_plan")
    readonly_fields = ("created_at",)
    inlines = [DidHistoryInline]
    show_full_result_count = False


@admin.register(DidHistory)
class DidHistoryAdmin(admin.ModelAdmin):
    list_display = ("did", "at", "by", "source", "action")
    list_select_related = ("did", "by")
    list_filter = ("source", "action")
    raw_id_fields = ("did", "by")


@admin.register(DidImport)
class DidImportAdmin(admin.ModelAdmin):
    """Uploaded files and their dry runs: read-only here (the import pages write them)."""

    list_display = ("id", "state")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
