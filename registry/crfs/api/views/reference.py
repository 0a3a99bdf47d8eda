"""Reference and quality lists: the regimen code list and the stored edit-check findings."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from registry.crfs import selectors
from registry.crfs.api import schema
from registry.crfs.api.filters import FindingFilter
from registry.crfs.api.serializers.common import EditCheckFindingOutput
from registry.crfs.api.serializers.regimens import RegimenOutput
from registry.crfs.api.views.common import validated
from registry.crfs.api.views.patients import FilterErrorsMixin
from registry.sites.models import Role
from registry.sites.scoping import has_role


class RegimenQuery(serializers.Serializer):
    include_inactive = serializers.BooleanField(default=False)


class RegimenList(GenericAPIView):
    """The F6 regimen code list with drug components (reference data: the same for every user with a role)."""

    serializer_class = RegimenOutput
    pagination_class = None
    filter_backends: list = []

    @extend_schema(tags=["Reference"], summary="List regimens",
                   parameters=[OpenApiParameter("include_inactive", OpenApiTypes.BOOL,
                                                description="Also list regimens no longer offered.")],
                   responses={200: RegimenOutput(many=True), **schema.errors(400, 401)})
    def get(self, request):
        query = validated(RegimenQuery(data=request.query_params))
        if not has_role(request.user, Role.values):
            # Deny by default (DESIGN.md §3.3): reference data too is for people who hold a role.
            return Response([])
        regimens = selectors.regimen_list(active_only=not query["include_inactive"]).order_by("code")
        return Response(RegimenOutput(regimens, many=True).data)


class FindingList(FilterErrorsMixin, GenericAPIView):
    """Open edit-check findings of the patients you may read (warnings are data-query candidates)."""

    serializer_class = EditCheckFindingOutput
    filterset_class = FindingFilter

    def get_queryset(self):
        return selectors.finding_list_for_user(self.request.user).order_by("patient_id", "form", "object_id",
                                                                           "rule", "pk")

    @extend_schema(tags=["Findings"], summary="List edit-check findings",
                   responses={200: EditCheckFindingOutput(many=True), **schema.errors(400, 401)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EditCheckFindingOutput(page, many=True).data)
