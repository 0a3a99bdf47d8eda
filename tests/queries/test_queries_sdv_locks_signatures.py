"""Source data verification, patient locks and site freezes, and casebook e-signatures."""

import pytest
from django.urls import reverse

from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.crfs.models import FormStatus, LocalPathology, TreatmentLine
from registry.crfs.services import form_update, form_verify
from registry.queries.models import APPROVAL_MEANING, CasebookSignature, DataFreeze, FieldVerification
from registry.queries.services import (
    casebook_content_hash,
    casebook_sign,
    patient_lock,
    patient_unlock,
    recheck_all,
    sdv_unverify_field,
    sdv_verify_fields,
    signatures_verify,
    site_freeze,
    site_unfreeze,
)
from tests.factories.crfs import complete_casebook
from tests.factories.queries import submit_all
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return submit_all(complete_casebook(site=site_a, user=coordinator_a), coordinator_a)


def update(form, user, captured=None, **data):
    if captured is None:
        return form_update(form, data=data, user=user, expected_version=form.version, reason="source re-read")
    with captured(execute=True):
        return form_update(form, data=data, user=user, expected_version=form.version, reason="source re-read")


# --- SDV --------------------------------------------------------------------------------------------------


def test_field_verification_and_unverify_on_change(casebook, monitor_a, coordinator_a,
                                                    django_capture_on_commit_callbacks):
    form = casebook["pathology"]
    done = sdv_verify_fields(form=form, fields=["ki67_percent", "specimen_date"], user=monitor_a)
    assert {v.field for v in done} == {"ki67_percent", "specimen_date"}
    ki67 = FieldVerification.objects.get(field="ki67_percent")
    assert ki67.value_snapshot == "80" and ki67.form_version == form.version and ki67.is_current
    assert sdv_verify_fields(form=form, fields=["ki67_percent"], user=monitor_a) == []  # already verified
    # Saving the same value (80.0 == 80) does not un-verify; a new value does.
    form = update(form, coordinator_a, django_capture_on_commit_callbacks, ki67_percent="80.0")
    assert FieldVerification.objects.get(pk=ki67.pk).is_current
    update(form, coordinator_a, django_capture_on_commit_callbacks, ki67_percent="75")
    ki67.refresh_from_db()
    assert not ki67.is_current and "80" in ki67.unverified_reason and "75" in ki67.unverified_reason
    assert FieldVerification.objects.get(field="specimen_date").is_current  # unchanged field stays verified


def test_field_verification_rules(casebook, site_a, coordinator_a, monitor_a, data_manager):
    form = casebook["baseline"]
    with pytest.raises(PermissionDenied):
        sdv_verify_fields(form=form, fields=["weight_kg"], user=coordinator_a)
    with pytest.raises(PermissionDenied):
        sdv_verify_fields(form=form, fields=["weight_kg"], user=data_manager)
    with pytest.raises(ValidationFailed):
        sdv_verify_fields(form=form, fields=["status"], user=monitor_a)
    draft = complete_casebook(site=site_a, user=coordinator_a)["baseline"]
    with pytest.raises(Conflict):
        sdv_verify_fields(form=draft, fields=["weight_kg"], user=monitor_a)
    [v] = sdv_verify_fields(form=form, fields=["weight_kg"], user=monitor_a)
    with pytest.raises(ValidationFailed):
        sdv_unverify_field(verification=v, user=monitor_a, reason="")
    v = sdv_unverify_field(verification=v, user=monitor_a, reason="ticked by mistake")
    assert v.unverified_reason == "ticked by mistake"
    assert FieldVerification.pgh_event_model.objects.filter(pgh_obj_id=v.pk).count() == 2


def test_nightly_recheck_catches_changes_made_outside_the_services(casebook, monitor_a):
    form = casebook["pathology"]
    sdv_verify_fields(form=form, fields=["ki67_percent"], user=monitor_a)
    LocalPathology.objects.filter(pk=form.pk).update(ki67_percent=70)  # e.g. a raw SQL fix
    assert recheck_all()["unverified"] == 1
    assert not FieldVerification.objects.get(field="ki67_percent").is_current


def test_whole_form_verification_drops_on_edit_and_shows_on_the_page(client, casebook, monitor_a, coordinator_a,
                                                                     django_capture_on_commit_callbacks):
    form = form_verify(casebook["treatment"], user=monitor_a)
    sdv_verify_fields(form=form, fields=["n_cycles"], user=monitor_a)
    form = update(form, coordinator_a, django_capture_on_commit_callbacks, n_cycles=5)
    assert form.status == FormStatus.SUBMITTED
    client.force_login(monitor_a)
    page = client.get(reverse("queries:form", args=["treatment", form.pk])).content.decode()
    assert "Un-verified by change" in page and "value changed from 4 to 5" in page
    assert "Submitted" in page and "verified" in page  # the status history lists the verify event


