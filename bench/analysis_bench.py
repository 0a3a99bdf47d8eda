"""Benchmark of the analysis pipeline (run by hand; not a test; issue 7 item 2, DESIGN.md §6).

    .venv/bin/python bench/analysis_bench.py                       # 639, 10,000 and 100,000 patients from the DB
    .venv/bin/python bench/analysis_bench.py --n 639 --celery      # one size, plus the run through a Celery worker
    .venv/bin/python bench/analysis_bench.py --memory 100000       # no database: synthetic registry rows

From the database (default): `bench.scale_data.ensure_scale_database(n)` gives `bench_scale_<n>` on the server
of DATABASE_URL (created and filled on first use; the demo cohort's model). A full recompute is then timed end
to end exactly as a data manager's "Recompute now" runs it (`analysis_run_execute` on a new manual run row):
dataset build from the registry (one query per table) and fingerprint → load of the frozen dataset → every
enabled definition (estimators, and separately the PNG figures) → storage (results and figures in one
transaction). Then the unchanged-data tick (`analysis_tick`: dataset, fingerprint, no run), and the floor: the
same estimates with bare lifelines on the same in-memory table (KM per group + log-rank, every Cox fit; no
R-exact medians, PH tests, concordance SEs, Table 1, suppression or figures). With --celery the same recompute
also goes through a real `celery worker` process (`analysis.run` task on a private queue). The runs it creates
are deleted at the end. Budgets: 639 patients < 5 s; 100,000 < 60 s and within 2x the floor; tick < 0.2 s.

--memory: the older in-process path on synthetic registry rows (the shape `registry_snapshot` returns).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

from analysis import compute  # noqa: E402
from analysis.arrays import TableRows  # noqa: E402
from analysis.datasets import RegistrySnapshot, build_rows, fingerprint, to_columns  # noqa: E402
from analysis.definitions import PAPER_DEFINITIONS  # noqa: E402

CUTOFF = date(2025, 6, 30)
CONFIG = {"ki67_cutoff": 55.0, "ki67_operator": "ge", "min_cell_size": 5, "data_cutoff_date": None,
          "pfs_assessment_interval_days": 63, "pfs_late_death_rule": "event", "minimum_form_status": "draft"}
REGIMENS = {1: ("carbo_etop", ["carboplatin", "etoposide"]), 2: ("captem", ["capecitabine", "temozolomide"]),
            3: ("folfox", ["fluorouracil", "folinic_acid", "oxaliplatin"])}
SITES = ["pancreas", "stomach", "colon_right", "rectum", "jejunum_ileum", "unknown_primary_gi_pattern"]
SITE_GROUP = {"pancreas": "pancreatobiliary", "stomach": "oesophagus_stomach", "colon_right": "colorectal",
              "rectum": "colorectal", "jejunum_ileum": "small_bowel", "unknown_primary_gi_pattern": "unknown"}


def synthetic_snapshot(n: int, seed: int = 42) -> RegistrySnapshot:
    """Registry rows of n advanced, treated (mostly) HG-NEN patients with realistic censoring."""
    rng = np.random.default_rng(seed)
    nec = rng.random(n) < 0.785
    ps = rng.choice(4, n, p=[0.25, 0.4, 0.25, 0.1])
    ki67 = np.where(nec, rng.uniform(21, 100, n), rng.uniform(21, 60, n)).round(1)
    alp_high = rng.random(n) < 0.45
    age = rng.normal(67, 10, n).clip(30, 90)
    male = rng.random(n) < 0.57
    site = rng.choice(len(SITES), n)
    platinum = np.where(nec, rng.random(n) < 0.88, rng.random(n) < 0.35)
    regimen = np.where(platinum, 1, np.where(rng.random(n) < 0.6, 2, 3))
    colorectal = np.isin(site, [2, 3])
    lp = (0.25 * colorectal + np.select([ps == 1, ps == 2, ps == 3], [0.2, 0.6, 1.1], 0.0)
          + 0.35 * (ki67 >= 55) + 0.35 * alp_high + 0.014 * (age - 67) + 0.18 * male
          + np.where(nec, 0.0, 0.6 * platinum))
    os_median = np.where(nec, 7.4, 21.8) * 30.4375
    pfs_median = np.where(nec, 3.4, 7.4) * 30.4375
    os_t = np.ceil(rng.exponential(os_median / np.log(2)) * np.exp(-lp + lp.mean())).astype(int) + 1
    pfs_t = np.minimum(np.ceil(rng.exponential(pfs_median / np.log(2)) * np.exp(-lp + lp.mean())).astype(int) + 1,
                       os_t)
    start = np.array([date(2017, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 6 * 365, n)])
    untreated = rng.random(n) < 0.15
    snap = SimpleNamespace(patients=[], enrolments=[], baselines=[], tumours=[], specimens=[], labs=[], lines=[],
                           evaluations=[], followups=[], treatment_status=[], regimen_components=[],
                           classifications=[])
    drug_ids = {}
    for rid, (_, drugs) in REGIMENS.items():
        for d in drugs:
            drug_ids.setdefault(d, len(drug_ids))
            snap.regimen_components.append({"regimen_id": rid, "drug__code": d, "drug__platinum_agent": "",
                                            "drug__is_cytotoxic": d != "folinic_acid"})
    line_id = 0
    for i in range(n):
        pid = i + 1
        s0 = start[i]
        diagnosis = s0 - timedelta(days=int(rng.integers(10, 60)))
        snap.patients.append({"id": pid, "study_id": f"NO-BEN-{pid:06d}", "site_id": 1 + i % 20,
                              "site__country": "NO", "withdrawn": False})
        snap.enrolments.append({"patient_id": pid, "eligible": True, "date_of_diagnosis": diagnosis,
                                "date_of_diagnosis_precision": "day", "registration_date": diagnosis})
        snap.baselines.append({"patient_id": pid, "sex": "male" if male[i] else "female",
                               "date_of_birth": date(int(s0.year - age[i]), 1, 1), "date_of_birth_precision": "year",
                               "ecog_ps": int(ps[i])})
        snap.tumours.append({"patient_id": pid, "primary_site": SITES[site[i]], "primary_site_group":
                             SITE_GROUP[SITES[site[i]]], "disease_extent_at_diagnosis": "metastatic",
                             "advanced_disease_date": diagnosis, "liver_metastases": True,
                             "resection_of_primary": "none"})
        snap.specimens.append({"patient_id": pid, "is_diagnostic": True, "specimen_date": diagnosis,
                               "ki67_percent": float(ki67[i]), "cell_type": "large_cell" if nec[i] else "",
                               "local_diagnosis": "NEC_large_cell" if nec[i] else "NET_G3"})
        snap.classifications.append({"patient_id": pid, "final_diagnosis": "NEC_large" if nec[i] else "NET_G3",
                                     "final_ki67": float(ki67[i]), "ki67_source": "central"})
        death = s0 + timedelta(days=int(os_t[i]))
        if not untreated[i]:
            line_id += 1
            reg = int(regimen[i])
            snap.lines.append({"id": line_id, "patient_id": pid, "line_number": 1, "intent": "palliative",
                               "regimen_id": reg, "regimen__code": REGIMENS[reg][0], "backbone_regimen_id": None,
                               "start_date": s0, "start_date_precision": "day", "n_cycles": 4,
                               "clinical_progression": False, "clinical_progression_date": None,
                               "clinical_progression_date_precision": "day", "is_platinum_etoposide": reg == 1,
                               "contains_platinum_any": reg in (1, 3), "is_temozolomide_based": reg == 2,
                               "ecog_ps_at_start": None})
            snap.labs.append({"patient_id": pid, "line_id": None, "analyte": "alp",
                              "above_uln": bool(alp_high[i]), "value_x_uln": 1.8 if alp_high[i] else 0.8})
            day = 56
            while day < pfs_t[i]:
                snap.evaluations.append({"patient_id": pid, "line_id": line_id,
                                         "eval_date": s0 + timedelta(days=day), "overall_response":
                                         "PR" if day == 56 and rng.random() < 0.3 else "SD"})
                day += 63
            if pfs_t[i] < os_t[i]:
                snap.evaluations.append({"patient_id": pid, "line_id": line_id,
                                         "eval_date": s0 + timedelta(days=int(pfs_t[i])), "overall_response": "PD"})
        if death <= CUTOFF:
            snap.followups.append({"patient_id": pid, "visit_date": death, "vital_status": "dead",
                                   "date_last_known_alive": None, "date_last_known_alive_precision": "day",
                                   "date_of_death": death, "date_of_death_precision": "day"})
        else:
            seen = CUTOFF - timedelta(days=int(rng.integers(0, 120)))
            snap.followups.append({"patient_id": pid, "visit_date": seen, "vital_status": "alive",
                                   "date_last_known_alive": seen, "date_last_known_alive_precision": "day",
                                   "date_of_death": None, "date_of_death_precision": "day"})
    # the rows as the selectors read them: tuples, with the column names
    names = {"treatment_status": ("patient_id", "received_palliative_systemic")}  # no rows here
    tables = {name: TableRows.from_dicts(names.get(name) or list(rows[0]), rows) for name, rows in vars(snap).items()
              if name != "regimen_components"}
    return RegistrySnapshot(regimen_components=snap.regimen_components, **tables)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t0


def timed_cpu(fn, *args, **kwargs):
    """(value, wall seconds, CPU seconds of this process): on a shared machine the CPU time is the figure
    that does not depend on what else runs (the database server's own CPU is not in it)."""
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t0, time.process_time() - c0


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def lifelines_floor(df, definitions) -> float:
    """The same estimates with bare lifelines on the same table: KM per group, log-rank, Cox (no figures)."""
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    t0 = time.perf_counter()
    medians = []
    for d in definitions:
        if d["method"] not in ("km", "cox_uni", "cox_multi", "followup"):
            continue
        sub = compute.select(df, d)
        duration, event = compute.ENDPOINT_COLUMNS[d["endpoint"]]
        sub = sub[sub[duration].notna()]
        t, e = sub[duration].astype(float), sub[event].astype(int)
        if d["method"] in ("km", "followup"):
            e_used = e if d["method"] == "km" else 1 - e
            group = d.get("grouping_variable")
            if group:
                for _, part in sub.groupby(group):
                    medians.append(KaplanMeierFitter().fit(part[duration].astype(float),
                                                           e_used.loc[part.index]).median_survival_time_)
                if d["method"] == "km" and sub[group].nunique() > 1:
                    keep = sub[group].notna()
                    multivariate_logrank_test(t[keep], sub.loc[keep, group], e[keep])
            else:
                medians.append(KaplanMeierFitter().fit(t, e_used).median_survival_time_)
            continue
        specs = d["covariates"] if d["method"] == "cox_multi" else [[c] for c in d["covariates"]]
        models = [specs] if d["method"] == "cox_multi" else specs
        for covs in models:
            names = [c["name"] for c in covs]
            data = sub[[duration, event, *names]].dropna().copy()
            for c in covs:
                if c["kind"] == "categorical":
                    dummies = [lvl for lvl in c["levels"] if lvl != c["reference"]]
                    for lvl in dummies:
                        data[f"{c['name']}[{lvl}]"] = (data[c["name"]] == lvl).astype(float)
                    data = data.drop(columns=c["name"])
                elif c.get("positive"):
                    data[c["name"]] = (data[c["name"]] == c["positive"]).astype(float)
                else:
                    data[c["name"]] = data[c["name"]].astype(float) / (c.get("scale") or 1)
            keep = [c for c in data.columns if c in (duration, event) or data[c].nunique() > 1]
            data = data[keep]
            try:
                CoxPHFitter().fit(data, duration_col=duration, event_col=event)
            except Exception as exc:  # noqa: BLE001 - the floor skips what the pipeline would record as failed
                print(f"    floor: {d['code']} {names}: {type(exc).__name__}")
    return time.perf_counter() - t0


def bench_memory(n: int) -> None:
    print(f"\n=== n = {n:,} (in memory) ===")
    snap, t_gen = timed(synthetic_snapshot, n)
    print(f"generate registry rows        {t_gen:8.3f} s")
    rows, t_build = timed(build_rows, snap, CONFIG, cutoff=CUTOFF)
    columns, t_cols = timed(to_columns, rows)
    fp, t_fp = timed(fingerprint, columns, definitions=PAPER_DEFINITIONS, config=CONFIG, code_version="bench")
    df, t_frame = timed(compute.frame, columns)
    print(f"dataset build (build_rows)    {t_build:8.3f} s   columnar {t_cols:.3f} s   fingerprint {t_fp:.3f} s   "
          f"frame {t_frame:.3f} s")
    print(f"  P3 treated: NEC {int((df.p3 & (df.group == 'NEC')).sum()):,}, "
          f"NET G3 {int((df.p3 & (df.group == 'NET_G3')).sum()):,}")
    estimates = 0.0
    figures = 0.0
    outputs = []
    for d in PAPER_DEFINITIONS:
        (result, _), t_est = timed(compute.run_definition, df, d, CONFIG, figures=False)
        (result, figs), t_all = timed(compute.run_definition, df, d, CONFIG, figures=True)
        estimates += t_est
        figures += max(t_all - t_est, 0.0)
        outputs.append((d["code"], result, figs))
        median = ""
        if result.get("kind") == "km":
            median = " ".join(f"{g['group']}:{(g['median'] or {}).get('estimate_months') or 0:.1f}m"
                              for g in result["km"]["groups"] if not g.get("suppressed"))
        print(f"  {d['code']:<28} estimators {t_est:7.3f} s   figures {max(t_all - t_est, 0):6.3f} s  {median}")
    t0 = time.perf_counter()
    blob = zlib.compress(json.dumps(columns, separators=(",", ":"), default=str).encode(), 6)
    results_json = json.dumps([r for _, r, _ in outputs], default=str)
    fig_bytes = sum(len(c) for _, _, figs in outputs for *_, c in figs)
    t_store = time.perf_counter() - t0
    print(f"storage (serialise+compress)  {t_store:8.3f} s   frozen dataset {len(blob) / 1e6:.2f} MB, "
          f"results {len(results_json) / 1e6:.2f} MB, figures {fig_bytes / 1e6:.2f} MB")
    floor = lifelines_floor(df, PAPER_DEFINITIONS)
    total = t_build + t_cols + t_fp + t_frame + estimates + figures + t_store
    print(f"estimators total              {estimates:8.3f} s")
    print(f"figures total                 {figures:8.3f} s")
    print(f"bare lifelines floor          {floor:8.3f} s   ratio estimators/floor = {estimates / floor:.2f}x")
    print(f"end to end (no DB)            {total:8.3f} s")


def _print_definitions(timings: dict) -> None:
    for code, seconds in timings.get("definitions", {}).items():
        print(f"    {code:<28} {seconds:7.3f} s")


def bench_database(n: int, *, celery: bool) -> dict:
    """One size from its scale database: full recompute, unchanged tick, floor, optionally through Celery."""
    from bench.scale_data import ensure_scale_database  # noqa: PLC0415 - sets up Django (and the DB) on import

    name, t_db = timed(ensure_scale_database, n, stdout=sys.stdout)
    from analysis import services
    from analysis.models import AnalysisRun, RunStatus, RunTrigger

    print(f"\n=== n = {n:,} (database {name}; ready in {t_db:.1f} s; {load()}) ===")
    before = AnalysisRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        run = AnalysisRun.objects.create(status=RunStatus.QUEUED, trigger=RunTrigger.MANUAL)
        run, t_full, cpu_full = timed_cpu(services.analysis_run_execute, run.pk)
        tm = run.timings
        estimators = tm["compute"] - tm.get("figures", 0.0)
        print(f"full recompute (Recompute now, in process)  {t_full:8.3f} s wall, {cpu_full:.3f} s CPU   "
              f"status {run.status}, {run.n_patients:,} patients")
        print(f"  dataset build from the DB  {tm['dataset']:8.3f} s   fingerprint {tm['fingerprint']:.3f} s   "
              f"load frozen dataset {tm['load']:.3f} s")
        print(f"  estimators                 {estimators:8.3f} s   figures (PNG) {tm.get('figures', 0):.3f} s   "
              f"storage {tm['store']:.3f} s")
        _print_definitions(tm)
        medians(run)
        tick, t_tick = timed(services.analysis_tick)
        print(f"unchanged-data tick          {t_tick:8.3f} s   ({'a new run?!' if tick else 'no run queued'})")
        df = compute.frame(run.frozen_columns())
        _, _, cpu_estimators = timed_cpu(compute.run_all, df, run.definitions_used, run.settings_used,
                                         figures=False)
        floor, _, cpu_floor = timed_cpu(lifelines_floor, df, run.definitions_used)
        print(f"estimators again (CPU)       {cpu_estimators:8.3f} s")
        print(f"bare lifelines floor         {floor:8.3f} s wall, {cpu_floor:.3f} s CPU   estimators / floor = "
              f"{estimators / floor:.2f}x wall, {cpu_estimators / cpu_floor:.2f}x CPU; end to end / floor = "
              f"{t_full / floor:.2f}x wall, {cpu_full / cpu_floor:.2f}x CPU")
        figures = {"n": n, "end_to_end": t_full, "cpu": cpu_full, "estimators": estimators, "floor": floor,
                   "cpu_estimators": cpu_estimators, "cpu_floor": cpu_floor, "tick": t_tick}
        if celery:
            figures["celery"] = through_celery()
        return figures
    finally:
        AnalysisRun.objects.filter(pk__gt=before).delete()


def through_celery() -> float:
    """The same recompute through a real worker: the `analysis.run` task on a private queue, timed from
    sending the message to the finished run row (worker start-up excluded)."""
    from django.conf import settings

    from analysis.models import FINISHED, AnalysisRun, RunStatus, RunTrigger
    from analysis.tasks import run_analysis
    from tests.celery_worker import celery_worker

    with celery_worker() as (_, queue):
        settings.ANALYSIS_QUEUE = queue
        run = AnalysisRun.objects.create(status=RunStatus.QUEUED, trigger=RunTrigger.MANUAL)
        t0 = time.perf_counter()
        run_analysis.apply_async(args=[run.pk], queue=queue)
        while AnalysisRun.objects.filter(pk=run.pk, status__in=FINISHED).count() == 0:
            if time.perf_counter() - t0 > 900:
                raise TimeoutError("the worker did not finish the run in 15 minutes")
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    run.refresh_from_db()
    print(f"through a Celery worker      {seconds:8.3f} s   status {run.status} (worker timings: "
          f"dataset {run.timings['dataset']:.2f} s, compute {run.timings['compute']:.2f} s, "
          f"store {run.timings['store']:.2f} s)")
    medians(run)
    return seconds


def medians(run) -> None:
    """What the dashboard shows: KM medians by group and the immediate-progression rates."""
    from analysis.models import AnalysisResult

    shown = {r.definition_code: r.result for r in AnalysisResult.objects.filter(
        run=run, definition_code__in=["km-os-group", "km-pfs-group", "response-line1"], status="succeeded")}
    for code in ("km-os-group", "km-pfs-group"):
        if code in shown:
            parts = [f"{g['group']} {(g.get('median') or {}).get('estimate_months') or float('nan'):.1f} mo"
                     for g in shown[code]["km"]["groups"] if not g.get("suppressed")]
            print(f"  median {code:<14} " + ", ".join(parts))
    rates = (shown.get("response-line1") or {}).get("rates") or {}
    for flag in ("immediate_progression_treated", "immediate_progression_evaluable"):
        groups = (rates.get(flag) or {}).get("groups") or []
        print(f"  {flag:<34} " + ", ".join(
            f"{g['group']} {100 * g['proportion']:.1f} % ({g['count']}/{g['n']})" if g.get("proportion") is not None
            else f"{g['group']} suppressed" for g in groups))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="cohort size from its scale database (repeatable); "
                                                                "default 639, 10000 and 100000")
    parser.add_argument("--celery", action="store_true", help="also run each recompute through a Celery worker")
    parser.add_argument("--memory", type=int, action="append", help="in-memory synthetic cohort of this size "
                                                                    "instead of the database (repeatable)")
    args = parser.parse_args()
    if args.memory:
        for n in args.memory:
            bench_memory(n)
        return
    summary = [bench_database(n, celery=args.celery) for n in args.n or [639, 10_000, 100_000]]
    print(f"\n=== summary (seconds; {load()}) ===")
    print(f"{'patients':>10} {'e2e wall':>9} {'e2e CPU':>8} {'est wall':>9} {'est CPU':>8} {'floor wall':>11} "
          f"{'floor CPU':>10} {'est/floor CPU':>14} {'tick':>7} {'celery':>8}")
    for f in summary:
        celery = f"{f['celery']:8.2f}" if "celery" in f else f"{'-':>8}"
        print(f"{f['n']:>10,} {f['end_to_end']:>9.2f} {f['cpu']:>8.2f} {f['estimators']:>9.2f} "
              f"{f['cpu_estimators']:>8.2f} {f['floor']:>11.2f} {f['cpu_floor']:>10.2f} "
              f"{f['cpu_estimators'] / f['cpu_floor']:>14.2f} {f['tick']:>7.3f} {celery}")


if __name__ == "__main__":
    main()
