"""Reactions to CRF workflow events: a submitted local pathology form opens the patient's central review."""

from __future__ import annotations

from django.dispatch import receiver

from registry.crfs.catalogue import family_of
from registry.crfs.models import LocalPathology
from registry.crfs.signals import form_submitted
from registry.pathology.services import review_case_open

#: The catalogue code of F4 local pathology.
LOCAL_PATHOLOGY_FAMILY = family_of(LocalPathology).code


@receiver(form_submitted, dispatch_uid="pathology.open_review_case")
def open_review_case(sender, *, form, user=None, family: str, **kwargs) -> None:
    """Sent after commit by crfs.services.form_submit; opening the case is idempotent."""
    if family != LOCAL_PATHOLOGY_FAMILY:
        return
    review_case_open(specimen=form, user=user)
