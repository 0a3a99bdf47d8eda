"""Django admin for central review: site-scoped, and closed to central pathologists, who must stay blinded
(the admin would show local and other reviewers' values); they work through the review queue."""

from __future__ import annotations

from django.contrib import admin

from registry.core.admin import SiteScopedAdmin
from registry.pathology.access import holds_reviewer_role
from registry.pathology.models import (
    Adjudication,
    AdjudicationParticipant,
    CentralReview,
    FinalClassification,
    Notification,
    ReviewCase,
    Shipment,
    ShipmentItem,
)


class PathologyAdmin(SiteScopedAdmin):
    def _blocked(self, request) -> bool:
        return not request.user.is_superuser and holds_reviewer_role(request.user)

    def has_module_permission(self, request):
        return not self._blocked(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return not self._blocked(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._blocked(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        # Writes go through the services (state machine, blinding, notices), never the admin.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]


class ShipmentItemInline(admin.TabularInline):
    model = ShipmentItem
    extra = 0
    can_delete = False
    readonly_fields = ["material", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(PathologyAdmin):
    site_field = "specimen__patient__site"
    list_display = ["pk", "specimen", "shipped_on", "received_on", "blocks_return_due", "blocks_returned_on"]
    list_filter = ["received_on", "blocks_returned_on"]
    search_fields = ["specimen__patient__study_id", "courier_reference"]
    inlines = [ShipmentItemInline]
    list_select_related = ["specimen"]


@admin.register(ReviewCase)
class ReviewCaseAdmin(PathologyAdmin):
    site_field = "patient__site"
    list_display = ["pk", "patient", "status", "priority", "assigned_to", "opened_at", "material_received_at"]
    list_filter = ["status", "priority", "patient__site"]
    search_fields = ["patient__study_id"]
    list_select_related = ["patient", "assigned_to"]


@admin.register(CentralReview)
class CentralReviewAdmin(PathologyAdmin):
    site_field = "case__patient__site"
    list_display = ["pk", "case", "read_number", "reviewer", "central_diagnosis", "ki67_central_percent",
                    "review_date"]
    list_filter = ["read_number", "central_diagnosis"]
    search_fields = ["case__patient__study_id"]
    list_select_related = ["case", "reviewer"]


class ParticipantInline(admin.TabularInline):
    model = AdjudicationParticipant
    extra = 0
    can_delete = False
    readonly_fields = ["user"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Adjudication)
class AdjudicationAdmin(PathologyAdmin):
    site_field = "case__patient__site"
    list_display = ["pk", "case", "decided_on", "final_diagnosis", "final_ki67"]
    inlines = [ParticipantInline]
    list_select_related = ["case"]


@admin.register(FinalClassification)
class FinalClassificationAdmin(PathologyAdmin):
    site_field = "patient__site"
    list_display = ["patient", "final_diagnosis", "final_ki67", "ki67_source", "method", "discordant_with_local"]
    list_filter = ["final_diagnosis", "method", "discordant_with_local", "patient__site"]
    search_fields = ["patient__study_id"]
    list_select_related = ["patient"]


@admin.register(Notification)
class NotificationAdmin(PathologyAdmin):
    site_field = "site"
    list_display = ["subject", "site", "created_at", "read_at"]
    list_filter = ["site"]
    list_select_related = ["site"]
