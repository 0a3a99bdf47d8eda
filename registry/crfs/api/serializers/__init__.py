"""Serializers of the CRF API, one module per form family (DESIGN.md §2), and the family → (input, output)
table the views are generated from."""

from registry.crfs.api.serializers import (
    baseline,
    enrolment,
    followup,
    labs,
    pathology,
    response,
    treatment,
    tumour,
)
from registry.crfs.catalogue import FAMILIES

FORM_SERIALIZERS = {
    "enrolment": (enrolment.EnrolmentInput, enrolment.EnrolmentOutput),
    "baseline": (baseline.BaselineInput, baseline.BaselineOutput),
    "tumour": (tumour.TumourStagingInput, tumour.TumourStagingOutput),
    "pathology": (pathology.LocalPathologyInput, pathology.LocalPathologyOutput),
    "labs": (labs.LabResultInput, labs.LabResultOutput),
    "treatment": (treatment.TreatmentLineInput, treatment.TreatmentLineOutput),
    "other_treatment": (treatment.OtherTreatmentInput, treatment.OtherTreatmentOutput),
    "treatment_status": (treatment.SystemicTreatmentStatusInput, treatment.SystemicTreatmentStatusOutput),
    "response": (response.ResponseEvaluationInput, response.ResponseEvaluationOutput),
    "followup": (followup.FollowUpInput, followup.FollowUpOutput),
}

# A new catalogue family needs its serializers here before the API can serve it.
_missing = {f.code for f in FAMILIES} - set(FORM_SERIALIZERS)
if _missing:
    raise ImportError(f"No API serializers for form families {sorted(_missing)}")
