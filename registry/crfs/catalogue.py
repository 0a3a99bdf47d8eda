"""The single list of form families. The API, the web UI, the admin and exports iterate over it.

`code` is the URL segment (`patients/{id}/<code>`) and the `form` of stored edit-check findings;
`check_form` is the validation family (registry/crfs/validation/base.py FORMS) whose rules cover it.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.crfs.models import (
    Baseline,
    CaseReportForm,
    Enrolment,
    FollowUp,
    LabResult,
    LocalPathology,
    OtherTreatment,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)


@dataclass(frozen=True)
class FormFamily:
    code: str
    label: str
    model: type[CaseReportForm]
    repeating: bool
    domain_ref: str
    check_form: str
    #: Code of the parent family for forms that belong to another form (response → treatment line).
    parent: str | None = None
    #: The FK on `model` that points at the parent form.
    parent_field: str | None = None


FAMILIES: tuple[FormFamily, ...] = (
    FormFamily("enrolment", "Enrolment and eligibility", Enrolment, False, "F1", "enrolment"),
    FormFamily("baseline", "Demographics and baseline status", Baseline, False, "F2", "baseline"),
    FormFamily("tumour", "Tumour and staging", TumourStaging, False, "F3", "tumour"),
    FormFamily("pathology", "Local pathology", LocalPathology, True, "F4", "pathology"),
    FormFamily("labs", "Laboratory values", LabResult, True, "F5", "labs"),
    FormFamily("treatment", "Treatment lines", TreatmentLine, True, "F6", "treatment"),
    FormFamily("other_treatment", "Other treatments", OtherTreatment, True, "F6", "treatment"),
    FormFamily("treatment_status", "Systemic treatment status", SystemicTreatmentStatus, False, "F6", "treatment"),
    FormFamily("response", "Response evaluations", ResponseEvaluation, True, "F7", "response",
               parent="treatment", parent_field="line"),
    FormFamily("followup", "Follow-up and vital status", FollowUp, True, "F8", "followup"),
)

BY_CODE: dict[str, FormFamily] = {f.code: f for f in FAMILIES}
BY_MODEL: dict[type[CaseReportForm], FormFamily] = {f.model: f for f in FAMILIES}


def family(code: str) -> FormFamily:
    """The family with this catalogue code (KeyError if unknown)."""
    return BY_CODE[code]


def family_of(form: CaseReportForm | type[CaseReportForm]) -> FormFamily:
    """The family a form instance (or model class) belongs to."""
    model = form if isinstance(form, type) else type(form)
    return BY_MODEL[model]

#: The catalogue codes as one choice list (API schemas name it once: settings.SPECTACULAR_SETTINGS).
FAMILY_CODES: list[str] = [f.code for f in FAMILIES]
