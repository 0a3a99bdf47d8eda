"""The paper's analysis set (DOMAIN.md §6.4–6.6), validation of a definition, and display labels.

`PAPER_DEFINITIONS` seeds AnalysisDefinition (data migration 0002, get-or-create by code, so editing a seeded
row in the admin is kept). Cox covariates follow DOMAIN.md §6.4's recommended coding: PS categorical
0/1/2/3–4 (reference 0), Ki-67 ≥ 55 binary, ALP > ULN binary, age per 10 years, sex binary with male as
reference (the HR is female vs male), colorectal primary vs all other, platinum-etoposide vs other line 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.datasets import AGE_GROUPS, COLUMNS, GROUP_LABELS, GROUPS, PS_GROUPS
from analysis.estimators import CovariateSpec, TableVariable

METHODS = ("km", "logrank", "cox_uni", "cox_multi", "table1", "response", "flow", "followup")
SURVIVAL = frozenset({"km", "logrank", "cox_uni", "cox_multi", "followup"})
ENDPOINTS = ("os", "pfs", "os_dx", "none")
POPULATIONS = ("p0", "p1", "p2", "p3", "p4")
RESPONSE_FLAGS = ("orr", "dcr", "immediate_progression_evaluable", "immediate_progression_treated")

PS = {"name": "ps_group", "kind": "categorical", "label": "ECOG PS", "reference": "0", "levels": list(PS_GROUPS)}
KI67 = {"name": "ki67_high", "kind": "binary", "label": "Ki-67 high (>= cut-off)"}
ALP = {"name": "alp_above_uln", "kind": "binary", "label": "ALP > ULN"}
AGE = {"name": "age_years", "kind": "continuous", "label": "Age", "scale": 10}
SEX = {"name": "sex", "kind": "binary", "label": "Female vs male", "positive": "female"}
COLORECTAL = {"name": "colorectal_primary", "kind": "binary", "label": "Colorectal primary"}
PLATINUM = {"name": "line1_platinum_etoposide", "kind": "binary", "label": "Platinum-etoposide line 1"}
SCREEN = [PS, KI67, ALP, AGE, SEX, COLORECTAL, PLATINUM]

TABLE_ONE_VARIABLES = [
    {"name": "age_years", "kind": "continuous", "label": "Age, years"},
    {"name": "age_group", "kind": "categorical", "label": "Age group", "levels": list(AGE_GROUPS)},
    {"name": "sex", "kind": "categorical", "label": "Sex", "levels": ["male", "female"]},
    {"name": "country", "kind": "categorical", "label": "Country"},
    {"name": "ps_group", "kind": "categorical", "label": "ECOG PS", "levels": list(PS_GROUPS)},
    {"name": "primary_site_group", "kind": "categorical", "label": "Primary site"},
    {"name": "colorectal_primary", "kind": "categorical", "label": "Colorectal primary", "levels": ["0", "1"]},
    {"name": "liver_metastases", "kind": "categorical", "label": "Liver metastases", "levels": ["0", "1"]},
    {"name": "ki67", "kind": "continuous", "label": "Ki-67, %"},
    {"name": "ki67_high", "kind": "categorical", "label": "Ki-67 high (>= cut-off)", "levels": ["0", "1"]},
    {"name": "cell_type", "kind": "categorical", "label": "Cell type (NEC)"},
    {"name": "alp_above_uln", "kind": "categorical", "label": "ALP > ULN", "levels": ["0", "1"]},
    {"name": "ldh_above_uln", "kind": "categorical", "label": "LDH > ULN", "levels": ["0", "1"]},
    {"name": "platelets_above_uln", "kind": "categorical", "label": "Platelets > ULN", "levels": ["0", "1"]},
    {"name": "crp_above_uln", "kind": "categorical", "label": "CRP > ULN", "levels": ["0", "1"]},
    {"name": "cga_above_uln", "kind": "categorical", "label": "CgA > ULN", "levels": ["0", "1"]},
    {"name": "nse_above_uln", "kind": "categorical", "label": "NSE > ULN", "levels": ["0", "1"]},
    {"name": "resection_of_primary", "kind": "categorical", "label": "Primary resected"},
    {"name": "line1_regimen_class", "kind": "categorical", "label": "First-line regimen"},
]

NEC = {"group": "NEC"}
NET = {"group": "NET_G3"}


def _d(code, title, method, *, order, section, endpoint="none", population="p3", filt=None, grouping="",
       group_order=None, covariates=None, options=None) -> dict[str, Any]:
    return {"code": code, "title": title, "method": method, "endpoint": endpoint, "population": population,
            "population_filter": filt or {}, "grouping_variable": grouping, "group_order": group_order or [],
            "covariates": covariates or [], "options": options or {}, "display_order": order, "section": section}


PAPER_DEFINITIONS: list[dict[str, Any]] = [
    _d("flow", "Flow diagram: registered to response-evaluable", "flow", order=10, section="flow", population="p0"),
    _d("table1", "Table 1. Baseline characteristics by group (palliative chemotherapy)", "table1", order=20,
       section="table1", covariates=TABLE_ONE_VARIABLES, grouping="group", group_order=list(GROUPS)),
    _d("response-line1", "Table 2. First-line response by group (Wilson 95% CI)", "response", order=30,
       section="table2", grouping="group", group_order=list(GROUPS), covariates=list(RESPONSE_FLAGS)),
    _d("followup", "Median follow-up (reverse Kaplan-Meier), OS", "followup", order=40, section="table2",
       endpoint="os", grouping="group", group_order=list(GROUPS)),
    _d("km-os-group", "OS from start of first-line chemotherapy: NEC vs NET G3", "km", order=50,
       section="figures", endpoint="os", grouping="group", group_order=list(GROUPS)),
    _d("km-pfs-group", "PFS on first-line chemotherapy: NEC vs NET G3", "km", order=60, section="figures",
       endpoint="pfs", grouping="group", group_order=list(GROUPS)),
    _d("km-os-nec-ki67", "OS in NEC by Ki-67 (< vs >= cut-off)", "km", order=70, section="figures", endpoint="os",
       filt=NEC, grouping="ki67_high", group_order=[0, 1]),
    _d("km-os-nec-ki67low-platinum", "OS in NEC with Ki-67 below the cut-off: platinum-etoposide vs other",
       "km", order=80, section="figures", endpoint="os", filt={**NEC, "ki67_high": 0},
       grouping="line1_platinum_etoposide", group_order=[1, 0]),
    _d("km-os-netg3-platinum", "OS in NET G3: platinum-etoposide vs other first line", "km", order=90,
       section="figures", endpoint="os", filt=NET, grouping="line1_platinum_etoposide", group_order=[1, 0]),
    _d("km-pfs-netg3-platinum", "PFS in NET G3: platinum-etoposide vs other first line", "km", order=100,
       section="figures", endpoint="pfs", filt=NET, grouping="line1_platinum_etoposide", group_order=[1, 0]),
    _d("km-os-dx", "OS from diagnosis, all advanced patients (descriptive)", "km", order=110, section="figures",
       endpoint="os_dx", population="p1"),
    _d("cox-uni-os-nec", "NEC, OS: univariable Cox", "cox_uni", order=200, section="cox", endpoint="os",
       filt=NEC, covariates=SCREEN),
    _d("cox-multi-os-nec", "NEC, OS: multivariable Cox", "cox_multi", order=210, section="cox", endpoint="os",
       filt=NEC, covariates=[PS, KI67, ALP, AGE, SEX]),
    _d("cox-uni-pfs-nec", "NEC, PFS: univariable Cox", "cox_uni", order=220, section="cox", endpoint="pfs",
       filt=NEC, covariates=SCREEN),
    _d("cox-multi-pfs-nec", "NEC, PFS: multivariable Cox", "cox_multi", order=230, section="cox",
       endpoint="pfs", filt=NEC, covariates=[COLORECTAL, PS]),
    _d("cox-uni-os-netg3", "NET G3, OS: univariable Cox", "cox_uni", order=240, section="cox", endpoint="os",
       filt=NET, covariates=SCREEN),
    _d("cox-multi-os-netg3", "NET G3, OS: multivariable Cox", "cox_multi", order=250, section="cox",
       endpoint="os", filt=NET, covariates=[PLATINUM, PS, AGE, ALP]),
    _d("cox-uni-pfs-netg3", "NET G3, PFS: univariable Cox", "cox_uni", order=260, section="cox", endpoint="pfs",
       filt=NET, covariates=SCREEN),
    _d("cox-multi-pfs-netg3", "NET G3, PFS: multivariable Cox", "cox_multi", order=270, section="cox",
       endpoint="pfs", filt=NET, covariates=[PLATINUM, PS]),
]


def definition_errors(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field → problems of a definition (empty when it can run)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    method, endpoint = config.get("method"), config.get("endpoint") or "none"
    if method not in METHODS:
        add("method", f"unknown method {method!r}")
    if endpoint not in ENDPOINTS:
        add("endpoint", f"unknown endpoint {endpoint!r}")
    elif method in SURVIVAL and endpoint == "none":
        add("endpoint", f"method {method} needs a time-to-event endpoint")
    if config.get("population") not in POPULATIONS:
        add("population", f"unknown population {config.get('population')!r}")
    filt = config.get("population_filter") or {}
    if not isinstance(filt, Mapping):
        add("population_filter", "must be an object of column: value")
    else:
        for column in filt:
            if column not in COLUMNS:
                add("population_filter", f"{column!r} is not a dataset column")
    grouping = config.get("grouping_variable") or ""
    if grouping and grouping not in COLUMNS:
        add("grouping_variable", f"{grouping!r} is not a dataset column")
    if method in ("logrank", "table1") and not grouping:
        add("grouping_variable", f"method {method} needs a grouping variable")
    if not isinstance(config.get("group_order") or [], list):
        add("group_order", "must be a list")
    covariates = config.get("covariates") or []
    if not isinstance(covariates, list):
        add("covariates", "must be a list")
        return errors
    if method in ("cox_uni", "cox_multi"):
        if not covariates:
            add("covariates", "a Cox model needs at least one covariate")
        for item in covariates:
            try:
                spec = CovariateSpec.from_dict(item)
            except (TypeError, ValueError) as exc:
                add("covariates", str(exc))
                continue
            if spec.name not in COLUMNS:
                add("covariates", f"{spec.name!r} is not a dataset column")
    elif method == "table1":
        for item in covariates:
            try:
                variable = TableVariable.from_dict(item)
            except (TypeError, ValueError) as exc:
                add("covariates", str(exc))
                continue
            if variable.name not in COLUMNS:
                add("covariates", f"{variable.name!r} is not a dataset column")
    elif method == "response":
        for flag in covariates:
            if flag not in COLUMNS:
                add("covariates", f"{flag!r} is not a dataset column")
    return errors


def group_labels(variable: str, config: Mapping[str, Any]) -> dict[str, str]:
    """Display labels of a grouping variable's levels (keys are the estimators' group labels)."""
    cutoff = float(config.get("ki67_cutoff", 55))
    side = "≥" if config.get("ki67_operator", "ge") == "ge" else ">"
    below = "<" if side == "≥" else "≤"
    cut = f"{cutoff:g}"
    return {
        "group": dict(GROUP_LABELS),
        "ki67_high": {"0": f"Ki-67 {below} {cut} %", "1": f"Ki-67 {side} {cut} %"},
        "line1_platinum_etoposide": {"1": "Platinum-etoposide", "0": "Other first line"},
    }.get(variable, {})
