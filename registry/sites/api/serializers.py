from rest_framework import serializers

from registry.sites.models import Site, SiteMembership


class SiteOutput(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "country", "is_active"]


class MembershipOutput(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # study-wide roles

    class Meta:
        model = SiteMembership
        fields = ["id", "site", "role"]
