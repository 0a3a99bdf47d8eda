"""Pseudonymisation: statisticians get no free text and shifted dates (or durations), consistently per release."""

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from registry.exports import services
from registry.exports.deid import Deidentifier, derived_key
from tests.factories.exports import ExportReleaseFactory

pytestmark = pytest.mark.django_db


def table(job, name):
    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / job.file) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(f"{name}.csv").decode())))


def build(user, **kw):
    job = services.export_job_create(user=user, shape="long", fmt="csv", forms=["enrolment", "other_treatment"], **kw)
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def by_id(rows, column):
    return {r["study_id"]: r[column] for r in rows}


def test_statistician_export_is_forced_pseudonymised(statistician, data_manager, two_sites):
    release = ExportReleaseFactory()
    job = build(statistician, release=release, options={"dates": "keep", "drop_free_text": False})
    assert job.pseudonymised and job.options["pseudonymisation_forced"]
    assert job.options["dates"] == "shift" and job.options["drop_free_text"] is True
    assert job.manifest["deidentification"]["pseudonymised"] is True
    other = table(job, "other_treatment")
    assert "details" not in other[0]
    assert "ineligibility_reason" not in table(job, "enrolment")[0]
    assert "withdrawal_reason" not in table(job, "patients")[0]
    full = build(data_manager)
    real = by_id(table(full, "enrolment"), "registration_date")
    shifted = by_id(table(job, "enrolment"), "registration_date")
    assert set(real) == set(shifted) == {p.study_id for p in two_sites["a"] + two_sites["b"]}
    for sid in real:
        offset = (date.fromisoformat(real[sid]) - date.fromisoformat(shifted[sid])).days
        assert 1 <= offset <= 364
        # the same offset for every date of the patient: intervals are exact
        assert offset == (date.fromisoformat(by_id(table(full, "other_treatment"), "date")[sid])
                          - date.fromisoformat(by_id(other, "date")[sid])).days


def test_shift_is_consistent_within_a_release_and_differs_across_releases(statistician, two_sites):
    first, second = ExportReleaseFactory(name="r1"), ExportReleaseFactory(name="r2")
    a1 = by_id(table(build(statistician, release=first), "enrolment"), "registration_date")
    a2 = by_id(table(build(statistician, release=first), "enrolment"), "registration_date")
    b = by_id(table(build(statistician, release=second), "enrolment"), "registration_date")
    assert a1 == a2
    assert a1 != b


def test_durations_replace_dates_with_days_from_diagnosis(statistician, data_manager, two_sites):
    job = build(statistician, options={"dates": "durations"})
    rows = table(job, "enrolment")
    assert "registration_date" not in rows[0] and "registration_date_days" in rows[0]
    full = {r["study_id"]: r for r in table(build(data_manager), "enrolment")}
    for row in rows:
        src = full[row["study_id"]]
        expected = (date.fromisoformat(src["registration_date"]) - date.fromisoformat(src["date_of_diagnosis"])).days
        assert int(row["registration_date_days"]) == expected
        assert row["date_of_diagnosis_days"] == "0"


def test_data_manager_may_choose_full_data_and_hashed_ids(data_manager, two_sites):
    job = build(data_manager, options={"hash_record_id": True})
    ids = {r["study_id"] for r in table(job, "enrolment")}
    assert not ids & {p.study_id for p in two_sites["a"]} and all(len(i) == 20 for i in ids)
    assert not job.pseudonymised and "details" in table(job, "other_treatment")[0]


def test_offsets_are_keyed_and_bounded():
    one = Deidentifier(dates="shift", key=derived_key("secret", "r1"))
    two = Deidentifier(dates="shift", key=derived_key("secret", "r2"))
    offsets = [one.offset_days(f"OUS-{i:04d}") for i in range(500)]
    assert min(offsets) >= 1 and max(offsets) <= 364 and len(set(offsets)) > 200
    assert offsets != [two.offset_days(f"OUS-{i:04d}") for i in range(500)]
    with pytest.raises(ValueError):
        Deidentifier(dates="shift")
