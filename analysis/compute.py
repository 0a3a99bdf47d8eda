"""Run one analysis definition on the dataset: select the population, call the estimators, suppress small
cells, render figures. Pure (pandas, the estimators and plots; no Django), so the bench and any re-run of a
frozen dataset use exactly this code.

Small-cell suppression happens here, before anything is stored: stored results and figures are what pages,
API and reports show, so nothing downstream can leak a count below the configured minimum.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import plots
from analysis.datasets import COLUMNS
from analysis.definitions import group_labels
from analysis.estimators import (
    cox_model,
    kaplan_meier,
    logrank,
    median_follow_up,
    response_rates,
    suppress_count,
    suppress_counts,
    suppress_table_one,
    table_one,
)

ENDPOINT_COLUMNS = {"os": ("os_days", "os_event"), "pfs": ("pfs_days", "pfs_event"),
                    "os_dx": ("os_dx_days", "os_dx_event")}
ENDPOINT_LABELS = {"os": "Overall survival", "pfs": "Progression-free survival", "os_dx": "Overall survival"}
BOR_LEVELS = ("CR", "PR", "SD", "PD", "NE")

Figure = tuple[str, str, str, bytes]  # (name, title, fmt, content)
RUN_FORMATS = ("png",)  # rendered by a run; the SVG is rendered on first request (services.figure_svg)


def frame(columns: Mapping[str, list[Any]]) -> pd.DataFrame:
    """The dataset as a DataFrame (columns in COLUMNS order)."""
    return pd.DataFrame({c: columns[c] for c in COLUMNS})


def select(df: pd.DataFrame, definition: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of the definition's population matching its equality filters (None matches missing)."""
    mask = df[definition["population"]].fillna(False).astype(bool).to_numpy()
    for column, value in (definition.get("population_filter") or {}).items():
        values = df[column]
        mask &= (values.isna() if value is None else (values == value)).to_numpy()
    return df[mask]


def run_definition(df: pd.DataFrame, definition: Mapping[str, Any], config: Mapping[str, Any], *,
                   figures: bool = True) -> tuple[dict[str, Any], list[Figure]]:
    """The suppressed result of one definition and its PNG figures (the SVGs are rendered from the stored
    result when first asked for: no page shows them inline, and they cost as much as the PNGs)."""
    result = HANDLERS[definition["method"]](df, definition, config)
    return result, render_figures(result, definition, RUN_FORMATS) if figures else []


def render_figures(result: Mapping[str, Any], definition: Mapping[str, Any],
                   formats: Sequence[str] = plots.FORMATS) -> list[Figure]:
    """The figures of a stored (suppressed) result: KM curves, or a forest plot of Cox hazard ratios."""
    kind = result.get("kind")
    if kind == "km":
        return _km_figures(result, definition, formats)
    models = result.get("models") if kind == "cox_uni" else [result["model"]] if kind == "cox_multi" else None
    if not models:
        return []
    shown = models if kind == "cox_uni" else models[0]
    return [("forest", definition["title"], fmt, plots.forest_plot(shown, fmt=fmt, title=definition["title"]))
            for fmt in formats]


def run_all(df: pd.DataFrame, definitions: Sequence[Mapping[str, Any]], config: Mapping[str, Any], *,
            figures: bool = True) -> list[dict[str, Any]]:
    """Every definition; one that fails is recorded with its error and the others still run. "seconds" is
    the whole definition, "figure_seconds" the part spent drawing."""
    outputs = []
    for definition in definitions:
        started = time.perf_counter()
        drawing = 0.0
        try:
            result = HANDLERS[definition["method"]](df, definition, config)
            drawn = time.perf_counter()
            rendered = render_figures(result, definition, RUN_FORMATS) if figures else []
            drawing = time.perf_counter() - drawn
            outputs.append({"definition": definition, "status": "succeeded", "result": result, "error": "",
                            "figures": rendered, "seconds": time.perf_counter() - started,
                            "figure_seconds": drawing})
        except Exception as exc:  # noqa: BLE001 - one bad definition must not stop the others; recorded
            outputs.append({"definition": definition, "status": "failed", "result": None,
                            "error": f"{type(exc).__name__}: {exc}", "figures": [],
                            "seconds": time.perf_counter() - started, "figure_seconds": drawing})
    return outputs


# ---------------------------------------------------------------------------------------------------------
# Handlers


