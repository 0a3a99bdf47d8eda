"""Fixtures of the CRF API tests: a complete case book at site A (all drafts) and URL/ETag helpers."""

import json

import pytest
from rest_framework.utils.encoders import JSONEncoder

from registry.crfs.catalogue import BY_CODE, FAMILIES
from tests.factories.crfs import OtherTreatmentFactory, complete_casebook

REPEATING = [f.code for f in FAMILIES if f.repeating]
SINGLE = [f.code for f in FAMILIES if not f.repeating]
ALL = [f.code for f in FAMILIES]


@pytest.fixture
def casebook(site_a, coordinator_a):
    """Every form family of one patient at site A (drafts), keyed by catalogue code, plus "patient"."""
    forms = complete_casebook(site=site_a, user=coordinator_a)
    forms["other_treatment"] = OtherTreatmentFactory(patient=forms["patient"], user=coordinator_a)
    return forms


def collection_url(forms: dict, code: str) -> str:
    """patients/{id}/<code>/ (a response evaluation nests under its treatment line)."""
    fam = BY_CODE[code]
    patient = forms["patient"]
    if fam.parent:
        return f"/api/v1/patients/{patient.pk}/{fam.parent}/{forms[fam.parent].pk}/{code}/"
    return f"/api/v1/patients/{patient.pk}/{code}/"


def form_url(forms: dict, code: str, action: str = "") -> str:
    """The URL of the form `forms[code]` (or of one of its workflow actions)."""
    url = collection_url(forms, code)
    if BY_CODE[code].repeating:
        url += f"{forms[code].pk}/"
    return url + (f"{action}/" if action else "")


def if_match(form) -> dict:
    form.refresh_from_db()
    return {"HTTP_IF_MATCH": f'"{form.version}"'}


def state(form) -> tuple:
    """What a forbidden write must leave unchanged."""
    model = type(form)
    row = model.objects.filter(pk=form.pk).values().first()
    return tuple(sorted((row or {}).items()))


def create_data(code: str) -> dict:
    """Valid input for one more form of a family on the default case book (JSON-ready)."""
    from tests.factories import crfs as f

    data = {
        "enrolment": lambda: f.form_data(f.EnrolmentFactory),
        "baseline": lambda: f.form_data(f.BaselineFactory),
        "tumour": lambda: f.form_data(f.TumourStagingFactory),
        "treatment_status": lambda: f.form_data(f.SystemicTreatmentStatusFactory),
        "pathology": lambda: f.form_data(f.LocalPathologyFactory, is_diagnostic=False, specimen_type="resection",
                                         specimen_site="primary"),
        "labs": lambda: f.form_data(f.LabResultFactory, analyte="ldh", value=300, lln=100, uln=250),
        "treatment": lambda: {"line_number": 2, "intent": "palliative", "regimen": "carbo_etop"},
        "other_treatment": lambda: f.form_data(f.OtherTreatmentFactory),
        "response": lambda: {k: v for k, v in f.form_data(f.ResponseEvaluationFactory, line=None,
                                                            eval_date=f.days_ago(110)).items() if k != "line"},
        "followup": lambda: f.form_data(f.FollowUpFactory, visit_date=f.days_ago(5),
                                        date_last_known_alive=f.days_ago(5)),
    }[code]()
    return json.loads(json.dumps(data, cls=JSONEncoder))


#: A harmless change per family, for PATCH.
PATCH_DATA = {
    "enrolment": {"registration_timing": "prospective_at_diagnosis"},
    "baseline": {"charlson_comorbidity_index": 2},
    "tumour": {"tnm_t": "T3"},
    "pathology": {"report_text": "Reviewed on the resection block."},
    "labs": {"assay_name": "Roche Cobas"},
    "treatment": {"dose_reduced": True},
    "other_treatment": {"details": "Palliative RT to a bone metastasis"},
    "treatment_status": {"reason_no_treatment_other": ""},
    "response": {"confirmed": True},
    "followup": {"ps_at_visit": 2},
}
