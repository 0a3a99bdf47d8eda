"""Admin base class: non-superusers see only rows of their sites (through the one scoping mechanism)."""

from __future__ import annotations

from django.contrib import admin

from registry.sites.scoping import scope_queryset


class SiteScopedAdmin(admin.ModelAdmin):
    """Set `site_field` to the lookup from the model to its Site (e.g. "patient__site")."""

    site_field = "site"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, site_field=self.site_field)
