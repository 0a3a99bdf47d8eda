"""Thin API views of the data-quality app: parse, call one service or selector, render (DESIGN.md §3.2)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.core.errors import NotFound, PermissionDenied, ValidationFailed
from registry.queries import selectors, services
from registry.queries.access import DASHBOARD_READERS
from registry.queries.api import serializers as s
from registry.sites.scoping import has_role


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{name} must be a number.", field=name, rule="invalid") from None


def _query_detail(request, pk) -> Response:
    return Response(s.QueryDetailOutput(selectors.query_get_for_user(request.user, pk)).data)


_QUERY_FILTERS = [OpenApiParameter(name, str, required=False) for name in
                  ("status", "origin", "patient", "site", "form_family", "object_id", "rule")]


class QueryList(generics.ListAPIView):
    """Queries at the user's sites (filters: status, origin, patient, site code, form_family, object_id)."""

    serializer_class = s.QueryOutput

    def get_queryset(self):
        queries = selectors.query_list_for_user(self.request.user)
        params = self.request.query_params
        for name, lookup in (("status", "status"), ("origin", "origin"), ("site", "patient__site__code"),
                             ("form_family", "form_family"), ("rule", "rule")):
            if params.get(name):
                queries = queries.filter(**{lookup: params[name]})
        for name in ("patient", "object_id"):
            if params.get(name):
                queries = queries.filter(**{name: _int(params[name], name)})
        return queries.order_by("-created_at", "-pk")

    @extend_schema(parameters=_QUERY_FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.QueryCreateInput, responses={201: s.QueryDetailOutput})
    def post(self, request):
        data = _valid(s.QueryCreateInput, request)
        patient = selectors.patient_get_for_user(request.user, data["patient"])
        query = services.query_raise(patient=patient, family_code=data["form_family"],
                                     object_id=data.get("object_id"), field=data["field"], text=data["text"],
                                     user=request.user)
        return Response(s.QueryDetailOutput(selectors.query_get_for_user(request.user, query.pk)).data,
                        status=status.HTTP_201_CREATED)


class QueryDetail(APIView):
    @extend_schema(responses=s.QueryDetailOutput)
    def get(self, request, pk):
        return _query_detail(request, pk)


class QueryMessages(APIView):
    @extend_schema(responses=s.MessageOutput(many=True))
    def get(self, request, pk):
        query = selectors.query_get_for_user(request.user, pk)
        return Response(s.MessageOutput(query.messages.all(), many=True).data)

    @extend_schema(request=s.TextInput, responses={201: s.MessageOutput})
    def post(self, request, pk):
        data = _valid(s.TextInput, request)
        message = services.query_comment(selectors.query_get_for_user(request.user, pk), user=request.user,
                                         text=data["text"])
        return Response(s.MessageOutput(message).data, status=status.HTTP_201_CREATED)


class QueryAnswer(APIView):
    """Site staff answer; with `value` (and `expected_version`) the queried field is corrected too."""

    @extend_schema(request=s.AnswerInput, responses=s.QueryDetailOutput)
    def post(self, request, pk):
        data = _valid(s.AnswerInput, request)
        query = selectors.query_get_for_user(request.user, pk)
        if "value" in data:
            if data["reason"] != "corrected":
                raise ValidationFailed("A new value goes with reason 'corrected'.", field="reason", rule="choice")
            services.query_correct(query, user=request.user, value=data["value"], text=data["text"],
                                   expected_version=data.get("expected_version"))
        else:
            services.query_answer(query, user=request.user, text=data["text"], reason=data["reason"])
        return _query_detail(request, pk)


class QueryClose(APIView):
    @extend_schema(request=s.TextInput, responses=s.QueryDetailOutput)
    def post(self, request, pk):
        data = _valid(s.TextInput, request)
        services.query_close(selectors.query_get_for_user(request.user, pk), user=request.user, text=data["text"])
        return _query_detail(request, pk)


class QueryReopen(APIView):
    @extend_schema(request=s.TextInput, responses=s.QueryDetailOutput)
    def post(self, request, pk):
        data = _valid(s.TextInput, request)
        services.query_reopen(selectors.query_get_for_user(request.user, pk), user=request.user, text=data["text"])
        return _query_detail(request, pk)


class Worklist(APIView):
    """Site staff: my open queries; monitors: submitted forms waiting for SDV."""

    @extend_schema(responses=s.WorklistOutput)
    def get(self, request):
        open_queries = list(selectors.my_open_queries(request.user)[:500])
        return Response(s.WorklistOutput({"open_queries": open_queries,
                                          "to_verify": selectors.forms_to_verify(request.user)}).data)


class Dashboard(APIView):
    """Completeness, SDV coverage, queries by age and median time to answer, per site and form family."""

    @extend_schema(responses=s.DashboardRowOutput(many=True),
                   parameters=[OpenApiParameter("site", int, required=False)])
    def get(self, request):
        if not has_role(request.user, DASHBOARD_READERS):
            raise PermissionDenied("Only monitors and data managers see the data-quality dashboard.")
        rows = selectors.quality_dashboard(request.user, site_id=_int(request.query_params.get("site"), "site"))
        return Response([{**row.as_dict(), "age_buckets": row.age_buckets} for row in rows])


