"""Data-quality rows in the admin: site-scoped and read-only. Queries, verifications, locks and signatures
change only through the services (roles, workflow, reasons, audit context), from the pages and the API."""

from django.contrib import admin

from registry.core.admin import SiteScopedAdmin
from registry.queries.access import QUERY_READERS
from registry.queries.models import CasebookSignature, DataFreeze, DataQuery, FieldVerification, QueryMessage
from registry.sites.scoping import scope_queryset


class ReadOnlyScopedAdmin(SiteScopedAdmin):
    site_field = "patient__site"

    def get_queryset(self, request):
        return scope_queryset(admin.ModelAdmin.get_queryset(self, request), request.user,
                              site_field=self.site_field, roles=QUERY_READERS)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class QueryMessageInline(admin.TabularInline):
    model = QueryMessage
    fields = ["created_at", "kind", "author", "response_reason", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DataQuery)
class DataQueryAdmin(ReadOnlyScopedAdmin):
    list_display = ["__str__", "patient", "form_family", "field", "origin", "rule", "status", "created_at"]
    list_filter = ["status", "origin", "form_family", "patient__site"]
    search_fields = ["patient__study_id", "rule", "text"]
    list_select_related = ["patient"]
    inlines = [QueryMessageInline]


@admin.register(FieldVerification)
class FieldVerificationAdmin(ReadOnlyScopedAdmin):
    list_display = ["__str__", "patient", "value_snapshot", "verified_by", "verified_at", "unverified_at"]
    list_filter = ["form_family", "patient__site"]
    search_fields = ["patient__study_id", "field"]
    list_select_related = ["patient", "verified_by"]


@admin.register(DataFreeze)
class DataFreezeAdmin(ReadOnlyScopedAdmin):
    site_field = "site"
    list_display = ["__str__", "site", "patient", "locked_by", "created_at", "forms_locked", "released_at"]
    list_filter = ["scope", "site"]
    list_select_related = ["site", "patient", "locked_by"]


@admin.register(CasebookSignature)
class CasebookSignatureAdmin(ReadOnlyScopedAdmin):
    list_display = ["__str__", "patient", "signer_name", "signed_at", "voided_at"]
    list_filter = ["patient__site"]
    search_fields = ["patient__study_id", "signer_name"]
    list_select_related = ["patient"]
