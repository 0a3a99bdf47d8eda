"""Reads for case report forms, always scoped through registry/sites/scoping.py (CASEBOOK_READERS)."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.core.errors import NotFound
from registry.crfs.catalogue import FAMILIES, family
from registry.crfs.models import CaseReportForm, EditCheckFinding, Regimen
from registry.patients.models import Patient
from registry.sites.scoping import CASEBOOK_READERS


def form_list_for_user(user, *, family_code: str, patient: Patient | None = None) -> QuerySet:
    """Visible forms of one family, optionally of one patient, oldest first."""
    fam = family(family_code)
    forms = fam.model.objects.visible_to(user, roles=CASEBOOK_READERS)
    if patient is not None:
        forms = forms.filter(patient=patient)
    forms = forms.select_related("patient")
    if fam.code == "treatment":
        forms = forms.select_related("regimen", "backbone_regimen")
    return forms.order_by("patient_id", *(fam.model._meta.ordering[1:] if fam.repeating else ()), "pk")


def form_get_for_user(user, *, family_code: str, pk: int) -> CaseReportForm:
    """One visible form; NotFound when it does not exist or the user may not see it."""
    try:
        return form_list_for_user(user, family_code=family_code).get(pk=pk)
    except (family(family_code).model.DoesNotExist, ValueError, TypeError):
        raise NotFound("Form not found.") from None


def casebook_forms_for_user(user, *, patient: Patient) -> dict[str, list[CaseReportForm]]:
    """Every visible form of the patient by catalogue code (one query per family)."""
    return {fam.code: list(form_list_for_user(user, family_code=fam.code, patient=patient)) for fam in FAMILIES}


def finding_list_for_user(user, *, patient: Patient | None = None) -> QuerySet[EditCheckFinding]:
    """Stored edit-check findings the user may see, optionally of one patient."""
    findings = EditCheckFinding.objects.visible_to(user, roles=CASEBOOK_READERS).select_related("patient")
    return findings.filter(patient=patient) if patient is not None else findings


def regimen_list(*, active_only: bool = True) -> QuerySet[Regimen]:
    """The regimen code list with drug components (reference data, visible to every user)."""
    regimens = Regimen.objects.prefetch_related("drugs")
    return regimens.filter(is_active=True) if active_only else regimens
