"""Benchmark of the analysis pipeline (run by hand; not a test).

    .venv/bin/python bench/analysis_bench.py --n 639 --n 100000            # in memory, no database
    .venv/bin/python bench/analysis_bench.py --n 639 --db                 # plus dataset build and tick on the DB

In memory: a synthetic NORDIC NEC 2-like cohort (DOMAIN.md §7.5: 78.5 % NEC, medians about 7.4/21.8 months OS
and 3.4/7.4 months PFS, PS/Ki-67/ALP/age/sex/colorectal/platinum effects) is generated as registry rows (the
shape `analysis.selectors.registry_snapshot` returns), then timed step by step:
  dataset build (build_rows) → fingerprint → every enabled paper definition (estimators + suppression, and
  separately the figures) → storage (compressed frozen dataset, results JSON, figure bytes);
and the same estimates computed with bare lifelines on the same in-memory table (the floor): KM per group +
log-rank, Cox fits (no R-exact medians, PH tests, concordance SEs or suppression). It prints the times and the
ratio ours / floor. With --db it also times `build_dataset` and `analysis_tick` on the configured database
(the second tick is the unchanged-data tick; it creates at most one run, which is then deleted).
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
from analysis.datasets import build_rows, fingerprint, to_columns  # noqa: E402
from analysis.definitions import PAPER_DEFINITIONS  # noqa: E402

CUTOFF = date(2025, 6, 30)
CONFIG = {"ki67_cutoff": 55.0, "ki67_operator": "ge", "min_cell_size": 5, "data_cutoff_date": None,
          "pfs_assessment_interval_days": 63, "pfs_late_death_rule": "event", "minimum_form_status": "draft"}
REGIMENS = {1: ("carbo_etop", ["carboplatin", "etoposide"]), 2: ("captem", ["capecitabine", "temozolomide"]),
            3: ("folfox", ["fluorouracil", "folinic_acid", "oxaliplatin"])}
SITES = ["pancreas", "stomach", "colon_right", "rectum", "jejunum_ileum", "unknown_primary_gi_pattern"]
SITE_GROUP = {"pancreas": "pancreatobiliary", "stomach": "oesophagus_stomach", "colon_right": "colorectal",
              "rectum": "colorectal", "jejunum_ileum": "small_bowel", "unknown_primary_gi_pattern": "unknown"}


def synthetic_snapshot(n: int, seed: int = 42) -> SimpleNamespace:
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
                           classifications={})
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
                             "advanced_disease_date": diagnosis, "metastatic_sites": ["liver"],
                             "resection_of_primary": "none"})
        snap.specimens.append({"patient_id": pid, "is_diagnostic": True, "specimen_date": diagnosis,
                               "ki67_percent": float(ki67[i]), "cell_type": "large_cell" if nec[i] else "",
                               "local_diagnosis": "NEC_large_cell" if nec[i] else "NET_G3"})
        snap.classifications[pid] = {"final_diagnosis": "NEC_large" if nec[i] else "NET_G3",
                                     "final_ki67": float(ki67[i]), "ki67_is_central": True,
                                     "group": "NEC" if nec[i] else "NET_G3"}
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
    return snap


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t0


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


def bench_db() -> None:
    import django

    django.setup()
    from analysis import services
    from analysis.datasets import build_dataset
    from analysis.models import AnalysisRun

    print("\n=== database ===")
    config = services.analysis_settings_get().as_config()
    rows, t = timed(build_dataset, config, cutoff=services.effective_cutoff(config))
    print(f"build_dataset on the DB ({len(rows):,} patients)  {t:.3f} s")
    before = AnalysisRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    first, t1 = timed(services.analysis_tick)
    second, t2 = timed(services.analysis_tick)
    print(f"tick: first {t1:.3f} s ({'new run' if first else 'unchanged'}), unchanged-data tick {t2:.3f} s "
          f"({'new run?!' if second else 'no run'})")
    if first is not None:
        run, t3 = timed(services.analysis_run_execute, first.pk)
        print(f"full recompute of run {run.pk}: {t3:.3f} s ({run.status}); timings {json.dumps(run.timings)[:400]}")
        AnalysisRun.objects.filter(pk__gt=before).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="cohort size (repeatable); default 639")
    parser.add_argument("--db", action="store_true", help="also time dataset build and the tick on the database")
    args = parser.parse_args()
    for n in args.n or [639]:
        bench_memory(n)
    if args.db:
        bench_db()


if __name__ == "__main__":
    main()
