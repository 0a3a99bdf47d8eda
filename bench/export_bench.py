"""Export benchmark (run by hand, not a test):

    .venv/bin/python bench/export_bench.py --patients 100000

Builds (once, then reuses) a private database `bench_exports` on the same PostgreSQL server, fills it with N
synthetic patients by bulk_create (the audit triggers still fire), then exports the wide CSV through the
real service (ExportJob → export_job_build) and reports wall time, peak RSS of this process during the export
(sampled with psutil), and the ratio to a PostgreSQL `COPY (SELECT …) TO STDOUT` of the rows the wide export
reads (the same per-table selects, unchunked). DESIGN.md §6 budget: peak RSS < 300 MB, within 3× COPY.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_exports")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.db import connection, transaction  # noqa: E402


def use_bench_database() -> None:
    """Create (or reuse) the bench database with every migration applied; switch the connection to it."""
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=True)


def fill(n: int, seed: int = 7) -> None:
    from django.contrib.auth import get_user_model

    from registry.crfs.models import (
        Baseline,
        Enrolment,
        FollowUp,
        LabResult,
        LocalPathology,
        Regimen,
        ResponseEvaluation,
        TreatmentLine,
        TumourStaging,
    )
    from registry.patients.models import Patient
    from registry.patients.study_ids import format_study_id
    from registry.sites.models import Site

    rng = random.Random(seed)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True,
                                                                                 "is_staff": True})
    sites = [Site.objects.get_or_create(code=code, defaults={"name": code, "country": "NO"})[0]
             for code in ("BENA", "BENB", "BENC", "BEND")]
    regimen = Regimen.objects.get(code="carbo_etop")
    today = date(2025, 6, 1)
    batch = 5000
    made = 0
    while made < n:
        size = min(batch, n - made)
        with transaction.atomic():
            patients = []
            for i in range(made, made + size):
                site = sites[i % len(sites)]
                seq = i // len(sites) + 1
                patients.append(Patient(site=site, study_id=format_study_id(site.country, site.code, seq),
                                        sequence_number=seq, enrolled_by=user))
            patients = Patient.objects.bulk_create(patients)
            forms: dict[type, list] = {m: [] for m in (Enrolment, Baseline, TumourStaging, LocalPathology,
                                                      FollowUp, LabResult)}
            lines = []
            for p in patients:
                dx = today - timedelta(days=rng.randint(100, 1500))
                forms[Enrolment].append(Enrolment(
                    patient=p, registration_date=dx + timedelta(days=5), consent_obtained="yes",
                    consent_date=dx + timedelta(days=4), age_at_registration_ge_18=True,
                    histological_confirmation=True, ki67_gt_20_or_mitoses_gt_20=True,
                    digestive_primary_or_gi_cup=True, eligible=True, date_of_diagnosis=dx,
                    registration_timing="prospective_at_diagnosis"))
                forms[Baseline].append(Baseline(
                    patient=p, sex=rng.choice(["male", "female"]), date_of_birth=date(dx.year - rng.randint(40, 85),
                                                                                      1, 1),
                    ecog_ps=rng.randint(0, 3), weight_kg=Decimal(rng.randint(50, 100)),
                    height_cm=Decimal(rng.randint(150, 195))))
                forms[TumourStaging].append(TumourStaging(
                    patient=p, primary_site="pancreas", primary_site_group="pancreatobiliary",
                    disease_extent_at_diagnosis="metastatic", advanced_disease_date=dx,
                    metastatic_sites=["liver"], n_metastatic_organs=1, resection_of_primary="none"))
                forms[LocalPathology].append(LocalPathology(
                    patient=p, specimen_date=dx, is_diagnostic=True, specimen_site="liver_metastasis",
                    specimen_type="core_biopsy", classification_edition="WHO2019", local_diagnosis="NEC_large_cell",
                    differentiation="poor", cell_type="large_cell", ki67_percent=Decimal(rng.randint(21, 95)),
                    chromogranin_a_ihc="positive", synaptophysin_ihc="positive", report_text="Bench report."))
                death = rng.random() < 0.6
                forms[FollowUp].append(FollowUp(
                    patient=p, visit_date=today - timedelta(days=10), vital_status="dead" if death else "alive",
                    date_of_death=today - timedelta(days=20) if death else None,
                    date_last_known_alive=None if death else today - timedelta(days=10)))
                forms[LabResult].append(LabResult(
                    patient=p, timepoint="baseline_line1", analyte="alp", sample_date=dx + timedelta(days=10),
                    value=Decimal(rng.randint(50, 400)), unit="U/L", uln=Decimal(105), is_baseline=True,
                    above_uln=True, value_x_uln=Decimal("1.5")))
                lines.append(TreatmentLine(
                    patient=p, line_number=1, intent="palliative", regimen=regimen, start_date=dx + timedelta(days=14),
                    n_cycles=4, is_platinum_etoposide=True, contains_platinum_any=True, is_temozolomide_based=False))
            for model, rows in forms.items():
                model.objects.bulk_create(rows, batch_size=2000)
            lines = TreatmentLine.objects.bulk_create(lines, batch_size=2000)
            ResponseEvaluation.objects.bulk_create([
                ResponseEvaluation(patient_id=ln.patient_id, line=ln, eval_date=ln.start_date + timedelta(days=k * 63),
                                   eval_number=k, method="ct", criteria="recist_1_1", new_lesions=False,
                                   overall_response=rng.choice(["PR", "SD", "PD"]))
                for ln in lines for k in (1, 2)], batch_size=2000)
        made += size
        print(f"  inserted {made}/{n} patients", flush=True)


class PeakRss:
    """Samples this process's RSS every 20 ms in a thread; `peak` is the maximum seen."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def copy_baseline() -> tuple[float, int]:
    """COPY … TO STDOUT of the per-table selects the wide export reads (whole tables at once)."""
    from registry.crfs.models import RegimenComponent
    from registry.exports import wide

    snapshot_sql = []
    for model, fields in [
        (wide.Patient, ("id", "study_id", "site_id", "site__country", "withdrawn")),
        (wide.Enrolment, ("patient_id", "eligible", "date_of_diagnosis", "date_of_diagnosis_precision",
                          "registration_date")),
        (wide.Baseline, ("patient_id", "sex", "date_of_birth", "date_of_birth_precision", "ecog_ps")),
        (wide.TumourStaging, ("patient_id", "primary_site", "primary_site_group", "disease_extent_at_diagnosis",
                              "advanced_disease_date", "metastatic_sites", "resection_of_primary")),
        (wide.LocalPathology, ("patient_id", "is_diagnostic", "specimen_date", "ki67_percent", "cell_type",
                               "local_diagnosis")),
        (wide.LabResult, ("patient_id", "line_id", "analyte", "above_uln", "value_x_uln")),
        (wide.TreatmentLine, ("id", "patient_id", "line_number", "intent", "regimen_id", "regimen__code",
                              "backbone_regimen_id", "start_date", "start_date_precision", "n_cycles",
                              "clinical_progression", "clinical_progression_date", "is_platinum_etoposide",
                              "ecog_ps_at_start")),
        (wide.ResponseEvaluation, ("patient_id", "line_id", "eval_date", "overall_response")),
        (wide.FollowUp, ("patient_id", "visit_date", "vital_status", "date_last_known_alive", "date_of_death")),
        (wide.SystemicTreatmentStatus, ("patient_id", "received_palliative_systemic")),
        (RegimenComponent, ("regimen_id", "drug__code", "drug__is_cytotoxic")),
    ]:
        snapshot_sql.append(model.objects.order_by().values_list(*fields).query.sql_with_params())
    total = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for sql, params in snapshot_sql:
            with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    total += len(block)
    return time.perf_counter() - started, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--refill", action="store_true", help="Delete the bench cohort and insert it again.")
    args = parser.parse_args()

    print("Preparing the bench database …", flush=True)
    use_bench_database()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from registry.exports import services
    from registry.patients.models import Patient

    settings.MEDIA_ROOT = Path(settings.DATA_DIR) / "bench-media"
    have = Patient.objects.count()
    if have != args.patients or args.refill:
        if have:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE patients_patient, patients_studyidcounter RESTART IDENTITY CASCADE")
        t0 = time.perf_counter()
        fill(args.patients)
        print(f"Inserted {args.patients} patients in {time.perf_counter() - t0:.1f} s")
    user = get_user_model().objects.get(username="bench")
    rss_before = psutil.Process().memory_info().rss

    job = services.export_job_create(user=user, shape="wide", fmt="csv")
    with PeakRss() as rss:
        t0 = time.perf_counter()
        services.export_job_build(job.pk)
        export_seconds = time.perf_counter() - t0
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    copy_seconds, copy_bytes = copy_baseline()
    print(f"\nWide CSV export of {job.row_count} patients ({job.file_size / 1e6:.1f} MB): {export_seconds:.2f} s")
    print(f"Peak RSS during export: {rss.peak / 2**20:.0f} MiB (before: {rss_before / 2**20:.0f} MiB, "
          f"growth {(rss.peak - rss_before) / 2**20:.0f} MiB)")
    print(f"PostgreSQL COPY of the same source rows: {copy_seconds:.2f} s ({copy_bytes / 1e6:.1f} MB)")
    print(f"Ratio export / COPY: {export_seconds / copy_seconds:.1f}×")


if __name__ == "__main__":
    main()
