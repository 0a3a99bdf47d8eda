"""Exports in the admin. Jobs and tokens are personal: non-superusers see only their own (a job's manifest
names every site it covers, so site scoping alone would leak); release keys are never displayed.
The "Export selected rows (CSV)" action is registered here once, for every admin changelist."""

from __future__ import annotations

from django.contrib import admin

from registry.core.admin import SiteScopedAdmin
from registry.exports.admin_actions import export_selected_csv
from registry.exports.models import ExportJob, ExportRelease, RedcapToken
from registry.sites.scoping import is_unrestricted

admin.site.add_action(export_selected_csv, "export_selected_csv")


class OwnRowsAdmin(SiteScopedAdmin):
    """Superusers see every row; everyone else the rows they own (`owner_field`)."""

    owner_field = "requested_by"

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if is_unrestricted(request.user) else qs.filter(**{self.owner_field: request.user})


@admin.register(ExportJob)
class ExportJobAdmin(OwnRowsAdmin):
    list_display = ["id", "created_at", "requested_by", "source", "format", "shape", "status", "progress",
                    "row_count", "pseudonymised", "release"]
    list_filter = ["status", "format", "shape", "source", "pseudonymised", "release"]
    search_fields = ["requested_by__username", "file_name", "checksum_sha256"]
    list_select_related = ["requested_by", "release"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ExportJob._meta.concrete_fields] + ["sites"]

    def has_add_permission(self, request):
        return False  # jobs are created through the export page or API (scope and pseudonymisation rules)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExportRelease)
class ExportReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "data_cutoff", "created_by", "created_at"]
    search_fields = ["name", "description"]
    list_filter = ["data_cutoff"]
    exclude = ["key"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None):
        return is_unrestricted(request.user)

    def has_add_permission(self, request):
        return is_unrestricted(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # shifted dates of past exports depend on the key


@admin.register(RedcapToken)
class RedcapTokenAdmin(OwnRowsAdmin):
    owner_field = "user"
    list_display = ["user", "label", "token_hint", "is_active", "release", "created_at", "last_used_at"]
    list_filter = ["is_active", "release"]
    search_fields = ["user__username", "label"]
    list_select_related = ["user", "release"]
    fields = ["user", "label", "release", "is_active", "token", "created_at", "last_used_at"]
    readonly_fields = ["token", "created_at", "last_used_at"]

    @admin.display(description="Token")
    def token_hint(self, obj) -> str:
        return obj.token[:4] + "…"