def test_sdv_coverage_on_the_dashboard(casebook, monitor_a, data_manager):
    form_verify(casebook["treatment"], user=monitor_a)
    from registry.queries.selectors import quality_dashboard

    rows = {(r.site_code, r.family): r for r in quality_dashboard(data_manager)}
    assert rows[("OUS", "treatment")].sdv_pct == 100.0
    assert rows[("OUS", "baseline")].sdv_pct == 0.0
    total = rows[("OUS", "")]
    assert total.forms == 9 and total.forms_submitted == 9 and total.forms_verified == 1
    assert total.completeness_pct == 100.0


# --- Locks ---------------------------------------------------------------------------------------------------


def test_patient_lock_and_unlock(casebook, site_a, coordinator_a, data_manager, monitor_a):
    patient = casebook["patient"]
    form_verify(casebook["baseline"], user=monitor_a)
    draft_patient = complete_casebook(site=site_a, user=coordinator_a)
    with pytest.raises(PermissionDenied):
        patient_lock(patient=patient, user=monitor_a, reason="cut-off")
    with pytest.raises(ValidationFailed):
        patient_lock(patient=patient, user=data_manager, reason=" ")
    freeze = patient_lock(patient=patient, user=data_manager, reason="Interim analysis cut-off")
    assert freeze.forms_locked == 9 and freeze.drafts_skipped == 0
    line = TreatmentLine.objects.get(pk=casebook["treatment"].pk)
    assert line.status == FormStatus.LOCKED and line.locked_by == data_manager and line.version == 3
    with pytest.raises(Conflict):
        update(line, coordinator_a, n_cycles=5)
    with pytest.raises(Conflict):
        patient_lock(patient=patient, user=data_manager, reason="again")
    event = TreatmentLine.pgh_event_model.objects.filter(pgh_obj_id=line.pk).order_by("pgh_id").last()
    assert event.pgh_context.metadata["reason"] == "Interim analysis cut-off"
    assert draft_patient["baseline"].status == FormStatus.DRAFT  # another patient untouched
    with pytest.raises(ValidationFailed):
        patient_unlock(patient=patient, user=data_manager, reason="")
    assert patient_unlock(patient=patient, user=data_manager, reason="Query on line 1") == 9
    assert TreatmentLine.objects.get(pk=line.pk).status == FormStatus.SUBMITTED
    from registry.crfs.models import Baseline

    assert Baseline.objects.get(pk=casebook["baseline"].pk).status == FormStatus.VERIFIED
    freeze.refresh_from_db()
    assert freeze.released_by == data_manager and freeze.forms_unlocked == 9


def test_site_freeze_locks_every_patient_and_skips_drafts(casebook, site_a, site_b, coordinator_a, coordinator_b,
                                                          data_manager):
    drafts = complete_casebook(site=site_a, user=coordinator_a)
    other_site = submit_all(complete_casebook(site=site_b, user=coordinator_b), coordinator_b)
    freeze = site_freeze(site=site_a, user=data_manager, reason="Data freeze 2026-06-30")
    assert freeze.forms_locked == 9 and freeze.drafts_skipped == 9
    assert TreatmentLine.objects.get(pk=other_site["treatment"].pk).status == FormStatus.SUBMITTED
    assert TreatmentLine.objects.get(pk=drafts["treatment"].pk).status == FormStatus.DRAFT
    with pytest.raises(Conflict):
        patient_unlock(patient=casebook["patient"], user=data_manager, reason="one patient")
    assert site_unfreeze(site=site_a, user=data_manager, reason="Freeze lifted") == 9
    assert TreatmentLine.objects.get(pk=casebook["treatment"].pk).status == FormStatus.SUBMITTED
    with pytest.raises(Conflict):
        site_unfreeze(site=site_a, user=data_manager, reason="twice")
    assert DataFreeze.objects.get(pk=freeze.pk).release_reason == "Freeze lifted"


def test_site_unfreeze_keeps_patient_locks(casebook, site_a, coordinator_a, data_manager):
    other = submit_all(complete_casebook(site=site_a, user=coordinator_a), coordinator_a)
    patient_lock(patient=casebook["patient"], user=data_manager, reason="Patient-level lock")
    site_freeze(site=site_a, user=data_manager, reason="freeze")
    site_unfreeze(site=site_a, user=data_manager, reason="unfreeze")
    assert TreatmentLine.objects.get(pk=casebook["treatment"].pk).status == FormStatus.LOCKED
    assert TreatmentLine.objects.get(pk=other["treatment"].pk).status == FormStatus.SUBMITTED


