"""The wide export's fast paths: chunked snapshot reads equal one read of every patient, the wide CSV holds the
analysis dataset column for column and in its order whatever the chunk size, and the CSV writer's
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
from registry.core.reads import consistent_read
from registry.exports import services
from registry.exports.models import JobStatus
from registry.exports.writers.columns import Column, ColumnBatches, text
from registry.exports.writers.csv import write_csv
from registry.exports.writers.parquet import write_parquet
from registry.exports.writers.stats import write_dta, write_sav
from registry.pathology.models import FinalClassification
from registry.patients.models import Patient
from tests.factories.crfs import LabResultFactory, complete_casebook, data_entry_user
from tests.factories.exports import cohort
from tests.factories.pathology import claim_and_read, ready_case
from tests.factories.patients import PatientFactory

#: Snapshot tables whose row order the derivations depend on (the others are keyed by patient).
ORDERED = ("patients", "specimens", "labs", "lines", "evaluations", "followups")
UNORDERED = ("enrolments", "baselines", "tumours", "treatment_status", "classifications")


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
@pytest.mark.parametrize("chunk_size", [1, 3, 4])
def test_streamed_chunks_equal_one_read_of_every_patient(varied, minimum_status, chunk_size):
    """Chunks split every table at the same patients, keep each table's own order, and together hold exactly
    the rows of one unscoped read (tables keyed by patient may come in any order unscoped)."""
    components = regimen_component_rows()
    whole = registry_snapshot(minimum_status=minimum_status, regimen_components=components)
    reader = SnapshotReader(minimum_status=minimum_status, patients=Patient.objects.all())
    with consistent_read():
        chunks = list(reader.chunks(chunk_size, components))
    ids = sorted(p.pk for p in varied)
    assert [[row[0] for row in c.patients.rows] for c in chunks] == [
        ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
    for name in ORDERED + UNORDERED:
        table = getattr(whole, name)
        key = table.names.index("id" if name == "patients" else "patient_id")
        for chunk in chunks:
            got, wanted = getattr(chunk, name), {row[0] for row in chunk.patients.rows}
            assert got.names == table.names
            assert {row[key] for row in got.rows} <= wanted, name
        streamed = [row for chunk in chunks for row in getattr(chunk, name).rows]
        if name in ORDERED:
            assert streamed == table.rows, name
        else:
            assert sorted(streamed, key=repr) == sorted(table.rows, key=repr), name
    assert whole.classifications.rows, "the fixture classifies one patient centrally"
    assert {len(whole.patients), len(whole.lines)} != {0}


@pytest.mark.django_db
def test_a_scoped_read_holds_only_the_patients_in_scope(varied, site_a):
    reader = SnapshotReader(minimum_status="draft", patients=Patient.objects.filter(site=site_a))
    with consistent_read():
        (snap,) = reader.chunks(100, [])
    in_scope = set(Patient.objects.filter(site=site_a).values_list("pk", flat=True))
    assert {row[0] for row in snap.patients.rows} == in_scope and len(in_scope) < len(varied)
    for name in ORDERED[1:] + UNORDERED:
        table = getattr(snap, name)
        assert {row[table.names.index("patient_id")] for row in table.rows} <= in_scope, name


def test_a_reader_reads_inside_a_transaction_only():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        next(SnapshotReader(minimum_status="draft").chunks(None, []))


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 3, 2000])
def test_wide_csv_is_the_analysis_dataset_in_its_order_whatever_the_chunk(varied, data_manager, settings,
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
    dataset = build_dataset(DEFAULT_CONFIG, cutoff=timezone.localdate())
    assert [r["study_id"] for r in rows] == [r["study_id"] for r in dataset]  # patient id (registration) order
    assert len(rows) == len(varied)
    for row, expected in zip(rows, dataset, strict=True):
        assert row == {name: text(value) for name, value in expected.items()}


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


def _column_batches(rows, sizes):
    """The rows as ColumnBatches of the given batch sizes (what the wide table hands the writers)."""
    def batches():
        start = 0
        for size in sizes:
            yield [list(column) for column in zip(*rows[start:start + size], strict=True)]
            start += size
        assert start == len(rows)
    return ColumnBatches(batches)


@pytest.mark.parametrize("as_batches", [False, True])
@pytest.mark.parametrize(("writer", "reader"), [(write_dta, pyreadstat.read_dta), (write_sav, pyreadstat.read_sav)])
def test_wide_table_writes_to_stata_and_spss_across_packing_boundaries(tmp_path, monkeypatch, writer, reader,
                                                                       as_batches):
    """Every wide column at once (Stata once failed: the 33rd labelled variable's value-label set name
    `immediate_progression_evaluable32` is longer than Stata allows), rows packed in several blocks, given as
    rows or as column batches whose ends are not the packing boundaries."""
    from analysis.datasets import COLUMNS as WIDE
    from registry.exports import wide
    from registry.exports.writers import stats

    monkeypatch.setattr(stats, "PACK_ROWS", 2)
    columns = wide.wide_columns(WIDE, date_mode="keep")
    rows = []
    for i in range(4 if as_batches else 5):
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
    meta = writer(str(path), columns, _column_batches(rows, [3, 1]) if as_batches else iter(rows))
    df, info = reader(str(path))
    assert meta["rows"] == len(df) == len(rows)
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
    progress = Progress(total=2300, report=lambda written, total: seen.append(written), every=1000, min_seconds=0)
    assert sum(1 for _ in _counted(iter(range(2300)), progress)) == 2300
    assert progress.written == 2300 and seen == [1000, 2000]
    progress.add(750)
    assert seen == [1000, 2000, 3050]


def test_progress_reports_at_most_once_per_interval_however_fast_rows_come():
    from registry.exports.build import Progress

    seen = []
    progress = Progress(total=10_000, report=lambda written, total: seen.append(written), every=1000,
                        min_seconds=3600)
    for _ in range(10):
        progress.add(1000)
    assert progress.written == 10_000 and seen == [1000]  # the first report, then none within the hour


def test_column_batches_write_the_same_csv_and_parquet_as_rows(tmp_path):
    import pyarrow.parquet as pq

    columns = [Column("i", kind="integer"), Column("b", kind="boolean"), Column("d", kind="date"),
               Column("s", kind="string")]
    rows = [(i, i % 3 == 0 if i != 4 else None, date(2024, 1, 1 + i), f"x,{i}" if i % 2 else None)
            for i in range(7)]
    as_rows, as_batches = io.StringIO(newline=""), io.StringIO(newline="")
    assert write_csv(as_rows, columns, rows) == write_csv(as_batches, columns, _column_batches(rows, [2, 4, 1])) == 7
    assert as_batches.getvalue() == as_rows.getvalue()
    meta = write_parquet(str(tmp_path / "t.parquet"), columns, _column_batches(rows, [2, 4, 1]), row_group_size=3)
    table = pq.read_table(tmp_path / "t.parquet")
    assert meta["rows"] == table.num_rows == 7 and meta["row_groups"] == 2
    assert [tuple(r.values()) for r in table.to_pylist()] == rows


def test_column_batches_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="2 columns"):
        write_csv(io.StringIO(), [Column("a"), Column("b"), Column("c")], _column_batches([(1, 2)], [1]))
