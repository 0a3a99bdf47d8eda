"""Writes of the data-quality app (DESIGN.md §3.1): keyword-only, typed, atomic."""

from registry.queries.services.followup import overdue_followup_sweep
from registry.queries.services.locks import patient_lock, patient_unlock, site_freeze, site_unfreeze
from registry.queries.services.queries import (
    query_answer,
    query_close,
    query_comment,
    query_correct,
    query_raise,
    query_reopen,
)
from registry.queries.services.recheck import recheck_all, recheck_batch
from registry.queries.services.reconcile import queries_reconcile_patient
from registry.queries.services.sdv import sdv_check_form, sdv_unverify_field, sdv_verify_fields, sdv_verify_form
from registry.queries.services.signatures import (
    casebook_content_hash,
    casebook_sign,
    signatures_verify,
    signatures_void,
)

__all__ = [
    "casebook_content_hash", "casebook_sign", "overdue_followup_sweep", "patient_lock", "patient_unlock",
    "queries_reconcile_patient", "query_answer", "query_close", "query_comment", "query_correct", "query_raise",
    "query_reopen", "recheck_all", "recheck_batch", "sdv_check_form", "sdv_unverify_field", "sdv_verify_fields",
    "sdv_verify_form", "signatures_verify", "signatures_void", "site_freeze", "site_unfreeze",
]
