"""Reactions to CRF workflow events (sent after commit by registry.crfs.services): reconcile the patient's
automatic queries, un-verify changed fields and void casebook signatures. A failure here must not turn a
committed save into an error page; it is logged, and the nightly re-check repairs what was missed."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from registry.crfs.signals import form_changed, form_submitted
from registry.queries import services

logger = logging.getLogger(__name__)


@receiver(form_changed, dispatch_uid="queries.on_form_changed")
def on_form_changed(sender, *, form, user=None, family: str, changed_fields=(), **kwargs) -> None:
    try:
        services.queries_reconcile_patient(form.patient)
        services.sdv_check_form(form, user=user)
        fields = ", ".join(changed_fields) or "no fields"
        # Voided only when the signed content really differs (a save that changes nothing keeps it).
        services.signatures_verify(form.patient, user=user,
                                   change=f"{family} #{form.pk} version {form.version} changed ({fields})")
    except Exception:
        logger.exception("data-quality follow-up of %s #%s failed", family, form.pk)


@receiver(form_submitted, dispatch_uid="queries.on_form_submitted")
def on_form_submitted(sender, *, form, user=None, family: str, **kwargs) -> None:
    try:
        services.queries_reconcile_patient(form.patient)
    except Exception:
        logger.exception("query reconcile after submitting %s #%s failed", family, form.pk)
