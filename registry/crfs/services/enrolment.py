"""Enrolment: a new Patient with its study id and F1 form, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from registry.crfs.models import Enrolment
from registry.crfs.services.forms import form_create
from registry.patients.models import Patient
from registry.patients.services import patient_create
from registry.sites.models import Site


@transaction.atomic
def patient_enrol(*, site: Site, user, data: Mapping[str, Any]) -> tuple[Patient, Enrolment]:
    """Enrol a patient at `site`: allocate the study id and save the F1 enrolment form as a draft.

    If the enrolment data break a hard edit check nothing is saved and no study id is used up.
    """
    patient = patient_create(site=site, user=user)
    enrolment = form_create(patient=patient, family_code="enrolment", data=data, user=user)
    return patient, enrolment
