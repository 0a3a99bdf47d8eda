"""Reads for patients, always scoped through registry/sites/scoping.py."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.core.errors import NotFound
from registry.patients.models import Patient
from registry.sites.scoping import CASEBOOK_READERS


def patient_list_for_user(user) -> QuerySet[Patient]:
    """Patients at the sites where the user may read case books (none for outsiders)."""
    return Patient.objects.visible_to(user, roles=CASEBOOK_READERS).select_related("site")


def patient_get_for_user(user, pk: int) -> Patient:
    """One visible patient; NotFound when it does not exist or the user may not see it (never which)."""
    try:
        return patient_list_for_user(user).get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise NotFound("Patient not found.") from None