def _survival_frame(df: pd.DataFrame, definition: Mapping[str, Any]) -> tuple[pd.DataFrame, str, str]:
    duration, event = ENDPOINT_COLUMNS[definition["endpoint"]]
    sub = select(df, definition)
    sub = sub[sub[duration].notna() & sub[event].notna()]
    if len(sub) == 0:
        raise ValueError("no patients in this population with the endpoint")
    return sub.astype({duration: float, event: int}), duration, event


def _present_order(sub: pd.DataFrame, definition: Mapping[str, Any]) -> tuple[list | None, list[str]]:
    """The configured group order restricted to groups that have patients, and notes on the empty ones."""
    order = definition.get("group_order") or None
    if not order:
        return None, []
    present = {str(v) for v in _labels(sub[definition["grouping_variable"]].dropna())}
    kept = [g for g in order if str(g) in present]
    notes = [f"group {g!r} has no patients" for g in order if str(g) not in present]
    return kept, notes


def _labels(values: pd.Series) -> pd.Series:
    """String labels of the values ("1" for 1.0), mapped once per distinct value (not per row)."""
    mapping = {v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values.unique()}
    return values.map(mapping)


def _group_frame(sub: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Integer-valued floats become ints so groups label as "0"/"1" (not "0.0")."""
    values = sub[variable]
    if pd.api.types.is_float_dtype(values):
        sub = sub.copy()
        sub[variable] = values.astype("Int64").astype(object).where(values.notna(), None)
    return sub


def _km(df, definition, config) -> dict[str, Any]:
    sub, duration, event = _survival_frame(df, definition)
    group = definition.get("grouping_variable") or None
    notes: list[str] = []
    order = None
    if group:
        sub = _group_frame(sub, group)
        order, notes = _present_order(sub, definition)
    km = kaplan_meier(sub, duration_col=duration, event_col=event, group_col=group, group_order=order)
    result: dict[str, Any] = {"kind": "km", "endpoint": definition["endpoint"], "km": km, "notes": notes,
                              "group_labels": group_labels(group, config) if group else {}}
    if group and len(km["groups"]) >= 2:
        result["logrank"] = logrank(sub, duration_col=duration, event_col=event, group_col=group,
                                    group_order=order)
    return suppress_km_result(result, int(config["min_cell_size"]))


def _km_figures(result: Mapping[str, Any], definition: Mapping[str, Any], formats: Sequence[str]) -> list[Figure]:
    shown = copy.deepcopy(result["km"])
    labels = result.get("group_labels") or {}
    shown["groups"] = [g for g in shown["groups"] if not g.get("suppressed")]
    for g in shown["groups"]:
        g["group"] = labels.get(g["group"], g["group"])
    if not shown["groups"]:
        return []
    ylabel = ENDPOINT_LABELS.get(definition["endpoint"], "Survival probability") + " probability"
    title = definition["title"]
    if result.get("logrank") and result["logrank"].get("p") is not None:
        title = f"{title}\nlog-rank p = {_fmt_p(result['logrank']['p'])}"
    return [("km", definition["title"], fmt, plots.km_plot(shown, fmt=fmt, title=title, ylabel=ylabel))
            for fmt in formats]


def _logrank(df, definition, config) -> dict[str, Any]:
    sub, duration, event = _survival_frame(df, definition)
    group = definition["grouping_variable"]
    sub = _group_frame(sub, group)
    order, notes = _present_order(sub, definition)
    result = {"kind": "logrank", "endpoint": definition["endpoint"], "notes": notes,
              "group_labels": group_labels(group, config),
              "logrank": logrank(sub, duration_col=duration, event_col=event, group_col=group, group_order=order)}
    return suppress_km_result(result, int(config["min_cell_size"]))


def _cox_uni(df, definition, config) -> dict[str, Any]:
    sub, duration, event = _survival_frame(df, definition)
    models, errors = [], []
    for spec in definition["covariates"]:
        try:
            models.append(cox_model(sub, duration_col=duration, event_col=event, covariates=[spec]))
        except ValueError as exc:
            errors.append({"covariate": spec["name"], "label": spec.get("label") or spec["name"], "error": str(exc)})
    if not models:
        raise ValueError("no univariable model could be fitted: " + "; ".join(e["error"] for e in errors))
    minimum = int(config["min_cell_size"])
    return {"kind": "cox_uni", "endpoint": definition["endpoint"], "n": suppress_count(len(sub), min_count=minimum),
            "models": [suppress_cox(m, minimum) for m in models], "errors": errors}


def _cox_multi(df, definition, config) -> dict[str, Any]:
    sub, duration, event = _survival_frame(df, definition)
    model = suppress_cox(cox_model(sub, duration_col=duration, event_col=event,
                                   covariates=definition["covariates"]), int(config["min_cell_size"]))
    return {"kind": "cox_multi", "endpoint": definition["endpoint"], "model": model}


def _table1(df, definition, config) -> dict[str, Any]:
    group = definition["grouping_variable"]
    sub = _group_frame(select(df, definition), group)
    order, notes = _present_order(sub, definition)
    variables = [dict(v) for v in definition["covariates"]]
    table = table_one(sub, group_col=group, variables=variables, group_order=order)
    return {"kind": "table1", "notes": notes, "group_labels": group_labels(group, config),
            "table": suppress_table_one(table, min_count=int(config["min_cell_size"]))}


def _response(df, definition, config) -> dict[str, Any]:
    group = definition.get("grouping_variable") or None
    sub = select(df, definition)
    order, notes = (None, [])
    if group:
        sub = _group_frame(sub, group)
        order, notes = _present_order(sub, definition)
    minimum = int(config["min_cell_size"])
    rates = {}
    for flag in definition["covariates"]:
        if sub[flag].notna().sum() == 0:
            rates[flag] = None
            notes.append(f"{flag}: no patient has a value")
            continue
        present = sub if not group else sub[sub[group].notna()]
        flag_order = order
        if group:
            have = {str(v) for v in _labels(present.loc[present[flag].notna(), group])}
            flag_order = [g for g in (order or sorted(have)) if str(g) in have]
            present = present[present[group].astype(str).isin(have)]
        rates[flag] = suppress_rates(response_rates(present.astype({flag: float}), flag_col=flag, group_col=group,
                                                    group_order=flag_order), minimum)
    groups = [str(g) for g in (order or sorted({str(v) for v in _labels(sub[group].dropna())}))] if group else []
    return {"kind": "response", "notes": notes, "group_labels": group_labels(group, config) if group else {},
            "denominators": {"orr": "P4 response-evaluable", "dcr": "P4 response-evaluable",
                             "immediate_progression_evaluable": "P4 response-evaluable",
                             "immediate_progression_treated": "P3 all treated (death or clinical progression "
                                                              "before the first evaluation counts)"},
            "rates": rates,
            "best_response": _distribution(sub, "best_response", group, groups, BOR_LEVELS, minimum),
            "regimen_class": _distribution(sub, "line1_regimen_class", group, groups, None, minimum)}


def _distribution(sub: pd.DataFrame, column: str, group: str | None, groups: list[str],
                  levels: Sequence[str] | None, minimum: int) -> dict[str, Any]:
    """Counts of a categorical column per group (missing = "not evaluated"), small cells blanked."""
    observed = sorted({str(v) for v in sub[column].dropna()})
    levels = list(levels) if levels else observed
    out = {"levels": [*levels, "missing"], "groups": []}
    for label in groups or ["All"]:
        part = sub if not group else sub[(_labels(sub[group].fillna("__none__")) == label).to_numpy()]
        counts = {lvl: int((part[column] == lvl).sum()) for lvl in levels}
        counts["missing"] = int(part[column].isna().sum())
        blanked, _ = suppress_counts(counts, min_count=minimum)
        out["groups"].append({"group": label, "n": suppress_count(len(part), min_count=minimum), "counts": blanked})
    return out


def _followup(df, definition, config) -> dict[str, Any]:
    sub, duration, event = _survival_frame(df, definition)
    group = definition.get("grouping_variable") or None
    order, notes = (None, [])
    if group:
        sub = _group_frame(sub, group)
        order, notes = _present_order(sub, definition)
    result = median_follow_up(sub, duration_col=duration, event_col=event, group_col=group, group_order=order)
    minimum = int(config["min_cell_size"])
    for part in [result["overall"], *result["groups"]]:
        _suppress_summary(part, ("n", "n_censored"), minimum)
    return {"kind": "followup", "endpoint": definition["endpoint"], "notes": notes,
            "group_labels": group_labels(group, config) if group else {}, "followup": result}


def _flow(df, definition, config) -> dict[str, Any]:
    minimum = int(config["min_cell_size"])

    def n(mask: pd.Series | np.ndarray) -> int:
        return int(np.asarray(mask, dtype=bool).sum())

    p0, p1, p2, p3, p4 = (df[p].fillna(False).astype(bool) for p in ("p0", "p1", "p2", "p3", "p4"))
    withdrawn = df["withdrawn"].fillna(False).astype(bool)
    counts: dict[str, Any] = {
        "registered": len(df),
        "withdrawn": n(withdrawn),
        "not_eligible": n(~withdrawn & ~df["eligible"].fillna(False).astype(bool)),
        "p0_eligible": n(p0),
        "not_advanced": n(p0 & ~p1),
        "p1_advanced": n(p1),
        "p2_reviewed_hg_nen": n(p2),
        "p3_palliative_chemotherapy": n(p3),
        "p4_response_evaluable": n(p4),
    }
    classification = {c: n(p1 & (df["classification"] == c)) for c in
                      ("NEC", "NET_G3", "MiNEN", "not_HG_NEN", "not_reviewable", "not_classified")}
    by_group = {g: {"p2": n(p2 & (df["group"] == g)), "p3": n(p3 & (df["group"] == g)),
                    "untreated": n(p2 & ~p3 & (df["group"] == g)), "p4": n(p4 & (df["group"] == g))}
                for g in ("NEC", "NET_G3")}
    return {"kind": "flow", "counts": {k: suppress_count(v, min_count=minimum) for k, v in counts.items()},
            "classification_p1": {k: suppress_count(v, min_count=minimum) for k, v in classification.items()},
            "by_group": {g: {k: suppress_count(v, min_count=minimum) for k, v in d.items()}
                         for g, d in by_group.items()},
            "group_labels": group_labels("group", config)}


HANDLERS: dict[str, Callable[..., tuple[dict[str, Any], list[Figure]]]] = {
    "km": _km, "logrank": _logrank, "cox_uni": _cox_uni, "cox_multi": _cox_multi, "table1": _table1,
    "response": _response, "flow": _flow, "followup": _followup,
}


# ---------------------------------------------------------------------------------------------------------
# Suppression of survival, Cox and rate results (Table 1 and plain counts use the estimators' helpers)


def _suppress_summary(part: dict[str, Any], keys: Sequence[str], minimum: int) -> None:
    for key in keys:
        if key in part:
            part[key] = suppress_count(part[key], min_count=minimum)


def suppress_km_result(result: Mapping[str, Any], minimum: int) -> dict[str, Any]:
    """Blank groups smaller than the minimum entirely, and every small count of the others (events and
    censored as one partition; numbers at risk; per-step counts of the curve)."""
    out = copy.deepcopy(dict(result))
    km = out.get("km")
    if km is not None:
        for group in km["groups"]:
            if suppress_count(group["n"], min_count=minimum) is None:
                label = group["group"]
                group.clear()
                group.update({"group": label, "suppressed": True, "n": None})
                continue
            group["suppressed"] = False
            blanked, _ = suppress_counts({"events": group["events"], "censored": group["censored"]},
                                         min_count=minimum)
            group.update(blanked)
            for row in group["at_risk"]:
                row["n"] = suppress_count(row["n"], min_count=minimum)
            for row in group["survival_at"]:
                row["n_at_risk"] = suppress_count(row["n_at_risk"], min_count=minimum)
            curve = group["curve"]
            for key in ("n_at_risk", "n_events", "n_censored"):
                curve[key] = [suppress_count(v, min_count=minimum) for v in curve[key]]
    lr = out.get("logrank")
    if lr is not None:
        for group in lr["groups"]:
            group["n"] = suppress_count(group["n"], min_count=minimum)
            group["observed"] = suppress_count(group["observed"], min_count=minimum)
        lr["n_missing_group"] = suppress_count(lr["n_missing_group"], min_count=minimum)
    return out


def suppress_cox(model: Mapping[str, Any], minimum: int) -> dict[str, Any]:
    """Blank the small counts of a Cox result (complete-case n, dropped, events, missing per covariate)."""
    out = copy.deepcopy(dict(model))
    for key in ("n_total", "n_used", "n_dropped", "n_events"):
        out[key] = suppress_count(out[key], min_count=minimum)
    out["missing_by_covariate"] = {k: suppress_count(v, min_count=minimum)
                                   for k, v in out["missing_by_covariate"].items()}
    return out


def suppress_rates(rates: Mapping[str, Any], minimum: int) -> dict[str, Any]:
    """A rate whose numerator, non-responders or denominator is a small cell is blanked with its CI."""
    out = copy.deepcopy(dict(rates))
    for part in [out["overall"], *out["groups"]]:
        small_n = suppress_count(part["n"], min_count=minimum) is None
        small_count = suppress_count(part["count"], min_count=minimum) is None
        small_rest = suppress_count(part["n"] - part["count"], min_count=minimum) is None
        if small_n or small_count or small_rest:
            part.update(count=None, proportion=None, lower=None, upper=None, suppressed=True)
            if small_n:
                part["n"] = None
        else:
            part["suppressed"] = False
        part["n_missing"] = suppress_count(part["n_missing"], min_count=minimum)
    return out


def _fmt_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"
