"""Building exports through the services: shapes, formats, manifest, checksum, idempotency, site scope."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.conf import settings
from odmlib.odm_parser import ODMSchemaValidator
from openpyxl import load_workbook

from registry.crfs.catalogue import FAMILIES
from registry.exports import services
from registry.exports.models import ExportJob, JobStatus
from registry.exports.writers.redcap_dd import HEADER

pytestmark = pytest.mark.django_db


def build(user, shape="long", fmt="csv", **kw) -> ExportJob:
    job = services.export_job_create(user=user, shape=shape, fmt=fmt, **kw)
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def path_of(job) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file


def zip_csv(job, member):
    with zipfile.ZipFile(path_of(job)) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(member).decode())))


def test_long_csv_bundle_has_a_table_per_form_codebook_dictionary_and_manifest(data_manager, two_sites):
    job = build(data_manager)
    assert job.file_name.startswith("NENREG_DATA_") and job.file_name.endswith(".zip")
    data = path_of(job).read_bytes()
    assert hashlib.sha256(data).hexdigest() == job.checksum_sha256 == job.manifest["sha256"]
    with zipfile.ZipFile(path_of(job)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"patients.csv", "codebook.csv", "redcap_data_dictionary.csv", "manifest.json"} <= names
    assert {f"{f.code}.csv" for f in FAMILIES} <= names
    patients = zip_csv(job, "patients.csv")
    assert sorted(p["study_id"] for p in patients) == sorted(p.study_id for p in two_sites["a"] + two_sites["b"])
    baseline = zip_csv(job, "baseline.csv")
    assert baseline[0]["sex"] == "male" and baseline[0]["ecog_ps"] == "1" and baseline[0]["weight_kg"] == "74.0"
    tumour = zip_csv(job, "tumour.csv")
    assert tumour[0]["metastatic_sites___liver"] == "1" and tumour[0]["metastatic_sites___bone"] == "0"
    other = zip_csv(job, "other_treatment.csv")
    assert other[0]["details"].startswith("Palliative radiotherapy")
    # manifest: who, what, how, and a checksum per member
    assert manifest["requested_by"] == "dm" and manifest["deidentification"]["pseudonymised"] is False
    assert {t["table"] for t in manifest["tables"]} >= {"patients", "baseline", "response"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert job.row_count == sum(t["rows"] for t in manifest["tables"])
    codebook = zip_csv(job, "codebook.csv")
    weight = next(r for r in codebook if r["table"] == "baseline" and r["variable"] == "weight_kg")
    assert (weight["unit"], weight["minimum"], weight["maximum"], weight["type"]) == ("kg", "25", "250", "float")
    sex = next(r for r in codebook if r["table"] == "baseline" and r["variable"] == "sex")
    assert sex["codes"] == "male = Male | female = Female"
    dictionary = list(csv.reader(io.StringIO(zipfile.ZipFile(path_of(job)).read(
        "redcap_data_dictionary.csv").decode())))
    assert dictionary[0] == list(HEADER) and dictionary[1][0] == "record_id"


def test_site_staff_export_only_their_site(coordinator_a, two_sites):
    job = build(coordinator_a, forms=["baseline"])
    assert list(job.sites.values_list("code", flat=True)) == ["OUS"]
    ids = {r["study_id"] for r in zip_csv(job, "baseline.csv")} | {r["study_id"] for r in zip_csv(job, "patients.csv")}
    assert ids == {p.study_id for p in two_sites["a"]}


def test_site_staff_cannot_ask_for_another_site(coordinator_a, site_b, two_sites):
    from registry.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.export_job_create(user=coordinator_a, shape="long", fmt="csv", site_ids=[site_b.pk])


def test_outsider_cannot_export(outsider):
    from registry.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.export_job_create(user=outsider, shape="long", fmt="csv")


def test_wide_csv_equals_the_analysis_dataset(data_manager, two_sites):
    from django.utils import timezone

    from analysis.datasets import COLUMNS, DEFAULT_CONFIG, build_dataset

    job = build(data_manager, shape="wide", fmt="csv")
    assert job.file_name.endswith(".csv")
    with open(path_of(job), newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = {r["study_id"]: r for r in build_dataset(DEFAULT_CONFIG, cutoff=timezone.localdate())}
    assert len(rows) == 3 and list(rows[0]) == list(COLUMNS)
    for row in rows:
        src = expected[row["study_id"]]
        for name in ("os_days", "pfs_days", "best_response", "p0", "ki67", "line1_start", "age_years"):
            value = src[name]
            text = "" if value is None else ("1" if value is True else "0" if value is False else str(value))
            assert row[name] == text, name


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "dta", "parquet", "odm", "redcap_dd", "codebook", "csv_labels",
                                 "zip"])
def test_every_format_builds_and_reads_back(data_manager, two_sites, fmt):
    job = build(data_manager, fmt=fmt, forms=["baseline"])
    path = path_of(job)
    if fmt == "xlsx":
        wb = load_workbook(path, read_only=True)
        assert wb.sheetnames == ["patients", "baseline", "codebook"]
        assert len(list(wb["baseline"].iter_rows(values_only=True))) == 4
    elif fmt in ("sav", "dta", "parquet", "csv_labels", "zip"):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            ext = {"csv_labels": "csv", "zip": "dta"}.get(fmt, fmt)
            member = f"baseline{'_labels' if fmt == 'csv_labels' else ''}.{ext}"
            assert member in names
            tmp = path.parent / member
            tmp.write_bytes(zf.read(member))
        if ext == "sav":
            df, meta = pyreadstat.read_sav(str(tmp))
            assert len(df) == 3 and meta.variable_value_labels["sex"] == {1.0: "Male", 2.0: "Female"}
        elif ext == "dta":
            df, meta = pyreadstat.read_dta(str(tmp))
            assert len(df) == 3 and set(meta.variable_value_labels["sex"].values()) == {"Male", "Female"}
        elif ext == "parquet":
            assert pq.read_table(tmp).num_rows == 3
        else:
            rows = list(csv.DictReader(io.StringIO(tmp.read_text())))
            assert rows[0]["sex"] == "Male"
    elif fmt == "odm":
        assert ODMSchemaValidator(standard="odm", version="1.3.2").xsd.is_valid(str(path))
    elif fmt == "redcap_dd":
        rows = list(csv.reader(io.StringIO(path.read_text())))
        assert rows[0] == list(HEADER)
        assert [r[0] for r in rows[1:4]] == ["record_id", "sex", "date_of_birth"]
    elif fmt == "codebook":
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        assert any(r["variable"] == "ecog_ps" and r["codes"].startswith("0 = 0") for r in rows)


def test_build_is_idempotent_and_replaces_a_half_written_file(data_manager, two_sites):
    job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
    folder = services.exports_root() / str(job.pk)
    folder.mkdir(parents=True)
    (folder / ".build-crashed").mkdir()  # a previous attempt died mid-write
    services.export_job_build(job.pk)
    job.refresh_from_db()
    first = (job.checksum_sha256, job.finished_at, job.attempts)
    services.export_job_build(job.pk)  # redelivered after success: nothing happens
    job.refresh_from_db()
    assert (job.checksum_sha256, job.finished_at, job.attempts) == first
    assert [p.name for p in folder.iterdir() if p.is_file()] == [job.file_name]


def test_sweeper_redispatches_stuck_jobs(data_manager, two_sites, django_capture_on_commit_callbacks):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
    ExportJob.objects.filter(pk=job.pk).update(dispatched_at=timezone.now() - timedelta(hours=1))
    with mock.patch("registry.exports.tasks.build.apply_async") as send, \
            django_capture_on_commit_callbacks(execute=True):
        assert services.export_sweep() == [job.pk]
    send.assert_called_once()
    assert send.call_args.kwargs["args"] == [job.pk]


def test_failed_build_records_the_error(data_manager, two_sites, monkeypatch):
    job = services.export_job_create(user=data_manager, shape="long", fmt="csv")
    monkeypatch.setattr("registry.exports.services.build_file", lambda *a, **k: 1 / 0)
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "ZeroDivisionError" in job.error


def test_audit_trail_holds_the_manifest(data_manager, two_sites):
    job = build(data_manager, shape="wide", fmt="csv")
    events = list(ExportJob.pgh_event_model.objects.filter(pgh_obj_id=job.pk).order_by("pgh_id"))
    assert events[0].pgh_label == "insert"
    succeeded = [e for e in events if e.status == "succeeded"]
    assert len(succeeded) == 1
    context = succeeded[0].pgh_context.metadata
    assert context["manifest"]["sha256"] == job.checksum_sha256
    assert context["manifest"]["requested_by"] == "dm"
    assert date.fromisoformat(context["manifest"]["data_cutoff"])
