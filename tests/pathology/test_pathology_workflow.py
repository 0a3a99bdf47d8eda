"""Central review workflow through the services: the case opens on submission, material makes it ready,
claiming, the discordance rules route to a second blinded reader and to adjudication, and the final
classification drives the analysis group and is sent to the site."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.pathology import selectors, services
from registry.pathology.models import (
    CaseStatus,
    CentralReview,
    FinalClassification,
    FinalMethod,
    Notification,
    ReviewCase,
)
from registry.sites.models import Role
from tests.factories.crfs import days_ago
from tests.factories.pathology import (
    claim_and_read,
    read,
    ready_case,
    ship_and_receive,
    submitted_specimen,
)
from tests.factories.sites import member

pytestmark = pytest.mark.django_db


def test_submitting_local_pathology_opens_one_case_awaiting_material(site_a):
    specimen = submitted_specimen(site=site_a)
    case = ReviewCase.objects.get(patient=specimen.patient)
    assert (case.status, case.specimen_id) == (CaseStatus.AWAITING_MATERIAL, specimen.pk)
    # A second specimen of the same patient does not open a second case.
    submitted_specimen(specimen.patient, is_diagnostic=False, specimen_site="primary")
    assert ReviewCase.objects.filter(patient=specimen.patient).count() == 1


def test_draft_does_not_open_a_case(site_a):
    from tests.factories.crfs import LocalPathologyFactory
    from tests.factories.patients import PatientFactory

    form = LocalPathologyFactory(patient=PatientFactory(site=site_a))
    assert not ReviewCase.objects.filter(patient=form.patient).exists()
    with pytest.raises(Conflict):
        services.review_case_open(specimen=form)


def test_partial_material_keeps_the_case_waiting(site_a, pathologist):
    specimen = submitted_specimen(site=site_a)
    case = ReviewCase.objects.get(patient=specimen.patient)
    ship_and_receive(case, receiver=pathologist, materials=["HE", "Ki67"])
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_MATERIAL
    ship_and_receive(case, receiver=pathologist, materials=["CgA", "synaptophysin", "block"])
    case.refresh_from_db()
    assert case.status == CaseStatus.READY and case.material_received_at is not None


def test_shipment_roles_and_block_return(site_a, coordinator_b, pathologist):
    specimen = submitted_specimen(site=site_a)
    case = ReviewCase.objects.get(patient=specimen.patient)
    with pytest.raises(PermissionDenied):
        services.shipment_create(specimen=specimen, user=coordinator_b, shipped_on=days_ago(1), items={"HE": 1})
    shipment = ship_and_receive(case, receiver=pathologist, materials=["HE", "CgA", "synaptophysin", "Ki67",
                                                                        "block"])
    shipment.refresh_from_db()
    assert shipment.blocks_return_due == shipment.received_on + timedelta(days=60)
    services.shipment_return_blocks(shipment=shipment, user=pathologist, returned_on=days_ago(0))
    shipment.refresh_from_db()
    assert shipment.blocks_returned_on == days_ago(0)
    with pytest.raises(Conflict):
        services.shipment_return_blocks(shipment=shipment, user=pathologist, returned_on=days_ago(0))


def test_site_staff_cannot_receive_material(site_a, coordinator_a):
    specimen = submitted_specimen(site=site_a)
    case = ReviewCase.objects.get(patient=specimen.patient)
    with pytest.raises(PermissionDenied):
        ship_and_receive(case, receiver=coordinator_a)


def test_claim_next_takes_urgent_first(site_a, pathologist, pathologist_2):
    routine = ready_case(site=site_a, receiver=pathologist)
    urgent = ready_case(site=site_a, receiver=pathologist)
    services.case_set_priority(case=urgent, priority=2, user=pathologist)
    assert services.case_claim_next(user=pathologist).pk == urgent.pk
    with CaptureQueriesContext(connection) as queries:
        assert services.case_claim_next(user=pathologist_2).pk == routine.pk
    assert any("FOR UPDATE SKIP LOCKED" in q["sql"] for q in queries.captured_queries)
    assert services.case_claim_next(user=pathologist_2) is None


@pytest.mark.django_db(transaction=True)
def test_claim_next_skips_a_case_a_colleague_is_claiming(site_a, pathologist, pathologist_2):
    """A row locked by another transaction (a colleague claiming it now) is skipped, not waited for."""
    from django.db import connections

    first = ready_case(site=site_a, receiver=pathologist)
    second = ready_case(site=site_a, receiver=pathologist)
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM pathology_reviewcase WHERE id = %s FOR UPDATE", [first.pk])
            assert services.case_claim_next(user=pathologist_2).pk == second.pk
            assert services.case_claim_next(user=pathologist) is None
        other.rollback()
    finally:
        other.close()
    assert services.case_claim_next(user=pathologist).pk == first.pk


def test_only_central_pathologists_claim(site_a, pathologist, data_manager, coordinator_a):
    case = ready_case(site=site_a, receiver=pathologist)
    for user in (data_manager, coordinator_a):
        with pytest.raises(PermissionDenied):
            services.case_claim(case=case, user=user)
    services.case_claim(case=case, user=pathologist)
    with pytest.raises(Conflict):
        services.case_claim(case=case, user=member(Role.CENTRAL_PATHOLOGIST, None, "patho3"))


def test_concordant_first_read_is_final_single_reviewer(site_a, pathologist):
    case = ready_case(site=site_a, receiver=pathologist, diagnosis="NEC_large_cell", ki67="80.0")
    with pytest.raises(Conflict):
        services.review_submit(case=case, user=pathologist, data=read())  # not claimed yet
    claim_and_read(case, pathologist, ki67_central_percent=Decimal("70.0"))
    case.refresh_from_db()
    final = FinalClassification.objects.get(patient=case.patient)
    assert case.status == CaseStatus.FINAL and case.discordant_with_local is False
    assert (final.final_diagnosis, final.final_ki67, final.ki67_source, final.method, final.discordant_with_local) \
        == ("NEC_large", Decimal("70.0"), "central", FinalMethod.SINGLE_REVIEWER, False)


# (local diagnosis, local Ki-67, central diagnosis, central Ki-67, status after the first read)
BOUNDARIES = [
    ("NEC_large_cell", "19.9", "NEC_large_cell", "20.1", CaseStatus.SECOND_REVIEW),
    ("NEC_large_cell", "20.1", "NEC_large_cell", "20.0", CaseStatus.SECOND_REVIEW),
    ("NEC_large_cell", "20.1", "NEC_large_cell", "54.9", CaseStatus.FINAL),
    ("NEC_large_cell", "54.9", "NEC_large_cell", "55.0", CaseStatus.SECOND_REVIEW),
    ("NEC_large_cell", "55.0", "NEC_large_cell", "99.0", CaseStatus.FINAL),
    ("NET_G3", "30.0", "NEC_large_cell", "30.0", CaseStatus.SECOND_REVIEW),
    ("NEC_small_cell", "40.0", "NET_G3", "40.0", CaseStatus.SECOND_REVIEW),
    ("NET_G3", "30.0", "NET_G3", "45.0", CaseStatus.FINAL),
    ("NEC_large_cell", "80.0", "NEC_nos", "60.0", CaseStatus.FINAL),
    ("NEC_large_cell", "80.0", "MiNEN", "80.0", CaseStatus.SECOND_REVIEW),
    ("NEC_large_cell", "80.0", "not_NEN", "80.0", CaseStatus.SECOND_REVIEW),
]


@pytest.mark.parametrize(("local_dx", "local_ki67", "central_dx", "central_ki67", "expected"), BOUNDARIES)
def test_second_review_triggered_exactly_by_the_rules(site_a, pathologist, local_dx, local_ki67, central_dx,
                                                      central_ki67, expected):
    case = ready_case(site=site_a, receiver=pathologist, diagnosis=local_dx, ki67=local_ki67)
    claim_and_read(case, pathologist, central_diagnosis=central_dx, ki67_central_percent=Decimal(central_ki67))
    case.refresh_from_db()
    assert case.status == expected
    assert case.discordant_with_local is (expected == CaseStatus.SECOND_REVIEW)
    assert FinalClassification.objects.filter(patient=case.patient).exists() is (expected == CaseStatus.FINAL)


@pytest.fixture
def discordant_case(site_a, pathologist):
    """Local NET G3 30 %, first read NEC 80 %: waits for a second reader."""
    case = ready_case(site=site_a, receiver=pathologist, diagnosis="NET_G3", ki67="30.0")
    claim_and_read(case, pathologist, ki67_central_percent=Decimal("80.0"))
    case.refresh_from_db()
    assert case.status == CaseStatus.SECOND_REVIEW and case.assigned_to is None
    return case


def test_second_reader_must_differ(discordant_case, pathologist, pathologist_2, data_manager):
    assert services.case_claim_next(user=pathologist) is None  # the first reader is not offered the case
    with pytest.raises(ValidationFailed) as raised:
        services.case_claim(case=discordant_case, user=pathologist)
    assert raised.value.rule == "second_reviewer_differs"
    with pytest.raises(ValidationFailed):
        services.case_assign(case=discordant_case, reviewer=pathologist, user=data_manager)
    # The database refuses a second read by the same reviewer whatever the path.
    from django.db import IntegrityError, transaction

    first = discordant_case.reviews.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        CentralReview.objects.create(**{**{f.attname: getattr(first, f.attname)
                                           for f in CentralReview._meta.concrete_fields if f.name != "id"},
                                        "read_number": 2})
    assert services.case_claim_next(user=pathologist_2).pk == discordant_case.pk


def test_second_read_agreeing_with_first_is_final(discordant_case, pathologist_2):
    claim_and_read(discordant_case, pathologist_2, central_diagnosis="NEC_nos", ki67_central_percent=Decimal("70.0"))
    discordant_case.refresh_from_db()
    final = FinalClassification.objects.get(patient=discordant_case.patient)
    assert discordant_case.status == CaseStatus.FINAL
    # NEC NOS yields to the read naming the cell type; Ki-67 is the mean of the two central reads.
    assert (final.final_diagnosis, final.final_ki67, final.method, final.discordant_with_local) == (
        "NEC_large", Decimal("75.0"), FinalMethod.TWO_REVIEWERS_AGREE, True)
    assert selectors.analysis_group(final) == "NEC"


def test_unresolved_goes_to_adjudication_then_consensus(discordant_case, pathologist, pathologist_2,
                                                        data_manager, coordinator_a):
    coordinator_a.email = "coord_a@example.org"
    coordinator_a.save()
    claim_and_read(discordant_case, pathologist_2, central_diagnosis="NET_G3", ki67_central_percent=Decimal("35.0"))
    discordant_case.refresh_from_db()
    assert discordant_case.status == CaseStatus.ADJUDICATION
    with pytest.raises(ValidationFailed) as raised:
        services.adjudication_record(case=discordant_case, user=data_manager, participants=[], rationale="",
                                     final_diagnosis="NET_G3", final_ki67=None)
    assert set(raised.value.errors) == {"participants", "rationale", "final_ki67"}
    with pytest.raises(PermissionDenied):
        services.adjudication_record(case=discordant_case, user=coordinator_a, participants=[pathologist],
                                     final_diagnosis="NET_G3", final_ki67=Decimal("35"), rationale="x")
    mail.outbox.clear()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        adjudication = services.adjudication_record(
            case=discordant_case, user=data_manager, participants=[pathologist, pathologist_2, data_manager],
            final_diagnosis="NET_G3", final_ki67=Decimal("35.0"),
            rationale="Organoid pattern and capillary network; Rb retained.")
    discordant_case.refresh_from_db()
    final = FinalClassification.objects.get(patient=discordant_case.patient)
    assert discordant_case.status == CaseStatus.FINAL
    assert (final.final_diagnosis, final.final_ki67, final.method, final.discordant_with_local) == (
        "NET_G3", Decimal("35.0"), FinalMethod.CONSENSUS_MEETING, False)
    assert set(adjudication.participants.values_list("username", flat=True)) == {"patho1", "patho2", "dm"}
    assert selectors.analysis_group(final) == "NET_G3"
    # The site is told in the app and by e-mail.
    notice = Notification.objects.get(patient=discordant_case.patient)
    assert notice.site_id == discordant_case.patient.site_id and "NET G3" in notice.subject
    assert len(mail.outbox) == 1 and "coord_a@example.org" in mail.outbox[0].to
    assert discordant_case.patient.study_id in mail.outbox[0].subject


def test_inadequate_material_is_final_not_reviewable_with_local_ki67(site_a, pathologist):
    case = ready_case(site=site_a, receiver=pathologist, diagnosis="NEC_large_cell", ki67="80.0")
    services.case_claim(case=case, user=pathologist)
    services.review_submit(case=case, user=pathologist, data={"adequate_material": False, "comment": "Crushed"})
    final = FinalClassification.objects.get(patient=case.patient)
    assert (final.final_diagnosis, final.final_ki67, final.ki67_source) == ("not_reviewable", Decimal("80.0"),
                                                                            "local")
    assert selectors.analysis_group(final) is None


def test_read_validation(site_a, pathologist):
    case = ready_case(site=site_a, receiver=pathologist)
    services.case_claim(case=case, user=pathologist)
    with pytest.raises(ValidationFailed) as raised:
        services.review_submit(case=case, user=pathologist, data=read(central_diagnosis="", ki67_central_percent=None,
                                                                      ki67_central_cells_counted=100))
    assert {"central_diagnosis", "ki67_central_percent", "ki67_central_cells_counted"} <= set(raised.value.errors)
    with pytest.raises(ValidationFailed) as raised:
        services.review_submit(case=case, user=pathologist, data=read(central_diagnosis="NET_G3",
                                                                      cell_type="large_cell"))
    assert "cell_type" in raised.value.errors
    with pytest.raises(ValidationFailed):
        services.review_submit(case=case, user=pathologist, data={**read(), "local_diagnosis": "NET_G3"})
    review = services.review_submit(case=case, user=pathologist, data=read(central_diagnosis="NEC_small_cell"))
    assert review.cell_type == "small_cell"
    assert sorted(review.material_received) == ["CgA", "HE", "Ki67", "synaptophysin"]


def test_final_classification_drives_analysis_group(site_a, pathologist):
    nec = ready_case(site=site_a, receiver=pathologist, diagnosis="NEC_small_cell", ki67="90.0")
    net = ready_case(site=site_a, receiver=pathologist, diagnosis="NET_G3", ki67="30.0")
    pending = ready_case(site=site_a, receiver=pathologist)
    claim_and_read(nec, pathologist, central_diagnosis="NEC_small_cell", ki67_central_percent=Decimal("85.0"))
    claim_and_read(net, pathologist, central_diagnosis="NET_G3", ki67_central_percent=Decimal("25.0"))
    ids = [nec.patient_id, net.patient_id, pending.patient_id]
    with CaptureQueriesContext(connection) as queries:
        finals = selectors.final_classification_for_patients(ids)
    assert len(queries.captured_queries) == 1
    groups = {pid: selectors.analysis_group(finals.get(pid)) for pid in ids}
    assert groups == {nec.patient_id: "NEC", net.patient_id: "NET_G3", pending.patient_id: None}
    # Local is never overwritten.
    nec.specimen.refresh_from_db()
    assert nec.specimen.ki67_percent == Decimal("90.0")


def test_release_and_reassign(site_a, pathologist, pathologist_2, data_manager):
    case = ready_case(site=site_a, receiver=pathologist)
    services.case_claim(case=case, user=pathologist)
    case = services.case_assign(case=case, reviewer=pathologist_2, user=data_manager)
    assert (case.status, case.assigned_to) == (CaseStatus.IN_REVIEW, pathologist_2)
    with pytest.raises(ValidationFailed):
        services.case_assign(case=case, reviewer=data_manager, user=data_manager)
    case = services.case_release(case=case, user=pathologist_2)
    assert (case.status, case.assigned_to) == (CaseStatus.READY, None)


def test_every_model_is_audited(site_a, pathologist):
    from registry.pathology import models

    for name in ("Shipment", "ShipmentItem", "ReviewCase", "CentralReview", "Adjudication",
                 "AdjudicationParticipant", "FinalClassification", "Notification"):
        assert hasattr(getattr(models, name), "pgh_event_model"), name
    case = ready_case(site=site_a, receiver=pathologist)
    claim_and_read(case, pathologist)
    event = CentralReview.pgh_event_model.objects.get(case_id=case.pk)
    assert event.pgh_context.metadata["user"] == pathologist.pk
    assert event.pgh_context.metadata["action"] == "pathology.read1_submit"


def test_final_classification_is_kept_and_notified_in_app_when_the_mail_server_is_down(
        discordant_case, pathologist_2, coordinator_a, settings, caplog):
    """A real SMTP backend pointed at a closed loopback port: the read is saved, the notice exists, the failure
    is logged (without the message), and nothing raises to the caller."""
    coordinator_a.email = "coord_a@example.org"
    coordinator_a.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        claim_and_read(discordant_case, pathologist_2, ki67_central_percent=Decimal("78.0"))
    discordant_case.refresh_from_db()
    assert discordant_case.status == CaseStatus.FINAL
    notice = Notification.objects.get(patient=discordant_case.patient)
    assert f"could not e-mail notification {notice.pk}" in caplog.text
    assert discordant_case.patient.study_id not in caplog.text
