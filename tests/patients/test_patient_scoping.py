"""Who sees which patients and forms: member sees; member of another site and outsider do not."""

import pytest

from registry.core.errors import NotFound, PermissionDenied, ValidationFailed
from registry.crfs.selectors import (
    casebook_forms_for_user,
    finding_list_for_user,
    form_get_for_user,
    form_list_for_user,
)
from registry.patients.selectors import patient_get_for_user, patient_list_for_user
from registry.patients.services import patient_withdraw
from tests.factories.crfs import complete_casebook

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a):
    return complete_casebook(site=site_a)


def test_member_sees_patient_and_forms(casebook, coordinator_a, monitor_a, data_manager, django_assert_num_queries):
    patient = casebook["patient"]
    for user in (coordinator_a, monitor_a, data_manager):
        assert list(patient_list_for_user(user)) == [patient]
        assert patient_get_for_user(user, patient.pk) == patient
        assert form_get_for_user(user, family_code="treatment", pk=casebook["treatment"].pk) == casebook["treatment"]
    with django_assert_num_queries(1):
        assert [p.site.code for p in patient_list_for_user(coordinator_a)] == ["OUS"]
    with django_assert_num_queries(10):
        forms = casebook_forms_for_user(coordinator_a, patient=patient)
    assert forms["response"] == [casebook["response"]]


def test_other_site_member_outsider_and_pathologist_see_nothing(casebook, coordinator_b, outsider, pathologist):
    patient = casebook["patient"]
    for user in (coordinator_b, outsider, pathologist):
        assert not patient_list_for_user(user).exists()
        with pytest.raises(NotFound):
            patient_get_for_user(user, patient.pk)
        with pytest.raises(NotFound):
            form_get_for_user(user, family_code="enrolment", pk=casebook["enrolment"].pk)
        assert not form_list_for_user(user, family_code="labs").exists()
        assert not finding_list_for_user(user).exists()


def test_unknown_or_malformed_pk_is_not_found(coordinator_a):
    for pk in (999999, "abc", None):
        with pytest.raises(NotFound):
            patient_get_for_user(coordinator_a, pk)


def test_withdrawal_needs_reason_and_role(casebook, coordinator_a, coordinator_b):
    patient = casebook["patient"]
    with pytest.raises(PermissionDenied):
        patient_withdraw(patient=patient, user=coordinator_b, withdrawal_date=patient.created_at.date(),
                         reason="x")
    with pytest.raises(ValidationFailed) as exc:
        patient_withdraw(patient=patient, user=coordinator_a, withdrawal_date=patient.created_at.date(), reason=" ")
    assert exc.value.field == "withdrawal_reason"
    withdrawn = patient_withdraw(patient=patient, user=coordinator_a, withdrawal_date=patient.created_at.date(),
                                 reason="Moved abroad")
    assert withdrawn.withdrawn
    event = type(patient).pgh_event_model.objects.filter(pgh_obj_id=patient.pk, pgh_label="update").last()
    assert event.pgh_context.metadata["reason"] == "Moved abroad"
    # Withdrawn patients stay visible: their data remain part of the study.
    assert patient_get_for_user(coordinator_a, patient.pk).withdrawn
