from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from registry.core.admin import SiteScopedAdmin
from registry.sites.models import Site, SiteMembership


class MembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 1
    autocomplete_fields = ["site"]
    fk_name = "user"


@admin.register(Site)
class SiteAdmin(SiteScopedAdmin):
    site_field = "pk"
    list_display = ["code", "name", "country", "is_active", "created_at"]
    list_filter = ["country", "is_active"]
    search_fields = ["code", "name"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(SiteScopedAdmin):
    list_display = ["user", "role", "site", "created_at"]
    list_filter = ["role", "site__country", "site"]
    search_fields = ["user__username", "user__email", "site__code", "site__name"]
    autocomplete_fields = ["user", "site"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "is_active", "is_staff", "last_login", "roles"]

    @admin.display(description="Roles")
    def roles(self, obj):
        return ", ".join(sorted({m.get_role_display() for m in obj.memberships.all()}))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships")


admin.site.site_header = "NEN Registry administration"
admin.site.site_title = "NEN Registry"
