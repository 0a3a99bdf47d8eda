"""Export API: create a job (202), list and read my jobs, download a finished job's file. Thin views."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.exports import selectors, services
from registry.exports.api.serializers import ExportJobCreateInput, ExportJobDetailOutput, ExportJobOutput
from registry.exports.models import JobSource
from registry.exports.views import file_response


class ExportJobListCreate(generics.ListAPIView):
    serializer_class = ExportJobOutput

    def get_queryset(self):
        return selectors.job_list_for_user(self.request.user).prefetch_related("sites")

    @extend_schema(request=ExportJobCreateInput, responses={202: ExportJobDetailOutput})
    def post(self, request):
        data = ExportJobCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        options = {k: d[k] for k in ("drop_free_text", "dates", "hash_record_id", "minimum_status", "labels",
                                     "delimiter", "bundle")}
        options["cutoff"] = d["cutoff"].isoformat() if d["cutoff"] else None
        job = services.export_job_create(user=request.user, shape=d["shape"], fmt=d["format"], forms=d["forms"],
                                         site_ids=d["sites"], options=options, release=d["release"],
                                         source=JobSource.API)
        return Response(ExportJobDetailOutput(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportJobDetail(APIView):
    @extend_schema(responses=ExportJobDetailOutput)
    def get(self, request, pk: int):
        job = selectors.job_get_for_user(request.user, pk)
        return Response(ExportJobDetailOutput(job, context={"request": request}).data)


class ExportJobDownload(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The export file")})
    def get(self, request, pk: int):
        if not selectors.can_export(request.user):
            raise PermissionDenied("You may not export data.")
        job = selectors.job_get_for_user(request.user, pk)
        if job.status != "succeeded" or not job.file:
            raise Http404("The export has no file (yet).")
        return file_response(job)
