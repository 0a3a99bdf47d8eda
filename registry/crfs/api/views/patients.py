"""Patients: list (site-scoped, filtered, paginated), enrolment, detail with per-form status, withdrawal."""

from __future__ import annotations

from functools import cached_property

from django.db.models import BigIntegerField, CharField, F, Value
from django.db.models.functions import Cast
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from registry.core.errors import ValidationFailed
from registry.crfs import selectors
from registry.crfs.api import schema
from registry.crfs.api.filters import PatientFilter
from registry.crfs.api.serializers.patients import (
    PatientDetailOutput,
    PatientEnrolInput,
    PatientListOutput,
    PatientWithdrawInput,
)
from registry.crfs.api.views.common import change_reason, validated
from registry.crfs.catalogue import FAMILIES
from registry.crfs.models import FormStatus
from registry.crfs.services import patient_enrol
from registry.patients.models import Patient
from registry.patients.selectors import patient_get_for_user, patient_list_for_user
from registry.patients.services import patient_withdraw
from registry.sites.scoping import DATA_ENTRY, sites_visible_to

TAGS = ["Patients"]


class FilterErrorsMixin:
    """django-filter rejects bad query values with DRF's error shape; answer with the shared ApiError."""

    def filter_queryset(self, queryset):
        try:
            return super().filter_queryset(queryset)
        except ValidationError as exc:
            serializer_errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            errors = {k: [str(m) for m in v] for k, v in serializer_errors.items()}
            field = next(iter(errors))
            raise ValidationFailed(f"{field}: {errors[field][0]}", field=field, rule="invalid",
                                   errors=errors) from None


def form_summaries(user, patient: Patient) -> list[dict]:
    """Every form family of the patient with its instances' status and version (one UNION query)."""
    parts = []
    for fam in FAMILIES:
        # A typed NULL: PostgreSQL resolves an untyped one to text in a UNION chain.
        parent = F(f"{fam.parent_field}_id") if fam.parent_field else Cast(Value(None), BigIntegerField())
        forms = selectors.form_list_for_user(user, family_code=fam.code, patient=patient).order_by()
        parts.append(forms.annotate(family=Value(fam.code, output_field=CharField()), parent=parent)
                     .values_list("id", "status", "version", "family", "parent"))
    rows: dict[str, list[dict]] = {fam.code: [] for fam in FAMILIES}
    # Model columns before annotations: the order Django gives every part of a UNION.
    for pk, form_status, version, code, parent_id in parts[0].union(*parts[1:], all=True):
        rows[code].append({"id": pk, "status": form_status, "version": version, "parent_id": parent_id})
    summaries = []
    for fam in FAMILIES:
        items = sorted(rows[fam.code], key=lambda item: item["id"])
        counts = {s: sum(1 for item in items if item["status"] == s) for s in FormStatus.values}
        summaries.append({"family": fam.code, "label": fam.label, "domain_ref": fam.domain_ref,
                          "repeating": fam.repeating, "parent": fam.parent, "count": len(items),
                          "statuses": counts, "items": items})
    return summaries


def patient_detail(request, patient: Patient, code: int = status.HTTP_200_OK) -> Response:
    context = {"forms": form_summaries(request.user, patient),
               "findings": selectors.finding_list_for_user(request.user, patient=patient)}
    return Response(PatientDetailOutput(patient, context=context).data, status=code)


class PatientList(FilterErrorsMixin, GenericAPIView):
    """Patients at the sites where you may read case books."""

    serializer_class = PatientListOutput
    filterset_class = PatientFilter

    def get_queryset(self):
        return patient_list_for_user(self.request.user).order_by("site__code", "sequence_number")

    @extend_schema(tags=TAGS, summary="List patients",
                   responses={200: PatientListOutput(many=True), **schema.errors(400, 401)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PatientListOutput(page, many=True).data)

    @extend_schema(tags=TAGS, summary="Enrol a patient (study id + F1 enrolment form as a draft)",
                   request=PatientEnrolInput,
                   responses={201: PatientDetailOutput, **schema.errors(*schema.CREATE_ERRORS)})
    def post(self, request):
        data = validated(PatientEnrolInput(data=request.data, context={"request": request, "patient": None}))
        site = data.pop("site", None)
        if site is None:
            sites = list(sites_visible_to(request.user, roles=DATA_ENTRY)[:2])
            if len(sites) != 1:
                raise ValidationFailed("site: give the site to enrol the patient at.", field="site",
                                       rule="required")
            site = sites[0]
        patient, _ = patient_enrol(site=site, user=request.user, data=data)
        return patient_detail(request, patient_get_for_user(request.user, patient.pk), status.HTTP_201_CREATED)


class PatientView(GenericAPIView):
    serializer_class = PatientDetailOutput

    def get_queryset(self):
        return patient_list_for_user(self.request.user)

    def get_object(self):
        return self.patient

    @cached_property
    def patient(self) -> Patient:
        return patient_get_for_user(self.request.user, self.kwargs["pk"])


class PatientDetail(PatientView):
    """One patient: per-form status summary and open edit-check findings."""

    @extend_schema(tags=TAGS, summary="A patient with the status of every form and its open findings",
                   responses={200: PatientDetailOutput, **schema.errors(*schema.READ_ERRORS)})
    def get(self, request, pk):
        return patient_detail(request, self.patient)


class PatientWithdraw(PatientView):
    @extend_schema(tags=TAGS, summary="Withdraw a patient (data kept; the study id is never reused)",
                   request=PatientWithdrawInput, parameters=[schema.CHANGE_REASON],
                   responses={200: PatientDetailOutput, **schema.errors(400, 401, 403, 404, 409)})
    def post(self, request, pk):
        patient = self.patient
        data = validated(PatientWithdrawInput(data=request.data))
        reason = change_reason(request, data)
        if reason is None:
            raise ValidationFailed("reason: a reason for the withdrawal is required.", field="reason",
                                   rule="reason_required")
        patient_withdraw(patient=patient, user=request.user, withdrawal_date=data["withdrawal_date"],
                         reason=reason)
        return patient_detail(request, patient_get_for_user(request.user, pk))
