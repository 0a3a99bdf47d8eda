"""Case report forms in the admin: site-scoped, data read-only, workflow steps as actions that call the
services, so the submit/verify/lock rules, reasons for change and edit checks hold here too. Data entry
and corrections go through the web forms and the API (which call `form_update` with a version and reason)."""

from django.contrib import admin, messages

from registry.core.admin import SiteScopedAdmin
from registry.core.errors import DomainError
from registry.crfs import services
from registry.crfs.catalogue import FAMILIES
from registry.crfs.models import Drug, EditCheckFinding, Regimen, RegimenComponent
from registry.sites.scoping import CASEBOOK_READERS, scope_queryset


class CasebookScopedAdmin(SiteScopedAdmin):
    site_field = "patient__site"

    def get_queryset(self, request):
        return scope_queryset(admin.ModelAdmin.get_queryset(self, request), request.user,
                              site_field=self.site_field, roles=CASEBOOK_READERS)


def _transition(step, label):
    def action(modeladmin, request, queryset):
        done = 0
        for form in queryset.select_related("patient"):
            try:
                step(form, user=request.user, expected_version=form.version)
                done += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"{form}: {exc.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{label}: {done} form(s).", messages.SUCCESS)

    action.__name__ = f"form_{label.lower()}"
    return admin.action(description=f"{label} selected forms")(action)


class CaseReportFormAdmin(CasebookScopedAdmin):
    list_filter = ["status", "patient__site"]
    search_fields = ["patient__study_id"]
    list_select_related = ["patient"]
    actions = [_transition(services.form_submit, "Submit"), _transition(services.form_verify, "Verify"),
               _transition(services.form_lock, "Lock")]

    def get_list_display(self, request):
        extra = [name for name in self.model.REQUIRED_ON_SUBMIT[:3]]
        return ["__str__", "patient", *extra, "status", "version", "updated_at"]

    def get_list_select_related(self, request):
        """Join every foreign key the list shows (e.g. a line's regimen): one query per page, not per row."""
        shown = self.model.REQUIRED_ON_SUBMIT[:3]
        return ["patient", *(n for n in shown if self.model._meta.get_field(n).is_relation)]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]

    # Writes must pass the services (version, reason for change, edit checks); the admin only views.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for _family in FAMILIES:
    admin.site.register(_family.model, type(f"{_family.model.__name__}Admin", (CaseReportFormAdmin,), {}))


@admin.register(EditCheckFinding)
class EditCheckFindingAdmin(CasebookScopedAdmin):
    list_display = ["patient", "rule", "severity", "form", "object_id", "field", "message", "updated_at"]
    list_filter = ["severity", "rule", "form", "patient__site"]
    search_fields = ["patient__study_id", "rule", "message"]
    list_select_related = ["patient"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RegimenComponentInline(admin.TabularInline):
    model = RegimenComponent
    extra = 1


@admin.register(Regimen)
class RegimenAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "label"]
    inlines = [RegimenComponentInline]


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "atc_code", "is_platinum", "platinum_agent", "is_cytotoxic"]
    list_filter = ["is_platinum", "is_cytotoxic"]
    search_fields = ["code", "name", "atc_code"]
