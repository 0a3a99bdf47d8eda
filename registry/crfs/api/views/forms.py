"""Case report form endpoints, generated from the catalogue: one set of views per form family.

Repeating families:      patients/{patient_id}/<code>/                  GET list, POST create
                         patients/{patient_id}/<code>/{id}/             GET, PUT, PATCH, DELETE
                         patients/{patient_id}/<code>/{id}/<action>/    POST submit | verify | lock | unlock
One-per-patient:         patients/{patient_id}/<code>/                  GET, POST create, PUT, PATCH
                         patients/{patient_id}/<code>/<action>/         POST submit | verify | lock | unlock
A family with a parent (response → treatment) nests under the parent form:
                         patients/{patient_id}/<parent>/{<parent_field>_id}/<code>/...

Each request: scope (404) → role (403) → body (400) → If-Match (428) → the service (412, 409, 400 from the
edit checks). The services are the ones the web forms call, so both paths apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from registry.core.errors import NotFound, StaleVersion
from registry.crfs import selectors, services
from registry.crfs.api import schema
from registry.crfs.api.serializers import FORM_SERIALIZERS
from registry.crfs.api.serializers.common import FindingIndex, FormInput, FormOutput, reason_field
from registry.crfs.api.views.common import (
    change_reason,
    expected_version,
    require_role,
    stale_response,
    validated,
    with_etag,
)
from registry.crfs.catalogue import FAMILIES, FormFamily
from registry.crfs.models import CaseReportForm
from registry.patients.models import Patient
from registry.patients.selectors import patient_get_for_user

ACTIONS = ("submit", "verify", "lock", "unlock")
_ACTION_TEXT = {
    "submit": "Draft → submitted (data entry). Every required field must be filled and no hard edit check may "
              "fail on the form.",
    "verify": "Submitted → verified: source data verified by a monitor.",
    "lock": "Submitted or verified → locked (data manager); no edits until unlocked.",
    "unlock": "Locked → the status it had (data manager); needs a reason for change.",
}


class FormActionInput(serializers.Serializer):
    """Optional body of a workflow action: the reason for change (required to unlock)."""

    reason = reason_field()


class FormView(GenericAPIView):
    """Shared lookups of the generated form views (the family and its serializers are class attributes)."""

    family: FormFamily
    input_class: type[FormInput]
    output_class: type[FormOutput]
    filter_backends: list = []

    def get_serializer_class(self):
        return self.output_class

    # GenericAPIView's hooks (used by OPTIONS metadata) go through the same scoped lookups.
    def get_queryset(self):
        return self.forms()

    def get_object(self):
        return self.form()

    @cached_property
    def patient(self) -> Patient:
        return patient_get_for_user(self.request.user, self.kwargs["patient_id"])

    @cached_property
    def parent(self) -> CaseReportForm | None:
        """The parent form named in the URL (a response evaluation's treatment line), of this patient."""
        if self.family.parent is None:
            return None
        parent = selectors.form_get_for_user(self.request.user, family_code=self.family.parent,
                                             pk=self.kwargs[f"{self.family.parent_field}_id"])
        if parent.patient_id != self.patient.pk:
            raise NotFound("Form not found.")
        return parent

    def forms(self):
        forms = selectors.form_list_for_user(self.request.user, family_code=self.family.code, patient=self.patient)
        if self.parent is not None:
            forms = forms.filter(**{self.family.parent_field: self.parent})
        return forms

    def form(self) -> CaseReportForm:
        forms = self.forms()
        found = forms.filter(pk=self.kwargs["pk"]).first() if self.family.repeating else forms.first()
        if found is None:
            raise NotFound("Form not found." if self.family.repeating
                           else f"The patient has no {self.family.label} form yet.")
        return found

    def findings(self) -> FindingIndex:
        return FindingIndex(selectors.finding_list_for_user(self.request.user, patient=self.patient))

    def render(self, form: CaseReportForm, code: int = status.HTTP_200_OK) -> Response:
        """The form a service just wrote, as stored now (re-read: the instance holds the input as given, e.g.
        decimals not yet quantised), with its findings and ETag. This request reached the form through the
        scoped selectors and the service checked the role, so the re-read is by primary key."""
        form.refresh_from_db()
        data = self.output_class(form, context={"findings": self.findings()}).data
        return with_etag(Response(data, status=code), form.version)

    def parse(self, *, partial: bool) -> tuple[dict[str, Any], str | None]:
        """The validated body and the reason for change (body `reason` or X-Change-Reason)."""
        serializer = self.input_class(data=self.request.data, partial=partial, context={"patient": self.patient})
        data = validated(serializer)
        reason = change_reason(self.request, data)
        if not partial:
            # PUT replaces the form's data: fields left out are cleared (to the column default).
            for name in serializer.fields:
                if name != "reason" and name not in data:
                    field = self.family.model._meta.get_field(name)
                    data[name] = field.get_default() if field.has_default() else None
        return data, reason

    def current_version(self, form: CaseReportForm) -> int | None:
        return type(form).objects.filter(pk=form.pk).values_list("version", flat=True).first()

    # --- the operations ---------------------------------------------------------------------------------

    def list_forms(self, request) -> Response:
        page = self.paginate_queryset(self.forms())
        data = self.output_class(page, many=True, context={"findings": self.findings()}).data
        return self.get_paginated_response(data)

    def create_form(self, request) -> Response:
        require_role(request.user, "create", self.patient.site_id)
        data, reason = self.parse(partial=True)
        if self.parent is not None:
            data[self.family.parent_field] = self.parent
        form = services.form_create(patient=self.patient, family_code=self.family.code, data=data,
                                    user=request.user, reason=reason)
        return self.render(form, status.HTTP_201_CREATED)

    def retrieve_form(self, request) -> Response:
        form = self.form()
        data = self.output_class(form, context={"findings": self.findings()}).data
        return with_etag(Response(data), form.version)

    def update_form(self, request, *, partial: bool) -> Response:
        form = self.form()
        require_role(request.user, "update", self.patient.site_id)
        data, reason = self.parse(partial=partial)
        version = expected_version(request)
        try:
            form = services.form_update(form, data=data, user=request.user, expected_version=version,
                                        reason=reason)
        except StaleVersion as exc:
            return stale_response(exc, self.current_version(form))
        return self.render(form)

    def delete_form(self, request) -> Response:
        form = self.form()
        require_role(request.user, "delete", self.patient.site_id)
        body = request.data if isinstance(request.data, dict) else {}
        data = validated(FormActionInput(data={k: v for k, v in body.items() if k == "reason"}))
        reason = change_reason(request, data)
        version = expected_version(request)
        try:
            services.form_delete(form, user=request.user, expected_version=version, reason=reason)
        except StaleVersion as exc:
            return stale_response(exc, self.current_version(form))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def act(self, request, action: str) -> Response:
        form = self.form()
        require_role(request.user, action, self.patient.site_id)
        data = validated(FormActionInput(data=request.data))
        reason = change_reason(request, data)
        version = expected_version(request)
        user = request.user
        try:
            if action == "submit":
                form = services.form_submit(form, user=user, expected_version=version)
            elif action == "verify":
                form = services.form_verify(form, user=user, expected_version=version)
            elif action == "lock":
                form = services.form_lock(form, user=user, expected_version=version)
            else:
                form = services.form_unlock(form, user=user, reason=reason, expected_version=version)
        except StaleVersion as exc:
            return stale_response(exc, self.current_version(form))
        return self.render(form)


class FormCollection(FormView):
    def get(self, request, **kwargs):
        return self.list_forms(request)

    def post(self, request, **kwargs):
        return self.create_form(request)


class FormDetail(FormView):
    def get(self, request, **kwargs):
        return self.retrieve_form(request)

    def put(self, request, **kwargs):
        return self.update_form(request, partial=False)

    def patch(self, request, **kwargs):
        return self.update_form(request, partial=True)

    def delete(self, request, **kwargs):
        return self.delete_form(request)


class FormSingleton(FormView):
    """A one-per-patient form, addressed by the patient alone."""

    def get(self, request, **kwargs):
        return self.retrieve_form(request)

    def post(self, request, **kwargs):
        return self.create_form(request)

    def put(self, request, **kwargs):
        return self.update_form(request, partial=False)

    def patch(self, request, **kwargs):
        return self.update_form(request, partial=True)


class FormAction(FormView):
    workflow_action: str

    def post(self, request, **kwargs):
        return self.act(request, self.workflow_action)


# --- generation from the catalogue -----------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyViews:
    family: FormFamily
    collection: type[FormView] | None
    detail: type[FormView]
    actions: dict[str, type[FormView]]


def _build(base: type[FormView], name: str, fam: FormFamily, attrs: dict | None = None,
           **schemas) -> type[FormView]:
    input_class, output_class = FORM_SERIALIZERS[fam.code]
    view = type(name, (base,), {"family": fam, "input_class": input_class, "output_class": output_class,
                                "__module__": __name__, "__doc__": f"{fam.domain_ref} {fam.label}.",
                                **(attrs or {})})
    return extend_schema_view(**{m: extend_schema(tags=[fam.label], **kw) for m, kw in schemas.items()})(view)


def _family_views(fam: FormFamily) -> FamilyViews:
    input_class, output_class = FORM_SERIALIZERS[fam.code]
    stem = "".join(part.capitalize() for part in fam.code.split("_"))
    read = schema.errors(*schema.READ_ERRORS)
    ok = {200: output_class, **schema.errors(*schema.WRITE_ERRORS)}
    write = {"request": input_class, "parameters": [schema.IF_MATCH, schema.CHANGE_REASON, schema.ETAG],
             "responses": ok}
    create = {"request": input_class, "parameters": [schema.CHANGE_REASON, schema.ETAG],
              "responses": {201: output_class, **schema.errors(*schema.CREATE_ERRORS)},
              "summary": f"Create a draft {fam.label} form"}
    get_one = {"parameters": [schema.ETAG], "responses": {200: output_class, **read}}
    update = {"summary": f"Replace the {fam.label} form's data (fields left out are cleared)", **write}
    patch = {"summary": f"Change some fields of the {fam.label} form", **write}
    actions = {
        action: _build(FormAction, f"{stem}{action.capitalize()}", fam, {"workflow_action": action}, post={
            "request": FormActionInput, "summary": f"{action.capitalize()} a {fam.label} form",
            "description": _ACTION_TEXT[action], **{k: v for k, v in write.items() if k != "request"},
        })
        for action in ACTIONS
    }
    if not fam.repeating:
        detail = _build(FormSingleton, f"{stem}Form", fam, get=get_one, post=create, put=update, patch=patch)
        return FamilyViews(fam, None, detail, actions)
    collection = _build(FormCollection, f"{stem}List", fam, post=create, get={
        "responses": {200: output_class(many=True), **read}, "summary": f"List the patient's {fam.label} forms"})
    delete = {"parameters": [schema.IF_MATCH, schema.CHANGE_REASON],
              "responses": {204: None, **schema.errors(*schema.WRITE_ERRORS)},
              "summary": f"Delete a {fam.label} form (a submitted one needs a reason; never a locked one)"}
    detail = _build(FormDetail, f"{stem}Detail", fam, get=get_one, put=update, patch=patch, delete=delete)
    return FamilyViews(fam, collection, detail, actions)


FAMILY_VIEWS: dict[str, FamilyViews] = {fam.code: _family_views(fam) for fam in FAMILIES}
