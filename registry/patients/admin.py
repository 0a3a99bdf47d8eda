"""Patients in the admin: read-only (enrolment and withdrawal go through the services), site-scoped."""

from django.contrib import admin

from registry.core.admin import SiteScopedAdmin
from registry.patients.models import Patient, StudyIdCounter
from registry.sites.scoping import CASEBOOK_READERS, scope_queryset


@admin.register(Patient)
class PatientAdmin(SiteScopedAdmin):
    list_display = ["study_id", "site", "withdrawn", "withdrawal_date", "enrolled_by", "created_at"]
    list_filter = ["withdrawn", "site__country", "site"]
    search_fields = ["study_id"]
    list_select_related = ["site", "enrolled_by"]
    readonly_fields = ["study_id", "sequence_number", "site", "enrolled_by", "withdrawn", "withdrawal_date",
                       "withdrawal_reason", "created_at", "updated_at"]

    def get_queryset(self, request):
        return scope_queryset(admin.ModelAdmin.get_queryset(self, request), request.user, roles=CASEBOOK_READERS)

    # Study ids come only from the locked per-site counter (crfs.services.patient_enrol).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StudyIdCounter)
class StudyIdCounterAdmin(SiteScopedAdmin):
    list_display = ["site", "last_number", "updated_at"]
    readonly_fields = ["site", "last_number", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
