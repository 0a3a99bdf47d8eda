"""The synthetic-cohort model: group sizes, covariate distributions, hazard ratios and the calibrated scales.

Everything here is [INF] (DOMAIN.md §7.5) except the targets, which are NORDIC NEC 2's published numbers
(DOMAIN.md §7.1). The hazard ratios are illustrative assumptions, not published values. Pure data; no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

#: Fixed anchors, so a given seed always produces the same cohort whatever day it is loaded.
#: Line-1 starts are spread over six years; the data cut-off is two years after the last one.
ENTRY_FIRST = date(2018, 10, 1)
ENTRY_LAST = date(2024, 9, 30)
DATA_CUTOFF = date(2026, 9, 30)
#: The calibration is seed-independent, but one 639-patient draw still varies (NET G3 has only 117 patients:
#: across seeds 1–30 the NET G3 median OS ranges ~17–27 months). Seed 19 is the draw, among seeds 1–30,
#: closest to every paper number at once, so the default demo shows the published picture.
DEFAULT_SEED = 19
DEFAULT_PATIENTS = 639

#: NORDIC NEC 2 (DOMAIN.md §7.1): 639 advanced patients, 427 NEC and 117 NET G3 on palliative chemotherapy.
PAPER_TOTAL, PAPER_NEC, PAPER_NET = 639, 427, 117
#: The 95 others (DOMAIN.md §3 [INF]): MiNEN, re-classified as not HG-NEN, not reviewable, untreated (BSC).
OTHER_SHARES = {"minen": 25, "not_hg_nen": 15, "not_reviewable": 5, "untreated": 50}
#: Paper targets: median OS / PFS in months and the immediate-progression rate (first evaluation = PD).
TARGETS = {
    "NEC": {"os_months": 7.4, "pfs_months": 3.4, "immediate_pd": 0.41},
    "NET_G3": {"os_months": 21.8, "pfs_months": 7.4, "immediate_pd": 0.24},
}
DAYS_PER_MONTH = 30.4375

#: Demo sites (registry/sites/demo.py) and their share of the patients.
SITE_WEIGHTS = {"OUS": 0.20, "HUS": 0.12, "RH": 0.18, "AUH": 0.13, "OUH": 0.09, "UAS": 0.12, "SUS": 0.16}


@dataclass(frozen=True)
class GroupModel:
    """Covariate distributions and survival parameters of one outcome group (NEC or NET G3)."""

    ps_probs: tuple[float, ...]  # P(PS = 0, 1, 2, 3, 4)
    age_mean: float
    age_sd: float
    male: float
    alp_high: float
    ldh_high: float
    ki67_high: float  # P(Ki-67 ≥ 55)
    primary_sites: dict[str, float]
    line1_regimens: dict[str, float]
    # Weibull PH: S(t | x) = exp(-(t / scale)^shape · exp(x'β)), t in days from the start of line 1.
    os_shape: float
    os_scale: float
    pfs_shape: float
    pfs_scale: float
    second_line: float  # P(a second line | progression, alive three weeks later)


def log(x: float) -> float:
    return math.log(x)


#: Log hazard ratios (DOMAIN.md §7.5 magnitudes). PS is categorical against PS 0; age per 10 years from 65.
OS_LOG_HR = {
    "ps1": log(1.3), "ps2": log(1.8), "ps34": log(3.0),
    "ki67_high": log(1.4), "alp_high": log(1.4), "age10": log(1.15), "male": log(1.2),
    "net_platinum": log(1.8),
}
PFS_LOG_HR = {
    "ps1": log(1.2), "ps2": log(1.5), "ps34": log(2.0),
    "colorectal": log(1.3), "net_platinum": log(2.0),
}
#: Which effects apply in which group (DOMAIN.md §6.4: the paper's significant factors per model).
OS_TERMS = {"NEC": ("ps", "ki67_high", "alp_high", "age10", "male"),
            "NET_G3": ("ps", "alp_high", "age10", "net_platinum")}
PFS_TERMS = {"NEC": ("ps", "colorectal"), "NET_G3": ("net_platinum",)}
#: Gaussian-copula correlation of the OS and progression draws (patients who progress early die early).
OS_PFS_CORRELATION = 0.6

# --- Calibrated baseline scales -----------------------------------------------------------------------
# Obtained once, offline, with `python -m registry.crfs.demo.calibrate` (registry/crfs/demo/calibrate.py,
# 10,000 simulated treated patients per group, seed 7): it runs the cohort's own covariate, regimen and
# timeline code (evaluation schedule, deaths, administrative censoring at DATA_CUTOFF), computes the
# Kaplan-Meier medians and the immediate-progression rate as analysis/datasets.py does, and solves by
# bisection with common random numbers for (1) the OS scale giving the paper's median OS, then (2) the
# progression shape and scale giving both the paper's median PFS and its immediate-progression rate.
# Result (simulated): NEC OS 7.39 m, PFS 3.42 m, immediate PD 41.0 % of treated (31.9 % of evaluable);
# NET G3 OS 21.85 m, PFS 7.43 m, immediate PD 24.2 % of treated (20.4 % of evaluable).
# The immediate-progression rate is matched on DOMAIN.md §6.3 denominator (b), all treated patients
# (death before the first scan counts): with scans every 6–9 weeks, denominator (a) cannot reach 41 %
# while the median PFS stays at 3.4 months, because ~10 % of NEC patients die before their first scan.
# The progression shapes come out below 1 (a falling hazard: primary resistance shows at the first scan).
# Re-run the script after changing anything above and paste its RESULT lines here.
CALIBRATED = {
    "NEC": {"os_scale": 675.8, "pfs_shape": 0.594, "pfs_scale": 309.8},
    "NET_G3": {"os_scale": 1539.0, "pfs_shape": 0.664, "pfs_scale": 591.0},
}

NEC_PRIMARY_SITES = {
    "oesophagus": 0.10, "stomach": 0.15, "pancreas": 0.17, "colon_right": 0.08, "colon_left": 0.06,
    "rectum": 0.08, "anal_canal": 0.02, "duodenum": 0.03, "ampulla": 0.03, "gallbladder_bile_duct": 0.04,
    "jejunum_ileum": 0.01, "unknown_primary_gi_pattern": 0.20, "other_digestive": 0.03,
}
NET_PRIMARY_SITES = {
    "pancreas": 0.55, "stomach": 0.08, "duodenum": 0.04, "jejunum_ileum": 0.05, "colon_right": 0.03,
    "colon_left": 0.01, "rectum": 0.05, "unknown_primary_gi_pattern": 0.12, "oesophagus": 0.01,
    "appendix": 0.01, "gallbladder_bile_duct": 0.02, "ampulla": 0.02, "other_digestive": 0.01,
}
COLORECTAL_SITES = frozenset({"colon_right", "colon_left", "rectum"})

GROUPS: dict[str, GroupModel] = {
    "NEC": GroupModel(
        ps_probs=(0.25, 0.40, 0.25, 0.08, 0.02), age_mean=67.5, age_sd=9.5, male=0.57, alp_high=0.45,
        ldh_high=0.55, ki67_high=0.65, primary_sites=NEC_PRIMARY_SITES,
        # Platinum-etoposide ~87 % overall (more often for Ki-67 ≥ 55, see generator._line1_regimen).
        line1_regimens={"carbo_etop": 0.50, "cis_etop": 0.37, "folfiri": 0.04, "captem": 0.04, "folfox": 0.03,
                        "temozolomide": 0.02},
        os_shape=1.15, pfs_shape=CALIBRATED["NEC"]["pfs_shape"], os_scale=CALIBRATED["NEC"]["os_scale"],
        pfs_scale=CALIBRATED["NEC"]["pfs_scale"], second_line=0.50,
    ),
    "NET_G3": GroupModel(
        ps_probs=(0.35, 0.45, 0.15, 0.04, 0.01), age_mean=63.0, age_sd=11.0, male=0.55, alp_high=0.35,
        ldh_high=0.30, ki67_high=0.04, primary_sites=NET_PRIMARY_SITES,
        line1_regimens={"carbo_etop": 0.21, "cis_etop": 0.14, "captem": 0.35, "folfox": 0.15,
                        "temozolomide": 0.08, "capox": 0.04, "stz_5fu": 0.03},
        os_shape=1.10, pfs_shape=CALIBRATED["NET_G3"]["pfs_shape"], os_scale=CALIBRATED["NET_G3"]["os_scale"],
        pfs_scale=CALIBRATED["NET_G3"]["pfs_scale"], second_line=0.60,
    ),
}

PLATINUM_ETOPOSIDE = frozenset({"cis_etop", "carbo_etop", "carbo_etop_vincristine"})
#: Cycle length in days and the usual maximum number of cycles before a planned stop.
CYCLES = {
    "cis_etop": (21, 6), "carbo_etop": (21, 6), "folfiri": (14, 12), "folfox": (14, 12), "capox": (21, 8),
    "captem": (28, 12), "temozolomide": (28, 12), "stz_5fu": (42, 6), "topotecan": (21, 6),
    "paclitaxel": (21, 6), "everolimus": (28, 24), "prrt_lu177": (56, 4),
}
#: Second-line choices (weights) by group; the line-1 regimen is never repeated except platinum re-challenge.
SECOND_LINE = {
    "NEC": {"folfiri": 0.35, "captem": 0.25, "folfox": 0.20, "topotecan": 0.10, "paclitaxel": 0.05,
            "carbo_etop": 0.05},
    "NET_G3": {"captem": 0.30, "folfox": 0.20, "carbo_etop": 0.20, "everolimus": 0.15, "prrt_lu177": 0.15},
}
#: Median progression-free time on line 2 (days) when it is not cut short by death.
SECOND_LINE_PFS_MEDIAN = {"NEC": 75.0, "NET_G3": 140.0}

#: Untreated (best supportive care) patients: median OS from diagnosis ~1.5 months (DOMAIN.md §7.5 [PK]).
UNTREATED_OS_MEDIAN_DAYS = 45.0
#: Share of patients lost to follow-up before the cut-off (last contact somewhere in their follow-up).
LOST_TO_FOLLOW_UP = 0.015

#: Laboratory reference limits by country: (unit, LLN, ULN). Sweden reports ALP/LDH in µkat/L
#: (1 µkat/L = 60 U/L, converted by the services); LDH's ULN is age dependent (NORIP).
MICRO = "\u00b5"
LAB_LIMITS = {
    "NO": {"alp": ("U/L", 35, 105), "ldh": ("U/L", 105, 205), "ldh70": ("U/L", 115, 255),
           "platelets": ("×10⁹/L", 145, 390)},
    "DK": {"alp": ("U/L", 40, 120), "ldh": ("U/L", 105, 205), "ldh70": ("U/L", 115, 255),
           "platelets": ("×10⁹/L", 145, 390)},
    "SE": {"alp": (f"{MICRO}kat/L", 0.6, 1.8), "ldh": (f"{MICRO}kat/L", 1.8, 3.4),
           "ldh70": (f"{MICRO}kat/L", 1.9, 4.3), "platelets": ("×10⁹/L", 150, 400)},
}
SITE_COUNTRY = {"OUS": "NO", "HUS": "NO", "RH": "DK", "AUH": "DK", "OUH": "DK", "UAS": "SE", "SUS": "SE"}
#: Sites where the demo monitor works (registry/sites/demo.py): their forms get source-data verified.
MONITORED_SITES = frozenset({"OUS", "HUS", "RH"})
