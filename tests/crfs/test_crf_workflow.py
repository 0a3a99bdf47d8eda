"""Form workflow: draft → submitted → verified → locked, reasons for change, optimistic locking, and
edit checks that block or warn."""

from decimal import Decimal

import pytest

from registry.core.errors import Conflict, PermissionDenied, PreconditionRequired, StaleVersion, ValidationFailed
from registry.crfs.models import EditCheckFinding, FormStatus, LocalPathology, TreatmentLine
from registry.crfs.services import (
    form_create,
    form_delete,
    form_lock,
    form_submit,
    form_unlock,
    form_update,
    form_verify,
)
from tests.factories.crfs import (
    LocalPathologyFactory,
    ResponseEvaluationFactory,
    TreatmentLineFactory,
    complete_casebook,
    form_data,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return complete_casebook(site=site_a, user=coordinator_a)


def last_event(form):
    return type(form).pgh_event_model.objects.filter(pgh_obj_id=form.pk).order_by("pgh_id").last()


def test_full_workflow(casebook, coordinator_a, monitor_a, data_manager):
    form = casebook["pathology"]
    assert form.status == FormStatus.DRAFT and form.version == 1
    form = form_submit(form, user=coordinator_a, expected_version=1)
    assert (form.status, form.version, form.submitted_by) == (FormStatus.SUBMITTED, 2, coordinator_a)
    form = form_verify(form, user=monitor_a, expected_version=2)
    assert (form.status, form.verified_by) == (FormStatus.VERIFIED, monitor_a)
    form = form_lock(form, user=data_manager)
    assert (form.status, form.locked_by) == (FormStatus.LOCKED, data_manager)
    form = form_unlock(form, user=data_manager, reason="Query on Ki-67 method")
    assert form.status == FormStatus.VERIFIED and form.locked_at is None
    assert last_event(form).pgh_context.metadata["reason"] == "Query on Ki-67 method"
    assert last_event(form).pgh_context.metadata["action"] == "pathology.unlock"


def test_roles_per_transition(casebook, coordinator_a, coordinator_b, monitor_a, data_manager):
    form = casebook["baseline"]
    with pytest.raises(PermissionDenied):
        form_submit(form, user=coordinator_b)
    with pytest.raises(PermissionDenied):
        form_submit(form, user=monitor_a)
    form = form_submit(form, user=coordinator_a)
    with pytest.raises(PermissionDenied):
        form_verify(form, user=coordinator_a)
    with pytest.raises(PermissionDenied):
        form_lock(form, user=monitor_a)
    with pytest.raises(Conflict):
        form_verify(form_lock(form, user=data_manager), user=monitor_a)


def test_wrong_step_is_a_conflict(casebook, coordinator_a, monitor_a, data_manager):
    form = casebook["tumour"]
    with pytest.raises(Conflict):
        form_verify(form, user=monitor_a)
    with pytest.raises(Conflict):
        form_lock(form, user=data_manager)
    with pytest.raises(Conflict):
        form_unlock(form, user=data_manager, reason="why")
    form = form_submit(form, user=coordinator_a)
    with pytest.raises(Conflict):
        form_submit(form, user=coordinator_a)


def test_submit_requires_required_fields(patient_with_enrolment, coordinator_a):
    line = form_create(patient=patient_with_enrolment, family_code="treatment", user=coordinator_a,
                       data={"line_number": 1, "regimen": "carbo_etop"})
    with pytest.raises(ValidationFailed) as exc:
        form_submit(line, user=coordinator_a)
    assert exc.value.rule == "required"
    assert set(exc.value.errors) == {"intent", "start_date"}


def test_missing_reason_code_satisfies_required(casebook, coordinator_a):
    baseline = form_update(casebook["baseline"], user=coordinator_a, expected_version=1,
                           data={"ecog_ps": None, "ecog_ps_missing_reason": "not_done"})
    assert form_submit(baseline, user=coordinator_a).status == FormStatus.SUBMITTED
    with pytest.raises(ValidationFailed) as exc:
        form_update(baseline, user=coordinator_a, expected_version=baseline.version + 1, reason="PS found",
                    data={"ecog_ps": 1})
    assert (exc.value.field, exc.value.rule) == ("ecog_ps_missing_reason", "value_or_missing_reason")


def test_editing_submitted_form_needs_reason_recorded_in_audit(casebook, coordinator_a):
    form = form_submit(casebook["tumour"], user=coordinator_a)
    with pytest.raises(ValidationFailed) as exc:
        form_update(form, data={"liver_tumour_burden": "<25%"}, user=coordinator_a, expected_version=form.version)
    assert (exc.value.field, exc.value.rule) == ("reason", "reason_required")
    form = form_update(form, data={"liver_tumour_burden": "<25%"}, user=coordinator_a,
                       expected_version=form.version, reason="Corrected from the CT report")
    event = last_event(form)
    assert event.liver_tumour_burden == "<25%"
    assert event.pgh_context.metadata["reason"] == "Corrected from the CT report"
    assert event.pgh_context.metadata["user"] == coordinator_a.pk


def test_draft_edit_needs_no_reason(casebook, coordinator_a):
    form = form_update(casebook["tumour"], data={"tnm_t": "T3"}, user=coordinator_a, expected_version=1)
    assert (form.tnm_t, form.version, form.status) == ("T3", 2, FormStatus.DRAFT)


def test_stale_version_is_refused(casebook, coordinator_a):
    form = casebook["tumour"]
    form_update(form, data={"tnm_t": "T3"}, user=coordinator_a, expected_version=1)
    with pytest.raises(StaleVersion) as exc:
        form_update(form, data={"tnm_t": "T4"}, user=coordinator_a, expected_version=1)
    assert exc.value.status_code == 412
    form.refresh_from_db()
    assert form.tnm_t == "T3"
    with pytest.raises(PreconditionRequired):
        form_update(form, data={"tnm_t": "T4"}, user=coordinator_a, expected_version=None)


def test_locked_form_refuses_edits_and_deletion(casebook, coordinator_a, data_manager):
    form = form_lock(form_submit(casebook["followup"], user=coordinator_a), user=data_manager)
    with pytest.raises(Conflict) as exc:
        form_update(form, data={"ps_at_visit": 2}, user=coordinator_a, expected_version=form.version, reason="x")
    assert exc.value.rule == "locked"
    with pytest.raises(Conflict):
        form_delete(form, user=coordinator_a, expected_version=form.version, reason="x")
    with pytest.raises(ValidationFailed) as exc:
        form_unlock(form, user=data_manager, reason="")
    assert exc.value.field == "reason"


def test_editing_verified_form_drops_it_to_submitted(casebook, coordinator_a, monitor_a):
    form = form_verify(form_submit(casebook["followup"], user=coordinator_a), user=monitor_a)
    form = form_update(form, data={"ps_at_visit": 2}, user=coordinator_a, expected_version=form.version,
                       reason="Transcription error")
    assert form.status == FormStatus.SUBMITTED
    assert form.verified_by is None and form.verified_at is None


def test_hard_error_blocks_save_naming_field_and_rule(casebook, coordinator_a):
    form = casebook["pathology"]
    with pytest.raises(ValidationFailed) as exc:
        form_update(form, data={"ki67_percent": Decimal("150")}, user=coordinator_a, expected_version=1)
    assert (exc.value.field, exc.value.rule) == ("ki67_percent", "EC14")
    assert "EC14" in exc.value.message
    form.refresh_from_db()
    assert form.ki67_percent == Decimal("80.0") and form.version == 1


def test_hard_error_blocks_creation(casebook, coordinator_a):
    with pytest.raises(ValidationFailed) as exc:
        ResponseEvaluationFactory(line=casebook["treatment"], user=coordinator_a, overall_response="CR",
                                  new_lesions=True)
    assert exc.value.rule == "EC27"
    assert casebook["treatment"].evaluations.count() == 1


def test_warning_is_saved_as_finding_and_cleared_when_fixed(casebook, coordinator_a):
    form = casebook["pathology"]
    form = form_update(form, user=coordinator_a, expected_version=1,
                       data={"ki67_percent": Decimal("18"), "mitoses_per_2mm2": Decimal("30")})
    finding = EditCheckFinding.objects.get(patient=form.patient, rule="EC20")
    assert (finding.form, finding.object_id, finding.severity, finding.field) == (
        "pathology", form.pk, "W", "ki67_percent")
    form_update(form, user=coordinator_a, expected_version=form.version, data={"ki67_percent": Decimal("70")})
    assert not EditCheckFinding.objects.filter(patient=form.patient, rule="EC20").exists()


def test_warning_does_not_block_submit(casebook, coordinator_a):
    form = form_update(casebook["pathology"], user=coordinator_a, expected_version=1,
                       data={"ki67_percent": Decimal("18"), "mitoses_per_2mm2": Decimal("30")})
    assert form_submit(form, user=coordinator_a).status == FormStatus.SUBMITTED


def test_one_per_patient_and_unknown_fields(casebook, coordinator_a):
    with pytest.raises(Conflict):
        form_create(patient=casebook["patient"], family_code="baseline", data={}, user=coordinator_a)
    with pytest.raises(ValidationFailed) as exc:
        form_update(casebook["baseline"], data={"age_at_diagnosis": 40}, user=coordinator_a, expected_version=1)
    assert (exc.value.field, exc.value.rule) == ("age_at_diagnosis", "unknown_field")
    with pytest.raises(ValidationFailed) as exc:
        form_update(casebook["response"], data={"line": casebook["treatment"].pk}, user=coordinator_a,
                    expected_version=1)
    assert exc.value.rule == "immutable"
    with pytest.raises(ValidationFailed) as exc:
        form_update(casebook["baseline"], data={"sex": "unknown"}, user=coordinator_a, expected_version=1)
    assert exc.value.field == "sex"


def test_duplicate_line_number_is_refused(casebook, coordinator_a):
    with pytest.raises(ValidationFailed) as exc:
        form_create(patient=casebook["patient"], family_code="treatment", user=coordinator_a,
                    data=form_data(TreatmentLineFactory))
    assert (exc.value.field, exc.value.rule) == ("line_number", "unique")


def test_response_must_belong_to_a_line_of_the_same_patient(casebook, site_a, coordinator_a):
    other = complete_casebook(site=site_a, user=coordinator_a)
    with pytest.raises(ValidationFailed) as exc:
        form_create(patient=casebook["patient"], family_code="response", user=coordinator_a,
                    data={**form_data(ResponseEvaluationFactory, line=other["treatment"]),
                          "line": other["treatment"]})
    assert exc.value.rule == "parent"


def test_delete_draft_and_submitted_with_reason(casebook, coordinator_a):
    extra = LocalPathologyFactory(patient=casebook["patient"], user=coordinator_a, is_diagnostic=False,
                                  specimen_type="resection", specimen_site="primary")
    form_delete(extra, user=coordinator_a, expected_version=1)
    assert not LocalPathology.objects.filter(pk=extra.pk).exists()
    line = form_submit(casebook["treatment"], user=coordinator_a)
    with pytest.raises(Conflict) as exc:  # its response evaluation and baseline lab protect it
        form_delete(line, user=coordinator_a, expected_version=line.version, reason="Entered twice")
    assert exc.value.rule == "protected"
    with pytest.raises(ValidationFailed):
        form_delete(line, user=coordinator_a, expected_version=line.version)
    assert TreatmentLine.objects.filter(pk=line.pk).exists()


@pytest.fixture
def patient_with_enrolment(site_a, coordinator_a):
    from tests.factories.crfs import EnrolmentFactory

    return EnrolmentFactory(patient__site=site_a, user=coordinator_a).patient
