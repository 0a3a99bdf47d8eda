"""Thin API views of the analysis app: statisticians and data managers read; data managers write."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import selectors, services
from analysis.api import serializers as s
from analysis.models import AnalysisDefinition
from registry.core.errors import NotFound


class CanViewAnalyses(permissions.BasePermission):
    message = "Analyses are for statisticians and data managers."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and selectors.can_view_analyses(request.user))


def _if_none_match(request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _definition(code: str) -> AnalysisDefinition:
    try:
        return selectors.definition_list().get(code=code)
    except AnalysisDefinition.DoesNotExist:
        raise NotFound("Definition not found.") from None


class DefinitionList(APIView):
    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]

    @extend_schema(responses={200: s.DefinitionOutput(many=True), 304: None})
    def get(self, request):
        """The definitions; with If-None-Match of the last ETag, 304 without reading or serialising them."""
        etag = selectors.definitions_etag()
        if etag in _if_none_match(request):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            response = Response(s.DefinitionOutput(selectors.definition_list(), many=True).data)
        response["ETag"] = etag
        return response

    @extend_schema(request=s.DefinitionInput, responses={201: s.DefinitionOutput})
    def post(self, request):
        data = s.DefinitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        definition = services.definition_create(user=request.user, data=data.validated_data)
        return Response(s.DefinitionOutput(definition).data, status=status.HTTP_201_CREATED)


class DefinitionDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]

    @extend_schema(responses=s.DefinitionOutput)
    def get(self, request, code):
        return Response(s.DefinitionOutput(_definition(code)).data)

    @extend_schema(request=s.DefinitionInput, responses=s.DefinitionOutput)
    def patch(self, request, code):
        definition = _definition(code)
        data = s.DefinitionInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        definition = services.definition_update(definition, user=request.user, data=data.validated_data)
        return Response(s.DefinitionOutput(definition).data)

    @extend_schema(responses={204: None})
    def delete(self, request, code):
        services.definition_delete(_definition(code), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RunList(generics.ListAPIView):
    """Runs, newest first; POST asks for a recompute now (data managers)."""

    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]
    serializer_class = s.RunOutput

    def get_queryset(self):
        return selectors.run_list()

    @extend_schema(request=None, responses={202: s.RunOutput})
    def post(self, request):
        run = services.analysis_request_recompute(user=request.user)
        return Response(s.RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]

    @extend_schema(responses=s.RunDetailOutput)
    def get(self, request, pk):
        run = selectors.run_list().filter(pk=pk).first()
        if run is None:
            raise NotFound("Run not found.")
        return Response(s.RunDetailOutput(run).data)


class LatestResults(APIView):
    """The latest successful result of every definition (what the dashboard shows)."""

    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]

    @extend_schema(responses=s.ResultOutput(many=True))
    def get(self, request):
        results = selectors.latest_good_results()
        return Response(s.ResultOutput(list(results.values()), many=True).data)


class SettingsDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, CanViewAnalyses]

    @extend_schema(responses=s.SettingsOutput)
    def get(self, request):
        return Response(s.SettingsOutput(services.analysis_settings_get()).data)

    @extend_schema(request=s.SettingsInput, responses=s.SettingsOutput)
    def patch(self, request):
        data = s.SettingsInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(s.SettingsOutput(services.analysis_settings_update(user=request.user,
                                                                            data=data.validated_data)).data)
