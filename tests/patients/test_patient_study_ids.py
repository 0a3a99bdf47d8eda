"""Study ids: format, ISO 7064 MOD 37,36 check character, per-site numbering, uniqueness under
concurrency, and numbers that are never reused."""

import threading

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from registry.core.errors import PermissionDenied
from registry.crfs.models import Enrolment
from registry.crfs.services import patient_enrol
from registry.patients.models import Patient, StudyIdCounter
from registry.patients.services import patient_withdraw
from registry.patients.study_ids import (
    ALPHABET,
    check_character,
    format_study_id,
    has_valid_check_character,
    is_well_formed,
)
from registry.sites.models import Country, Role
from tests.factories.crfs import EnrolmentFactory, form_data
from tests.factories.sites import SiteFactory, member


def enrolment_data():
    return form_data(EnrolmentFactory)


def test_format_and_check_character():
    study_id = format_study_id("NO", "OUS", 1)
    assert study_id.startswith("NO-OUS-0001")
    assert len(study_id) == len("NO-OUS-0001") + 1
    assert study_id[-1] == check_character("NOOUS0001")
    assert is_well_formed(study_id)
    assert format_study_id("DK", "AUH", 12345).startswith("DK-AUH-12345")


def test_check_character_catches_substitutions_and_adjacent_transpositions():
    study_id = format_study_id("SE", "KS", 42)
    chars = list(study_id)
    for i, c in enumerate(chars):
        if c == "-":
            continue
        for other in ALPHABET:
            if other != c:
                assert not has_valid_check_character("".join(chars[:i] + [other] + chars[i + 1:]))
    for i in range(len(chars) - 1):
        if "-" in chars[i:i + 2] or chars[i] == chars[i + 1]:
            continue
        swapped = chars[:]
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        assert not has_valid_check_character("".join(swapped))


def test_malformed_ids_are_rejected():
    assert not is_well_formed("NO-OUS-0001")
    assert not is_well_formed("no-ous-0001x")
    assert not has_valid_check_character("NO-OUS-00*1A")


@pytest.mark.django_db
def test_enrolment_numbers_patients_per_site(site_a, site_b, coordinator_a, coordinator_b):
    first, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    second, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    other, _ = patient_enrol(site=site_b, user=coordinator_b, data=enrolment_data())
    assert first.study_id == format_study_id(Country.NORWAY, "OUS", 1)
    assert second.study_id == format_study_id(Country.NORWAY, "OUS", 2)
    assert other.study_id == format_study_id(Country.DENMARK, "AUH", 1)
    assert all(is_well_formed(p.study_id) for p in (first, second, other))


@pytest.mark.django_db
def test_numbers_of_withdrawn_and_deleted_patients_are_never_reused(site_a, coordinator_a, data_manager):
    withdrawn, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    patient_withdraw(patient=withdrawn, user=coordinator_a, withdrawal_date=withdrawn.created_at.date(),
                     reason="Consent withdrawn")
    withdrawn.refresh_from_db()
    assert withdrawn.withdrawn and withdrawn.study_id.startswith("NO-OUS-0001")
    # A patient removed outright (e.g. a test entry) keeps its number used up too.
    deleted, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    Enrolment.objects.filter(patient=deleted).delete()
    deleted.delete()
    third, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    assert third.sequence_number == 3


@pytest.mark.django_db
def test_counter_never_decrements_and_study_id_never_changes(site_a, coordinator_a):
    patient, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        StudyIdCounter.objects.filter(site=site_a).update(last_number=0)
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(study_id="NO-OUS-9999Z")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(site=site_a, study_id="NO-OUS-0001X", sequence_number=1,
                               enrolled_by=coordinator_a)


@pytest.mark.django_db
def test_failed_enrolment_uses_up_no_number(site_a, coordinator_a):
    from registry.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        patient_enrol(site=site_a, user=coordinator_a, data={**enrolment_data(), "consent_obtained": "maybe"})
    patient, _ = patient_enrol(site=site_a, user=coordinator_a, data=enrolment_data())
    assert patient.sequence_number == 1


@pytest.mark.django_db
def test_only_site_data_entry_roles_may_enrol(site_a, coordinator_b, monitor_a, outsider):
    for user in (coordinator_b, monitor_a, outsider):
        with pytest.raises(PermissionDenied):
            patient_enrol(site=site_a, user=user, data=enrolment_data())
    assert not Patient.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_get_unique_consecutive_ids():
    site = SiteFactory(code="CON", country=Country.SWEDEN)
    users = [member(Role.SITE_COORDINATOR, site, f"conc{i}") for i in range(8)]
    data = enrolment_data()
    barrier = threading.Barrier(len(users))
    ids, errors = [], []

    def enrol(user):
        try:
            barrier.wait()
            patient, _ = patient_enrol(site=site, user=user, data=data)
            ids.append(patient.study_id)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(ids) == [format_study_id("SE", "CON", n) for n in range(1, len(users) + 1)]
    assert StudyIdCounter.objects.get(site=site).last_number == len(users)