def test_locked_forms_refuse_edits_from_the_admin(client, casebook, data_manager, coordinator_a):
    from django.contrib.auth.models import Permission

    patient_lock(patient=casebook["patient"], user=data_manager, reason="freeze")
    coordinator_a.is_staff = True
    coordinator_a.save()
    coordinator_a.user_permissions.add(Permission.objects.get(codename="view_treatmentline"))
    client.force_login(coordinator_a)
    line = casebook["treatment"]
    url = reverse("admin:crfs_treatmentline_change", args=[line.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"n_cycles": 9, "line_number": 1})
    changelist = reverse("admin:crfs_treatmentline_changelist")
    client.post(changelist, {"action": "form_submit", "_selected_action": [line.pk]})
    line.refresh_from_db()
    assert (line.status, line.n_cycles) == (FormStatus.LOCKED, 4)
    # The data-quality admin is read-only too.
    superuser = type(coordinator_a).objects.create_superuser("root", "r@example.org", PASSWORD)
    client.force_login(superuser)
    assert client.get(reverse("admin:queries_datafreeze_changelist")).status_code == 200
    freeze = DataFreeze.objects.get()
    client.post(reverse("admin:queries_datafreeze_change", args=[freeze.pk]), {"reason": "edited"})
    assert DataFreeze.objects.get().reason == "freeze"


# --- Signatures ------------------------------------------------------------------------------------------------


def test_sign_then_change_voids_the_signature(casebook, investigator_a, coordinator_a,
                                              django_capture_on_commit_callbacks):
    patient = casebook["patient"]
    signature = casebook_sign(patient=patient, user=investigator_a, password=PASSWORD)
    assert signature.is_valid and signature.meaning == APPROVAL_MEANING
    assert signature.content_hash == casebook_content_hash(patient) and len(signature.content_hash) == 64
    assert signature.signer_name == investigator_a.username
    update(casebook["treatment"], coordinator_a, django_capture_on_commit_callbacks, n_cycles=5)
    signature.refresh_from_db()
    assert not signature.is_valid and signature.voided_by == coordinator_a
    assert "treatment" in signature.voided_by_change and "n_cycles" in signature.voided_by_change
    again = casebook_sign(patient=patient, user=investigator_a, password=PASSWORD)
    assert again.content_hash != signature.content_hash and again.is_valid


def test_wrong_password_is_refused_and_logged(casebook, investigator_a, caplog):
    with pytest.raises(PermissionDenied) as refused:
        casebook_sign(patient=casebook["patient"], user=investigator_a, password="not-my-password")
    assert refused.value.rule == "password"
    assert not CasebookSignature.objects.exists()
    assert "wrong password" in caplog.text


def test_only_site_investigators_sign_complete_casebooks(casebook, site_a, coordinator_a, monitor_a,
                                                        investigator_a):
    for user in (coordinator_a, monitor_a):
        with pytest.raises(PermissionDenied):
            casebook_sign(patient=casebook["patient"], user=user, password=PASSWORD)
    drafts = complete_casebook(site=site_a, user=coordinator_a)
    with pytest.raises(Conflict):
        casebook_sign(patient=drafts["patient"], user=investigator_a, password=PASSWORD)


def test_status_changes_keep_signatures_and_hash_mismatch_voids(casebook, investigator_a, monitor_a, data_manager):
    patient = casebook["patient"]
    signature = casebook_sign(patient=patient, user=investigator_a, password=PASSWORD)
    form_verify(casebook["pathology"], user=monitor_a)
    patient_lock(patient=patient, user=data_manager, reason="cut-off")
    assert signatures_verify(patient) == 0
    LocalPathology.objects.filter(pk=casebook["pathology"].pk).update(ki67_percent=70)
    assert signatures_verify(patient) == 1
    signature.refresh_from_db()
    assert not signature.is_valid and "hash mismatch" in signature.voided_by_change


def test_patient_lock_refuses_edits_through_the_crf_api_and_web(client, api_client, casebook, coordinator_a,
                                                                  data_manager):
    patient_lock(patient=casebook["patient"], user=data_manager, reason="Analysis cut-off")
    line = TreatmentLine.objects.get(pk=casebook["treatment"].pk)
    api_url = f"/api/v1/patients/{line.patient_id}/treatment/{line.pk}/"
    response = api_client(coordinator_a).patch(api_url, {"n_cycles": 9}, format="json",
                                               HTTP_IF_MATCH=f'"{line.version}"', HTTP_X_CHANGE_REASON="typo")
    assert response.status_code == 409 and response.json()["rule"] == "locked"
    client.force_login(coordinator_a)
    web_url = reverse("crfs:form", args=[line.patient_id, "treatment", line.pk])
    assert client.get(web_url).status_code == 200
    client.post(web_url, {"n_cycles": 9, "version": line.version, "reason": "typo"})
    line.refresh_from_db()
    assert (line.status, line.n_cycles, line.version) == (FormStatus.LOCKED, 4, 3)


def test_a_save_that_changes_nothing_keeps_the_signature(casebook, investigator_a, coordinator_a,
                                                         django_capture_on_commit_callbacks):
    signature = casebook_sign(patient=casebook["patient"], user=investigator_a, password=PASSWORD)
    update(casebook["treatment"], coordinator_a, django_capture_on_commit_callbacks, n_cycles=4)
    signature.refresh_from_db()
    assert signature.is_valid
