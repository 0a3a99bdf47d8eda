"""The wide export's fast paths: chunked snapshot reads equal one read of every patient, the wide CSV holds the
analysis dataset column for column in site/sequence order whatever the chunk size, and the CSV writer's
per-kind conversion writes exactly what `text()` writes."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyreadstat
import pytest

from analysis.datasets import COLUMNS, DEFAULT_CONFIG, build_dataset
from analysis.selectors import SnapshotReader, regimen_component_rows, registry_snapshot
from registry.exports import services
from registry.exports.models import JobStatus
from registry.exports.writers.columns import Column, text
from registry.exports.writers.csv import write_csv
from registry.exports.writers.stats import write_dta, write_sav
from registry.pathology.models import FinalClassification
from registry.patients.models import Patient
from tests.factories.crfs import LabResultFactory, complete_casebook, data_entry_user
from tests.factories.exports import cohort
from tests.factories.pathology import claim_and_read, ready_case
from tests.factories.patients import PatientFactory

#: Snapshot tables whose row order the derivations depend on (the others are keyed by patient).
ORDERED = ("patients", "specimens", "labs", "lines", "evaluations", "followups")
UNORDERED = ("enrolments", "baselines", "tumours", "treatment_status")


@pytest.fixture
def varied(site_a, site_b, seeded_regimens, pathologist, pathologist_2):
    """Patients at two sites: complete case books, one centrally classified, one with a second baseline lab,
    one registered with no forms at all."""
    patients = cohort(site_b, 2) + cohort(site_a, 2)
    case = ready_case(receiver=pathologist, site=site_a)
    claim_and_read(case, pathologist)
    case.refresh_from_db()
    if not FinalClassification.objects.filter(patient_id=case.patient_id).exists():
        claim_and_read(case, pathologist_2)  # a second, agreeing read finalises it
    forms = complete_casebook(site=site_b)
    LabResultFactory(patient=forms["patient"], user=data_entry_user(site_b), analyte="ldh")
    patients += [case.patient, forms["patient"], PatientFactory(site=site_a)]
    assert FinalClassification.objects.exists()
    return patients


def _sortable(rows):
    return sorted((sorted(r.items()) for r in rows), key=repr)


@pytest.mark.django_db
@pytest.mark.parametrize("minimum_status", ["draft", "submitted"])
def test_chunked_reads_equal_one_read_of_every_patient(varied, minimum_status):
    ids = sorted(p.pk for p in varied)
    components = regimen_component_rows()
    whole = registry_snapshot(minimum_status=minimum_status, regimen_components=components)
    reader = SnapshotReader(minimum_status=minimum_status)
    for chunk in (ids[:3], ids[3:]):
        got = reader.snapshot(chunk, components)
        wanted = set(chunk)

        def of_chunk(rows, key="patient_id", wanted=wanted):
            return [r for r in rows if r[key] in wanted]

        assert got.patients == of_chunk(whole.patients, "id")
        for name in ORDERED[1:]:
            assert getattr(got, name) == of_chunk(getattr(whole, name)), name
        for name in UNORDERED:
            assert _sortable(getattr(got, name)) == _sortable(of_chunk(getattr(whole, name))), name
        assert got.classifications == {k: v for k, v in whole.classifications.items() if k in wanted}
    assert whole.classifications, "the fixture classifies one patient centrally"
    assert {len(whole.patients), len(whole.lines)} != {0}


def test_a_reader_refuses_a_read_that_does_not_match_its_mode():
    with pytest.raises(ValueError, match="chunked reader needs patient ids"):
        SnapshotReader(minimum_status="draft").snapshot(None, [])
    with pytest.raises(ValueError, match="unchunked one reads every patient"):
        SnapshotReader(minimum_status="draft", chunked=False).snapshot([1], [])


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 3, 2000])
def test_wide_csv_is_the_analysis_dataset_in_site_order_whatever_the_chunk(varied, data_manager, settings,
                                                                           chunk_size):
    from django.utils import timezone

    settings.EXPORTS_CHUNK_SIZE = chunk_size
    job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    with open(Path(settings.MEDIA_ROOT) / job.file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    in_order = list(Patient.objects.order_by("site__code", "sequence_number").values_list("study_id", flat=True))
    assert [r["study_id"] for r in rows] == in_order
    expected = {r["study_id"]: r for r in build_dataset(DEFAULT_CONFIG, cutoff=timezone.localdate())}
    for row in rows:
        assert row == {name: text(value) for name, value in expected[row["study_id"]].items()}


def test_csv_writer_converts_every_kind_as_text_does():
    columns = [Column("i", kind="integer"), Column("f", kind="float"), Column("b", kind="boolean"),
               Column("d", kind="date"), Column("s", kind="string"), Column("t", kind="text")]
    rows = [
        [1, 1.5, True, date(2024, 2, 29), "NEC", "free, text \"quoted\""],
        [0, Decimal("2.50"), False, None, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), ""],
        [None, None, None, "2024-01-01", True, 7],
        [-3, 1e-7, 1, date(1999, 12, 31), None, None],
    ]
    out = io.StringIO(newline="")
    assert write_csv(out, columns, rows) == len(rows)
    reference = io.StringIO(newline="")
    writer = csv.writer(reference, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerows([[text(v) for v in row] for row in rows])
    assert out.getvalue() == reference.getvalue()


@pytest.mark.parametrize(("writer", "reader"), [(write_dta, pyreadstat.read_dta), (write_sav, pyreadstat.read_sav)])
def test_wide_table_writes_to_stata_and_spss_across_packing_boundaries(tmp_path, monkeypatch, writer, reader):
    """Every wide column at once (Stata once failed: the 33rd labelled variable's value-label set name
    `immediate_progression_evaluable32` is longer than Stata allows), rows packed in several blocks."""
    from analysis.datasets import COLUMNS as WIDE
    from registry.exports import wide
    from registry.exports.writers import stats

    monkeypatch.setattr(stats, "PACK_ROWS", 2)
    columns = wide.wide_columns(WIDE, date_mode="keep")
    rows = []
    for i in range(5):
        row = []
        for c in columns:
            if c.kind == "boolean":
                row.append(i % 2 == 0)
            elif c.value_labels:
                row.append(list(c.value_labels)[i % len(c.value_labels)])
            elif c.kind in ("integer", "float"):
                row.append(None if i == 3 else i * 10)
            elif c.kind == "date":
                row.append(date(2024, 1, 1 + i))
            else:
                row.append(None if i == 4 else f"{c.name}-{i % 2}")
        rows.append(row)
    path = tmp_path / "wide.bin"
    meta = writer(str(path), columns, iter(rows))
    df, info = reader(str(path))
    assert meta["rows"] == len(df) == 5
    back = {meta["names"].get(c.name, c.name): c for c in columns}
    assert set(df.columns) == set(back) and all(len(n) <= 32 for n in df.columns)
    for name, column in back.items():
        index = [c.name for c in columns].index(column.name)
        for i, got in enumerate(df[name]):
            src = rows[i][index]
            numbers = stats.numeric_codes(column)
            want = numbers[src] if numbers is not None and src is not None else src
            assert (stats.to_python(got) or None) == (want if want != "" else None) or \
                (want is not None and stats.to_python(got) == want), (name, i, got, src)


def test_progress_counted_in_batches_still_reports_every_interval():
    from registry.exports.build import Progress, _counted

    seen = []
    progress = Progress(total=2300, report=lambda written, total: seen.append(written), every=1000)
    assert sum(1 for _ in _counted(iter(range(2300)), progress)) == 2300
    assert progress.written == 2300 and seen == [1000, 2000]
    progress.add(750)
    assert seen == [1000, 2000, 3050]
