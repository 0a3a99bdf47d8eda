"""Admin for analysis definitions and settings (editable), runs and results (read-only records)."""

from django.contrib import admin

from analysis.models import AnalysisDefinition, AnalysisResult, AnalysisRun, AnalysisSettings


@admin.register(AnalysisDefinition)
class AnalysisDefinitionAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "method", "endpoint", "population", "grouping_variable", "enabled",
                    "display_order")
    list_filter = ("method", "endpoint", "population", "enabled", "section")
    search_fields = ("code", "title")
    list_editable = ("enabled", "display_order")


@admin.register(AnalysisSettings)
class AnalysisSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "ki67_cutoff", "ki67_operator", "min_cell_size", "data_cutoff_date", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return not AnalysisSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class ResultInline(admin.TabularInline):
    model = AnalysisResult
    fields = ("definition_code", "status", "seconds", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "status", "trigger", "data_cutoff", "n_patients", "attempts", "created_at", "finished_at")
    list_filter = ("status", "trigger")
    exclude = ("dataset",)
    readonly_fields = [f.name for f in AnalysisRun._meta.fields if f.name != "dataset"]
    inlines = [ResultInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
