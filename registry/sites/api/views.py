from rest_framework import generics

from registry.sites.api.serializers import MembershipOutput, SiteOutput
from registry.sites.models import SiteMembership
from registry.sites.scoping import sites_visible_to


class SiteList(generics.ListAPIView):
    """Sites the caller holds a role at."""

    serializer_class = SiteOutput
    filterset_fields = ["country", "is_active"]

    def get_queryset(self):
        return sites_visible_to(self.request.user).order_by("code")


class SiteDetail(generics.RetrieveAPIView):
    serializer_class = SiteOutput

    def get_queryset(self):
        return sites_visible_to(self.request.user)


class MyMemberships(generics.ListAPIView):
    """The caller's own roles."""

    serializer_class = MembershipOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return SiteMembership.objects.none()
        return SiteMembership.objects.filter(user=self.request.user).select_related("site")