class VerificationList(generics.ListAPIView):
    """Field verifications (current and withdrawn); filters: patient, form_family, object_id, current."""

    serializer_class = s.VerificationOutput

    def get_queryset(self):
        rows = selectors.verification_list_for_user(self.request.user)
        params = self.request.query_params
        if params.get("form_family"):
            rows = rows.filter(form_family=params["form_family"])
        for name in ("patient", "object_id"):
            if params.get(name):
                rows = rows.filter(**{name: _int(params[name], name)})
        if params.get("current") in ("true", "1"):
            rows = rows.filter(unverified_at__isnull=True)
        return rows.order_by("form_family", "object_id", "field", "-verified_at", "-pk")

    @extend_schema(request=s.VerifyFieldsInput, responses={201: s.VerificationOutput(many=True)})
    def post(self, request):
        data = _valid(s.VerifyFieldsInput, request)
        form = selectors.form_get_for_user(request.user, data["form_family"], data["object_id"])
        created = services.sdv_verify_fields(form=form, fields=data["fields"], user=request.user)
        rows = selectors.verification_list_for_user(request.user).filter(pk__in=[v.pk for v in created])
        return Response(s.VerificationOutput(rows, many=True).data, status=status.HTTP_201_CREATED)


class VerificationWithdraw(APIView):
    @extend_schema(request=s.ReasonInput, responses=s.VerificationOutput)
    def post(self, request, pk):
        data = _valid(s.ReasonInput, request)
        verification = selectors.verification_list_for_user(request.user).filter(pk=_int(pk, "id")).first()
        if verification is None:
            raise NotFound("Verification not found.")
        services.sdv_unverify_field(verification=verification, user=request.user, reason=data["reason"])
        return Response(s.VerificationOutput(selectors.verification_list_for_user(request.user).get(pk=pk)).data)


class FormVerify(APIView):
    """Whole-form SDV (the CRF's submitted → verified step)."""

    @extend_schema(request=s.VerifyFormInput, responses={200: None})
    def post(self, request):
        data = _valid(s.VerifyFormInput, request)
        form = selectors.form_get_for_user(request.user, data["form_family"], data["object_id"])
        form = services.sdv_verify_form(form=form, user=request.user, expected_version=data.get("expected_version"))
        return Response({"form_family": data["form_family"], "object_id": form.pk, "status": form.status,
                         "version": form.version})


class FreezeList(generics.ListAPIView):
    """Patient locks and site freezes, active and released."""

    serializer_class = s.FreezeOutput

    def get_queryset(self):
        return selectors.freeze_list_for_user(self.request.user).order_by("-created_at", "-pk")


class PatientLock(APIView):
    @extend_schema(request=s.ReasonInput, responses={201: s.FreezeOutput})
    def post(self, request, pk):
        data = _valid(s.ReasonInput, request)
        freeze = services.patient_lock(patient=selectors.patient_get_for_user(request.user, pk), user=request.user,
                                       reason=data["reason"])
        return Response(s.FreezeOutput(freeze).data, status=status.HTTP_201_CREATED)


class PatientUnlock(APIView):
    @extend_schema(request=s.ReasonInput, responses=s.UnlockOutput)
    def post(self, request, pk):
        data = _valid(s.ReasonInput, request)
        n = services.patient_unlock(patient=selectors.patient_get_for_user(request.user, pk), user=request.user,
                                    reason=data["reason"])
        return Response({"forms_unlocked": n})


class SiteFreeze(APIView):
    @extend_schema(request=s.ReasonInput, responses={201: s.FreezeOutput})
    def post(self, request, pk):
        data = _valid(s.ReasonInput, request)
        freeze = services.site_freeze(site=selectors.site_get_for_user(request.user, pk), user=request.user,
                                      reason=data["reason"])
        return Response(s.FreezeOutput(freeze).data, status=status.HTTP_201_CREATED)


class SiteUnfreeze(APIView):
    @extend_schema(request=s.ReasonInput, responses=s.UnlockOutput)
    def post(self, request, pk):
        data = _valid(s.ReasonInput, request)
        n = services.site_unfreeze(site=selectors.site_get_for_user(request.user, pk), user=request.user,
                                   reason=data["reason"])
        return Response({"forms_unlocked": n})


class SignatureList(generics.ListAPIView):
    """Casebook signatures (valid and voided); filter: patient. POST signs (password re-entered)."""

    serializer_class = s.SignatureOutput

    def get_queryset(self):
        rows = selectors.signature_list_for_user(self.request.user)
        if self.request.query_params.get("patient"):
            rows = rows.filter(patient_id=_int(self.request.query_params["patient"], "patient"))
        return rows.order_by("-signed_at", "-pk")

    @extend_schema(request=s.SignInput, responses={201: s.SignatureOutput})
    def post(self, request):
        data = _valid(s.SignInput, request)
        patient = selectors.patient_get_for_user(request.user, data["patient"])
        signature = services.casebook_sign(patient=patient, user=request.user, password=data["password"],
                                           meaning=data["meaning"])
        return Response(s.SignatureOutput(signature).data, status=status.HTTP_201_CREATED)

