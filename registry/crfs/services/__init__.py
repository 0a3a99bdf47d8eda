"""Writes for case report forms (DESIGN.md §3.1): keyword-only, typed, atomic; views and tasks call these."""

from registry.crfs.services.enrolment import patient_enrol
from registry.crfs.services.forms import (
    form_create,
    form_delete,
    form_lock,
    form_submit,
    form_unlock,
    form_update,
    form_verify,
)

__all__ = ["form_create", "form_delete", "form_lock", "form_submit", "form_unlock", "form_update", "form_verify",
           "patient_enrol"]
