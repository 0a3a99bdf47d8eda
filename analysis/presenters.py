"""Stored results → display tables (header + rows of strings) for the dashboard, the report and the PDF.

One generic table shape keeps the templates small; the numbers shown are the stored, already suppressed
ones, and a blanked count is printed as "< n" with the run's minimum cell size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.estimators import DAYS_PER_MONTH

BLANK = "–"


class Fmt:
    """Formatting with the run's minimum cell size (blanked counts print as "< n")."""

    def __init__(self, min_cell: int) -> None:
        self.min_cell = min_cell

    def count(self, value: Any) -> str:
        return f"< {self.min_cell}" if value is None else str(value)

    @staticmethod
    def months(days: Any) -> str:
        return BLANK if days is None else f"{days / DAYS_PER_MONTH:.1f}"

    def median(self, median: Mapping[str, Any] | None) -> str:
        if not median:
            return BLANK
        if not median.get("reached"):
            return "not reached"
        return (f"{self.months(median['estimate_days'])} ({self.months(median.get('lower_days'))}–"
                f"{self.months(median.get('upper_days')) if median.get('upper_days') is not None else 'NR'})")

    @staticmethod
    def p(value: Any) -> str:
        if value is None:
            return BLANK
        return "< 0.001" if value < 0.001 else f"{value:.3f}"

    @staticmethod
    def num(value: Any, digits: int = 2) -> str:
        return BLANK if value is None else f"{value:.{digits}f}"

    @staticmethod
    def pct(value: Any, digits: int = 1) -> str:
        return BLANK if value is None else f"{value:.{digits}f} %"

    def rate(self, part: Mapping[str, Any]) -> str:
        """count/n (% ; Wilson 95% CI), blanked parts as "< n"."""
        def pct(v: Any) -> str:
            return self.pct(None if v is None else 100 * v, 0)

        return (f"{self.count(part['count'])}/{self.count(part['n'])} ({pct(part['proportion'])}; "
                f"{pct(part['lower'])}–{pct(part['upper'])})")

    def hr(self, term: Mapping[str, Any]) -> str:
        if term.get("hr") is None:
            return BLANK
        return f"{term['hr']:.2f} ({self.num(term.get('hr_lower'))}–{self.num(term.get('hr_upper'))})"


def _label(labels: Mapping[str, str], group: Any) -> str:
    return labels.get(str(group), str(group))


def _table(caption: str, header: list[str], rows: list[list[str]], notes: list[str] | None = None) -> dict:
    return {"caption": caption, "header": header, "rows": rows, "notes": notes or []}


def present(result: Mapping[str, Any] | None, *, min_cell: int) -> list[dict[str, Any]]:
    """Display tables of one stored result (empty for a failed one)."""
    if not result:
        return []
    f = Fmt(min_cell)
    kind = result.get("kind")
    notes = list(result.get("notes") or [])
    labels = result.get("group_labels") or {}
    if kind == "km":
        return _km_tables(result, f, labels, notes)
    if kind == "logrank":
        return [_logrank_table(result["logrank"], f, labels, notes)]
    if kind == "cox_multi":
        return [_cox_table(result["model"], f, "Multivariable Cox model", notes)]
    if kind == "cox_uni":
        rows = []
        for model in result["models"]:
            for term in model["terms"]:
                rows.append([_term_label(term), f.hr(term), f.p(term["p"]), f.count(model["n_used"]),
                             f.count(model["n_events"])])
        errors = [f"{e['label']}: not estimable ({e['error']})" for e in result.get("errors", [])]
        return [_table("Univariable Cox models (each on its complete cases)",
                       ["Covariate", "HR (95% CI)", "p", "n used", "events"], rows, notes + errors)]
    if kind == "table1":
        return [_table_one(result["table"], f, labels, notes)]
    if kind == "response":
        return _response_tables(result, f, labels, notes)
    if kind == "followup":
        follow = result["followup"]
        rows = [[_label(labels, part["group"]), f.count(part["n"]), f.median(part["median"])]
                for part in [follow["overall"], *follow["groups"]]]
        return [_table(f"Median follow-up, months (95% CI), {follow['method']}", ["Group", "n", "Median (95% CI)"],
                       rows, notes)]
    if kind == "flow":
        return _flow_tables(result, f)
    return []


def _km_tables(result, f: Fmt, labels, notes) -> list[dict]:
    km = result["km"]
    rows = []
    for g in km["groups"]:
        if g.get("suppressed"):
            rows.append([_label(labels, g["group"]), f.count(None), BLANK, BLANK, BLANK, BLANK])
            continue
        at = {round(row["time_months"] or 0): row for row in g["survival_at"]}
        rows.append([_label(labels, g["group"]), f.count(g["n"]), f.count(g["events"]), f.median(g["median"]),
                     *(f.pct(100 * at[m]["survival"], 0) if m in at and at[m]["survival"] is not None else BLANK
                       for m in (12, 24))])
    tables = [_table(f"Kaplan-Meier, months (95% CI, {km['ci_type']})",
                     ["Group", "n", "Events", "Median (95% CI)", "12 months", "24 months"], rows, notes)]
    if result.get("logrank"):
        tables.append(_logrank_table(result["logrank"], f, labels, []))
    return tables


def _logrank_table(lr, f: Fmt, labels, notes) -> dict:
    rows = [[_label(labels, g["group"]), f.count(g["n"]), f.count(g["observed"]), f.num(g["expected"], 1)]
            for g in lr["groups"]]
    return _table(f"Log-rank test: chi-square {f.num(lr['chi2'])} on {lr['df']} df, p = {f.p(lr['p'])}",
                  ["Group", "n", "Observed", "Expected"], rows, notes)


def _term_label(term) -> str:
    label = term.get("label") or term["covariate"]
    if term.get("level") is not None:
        return f"{label}: {term['level']} vs {term['reference']}"
    if term.get("scale"):
        return f"{label} (per {term['scale']:g})"
    return label


def _cox_table(model, f: Fmt, caption: str, notes) -> dict:
    rows = [[_term_label(t), f.hr(t), f.p(t["p"])] for t in model["terms"]]
    ph = model.get("ph_test") or {}
    extra = [f"n used {f.count(model['n_used'])}, dropped (missing covariates) {f.count(model['n_dropped'])}, "
             f"events {f.count(model['n_events'])}; ties: {model['ties']}; "
             f"likelihood-ratio p = {f.p(model['lr_test']['p'])}"]
    if ph.get("global"):
        extra.append(f"Proportional hazards ({ph.get('method', 'cox.zph')}, transform {ph.get('transform')}): "
                     f"global p = {f.p(ph['global'].get('p'))}")
    extra += model.get("notes") or []
    return _table(caption, ["Covariate", "HR (95% CI)", "p"], rows, notes + extra)


def _table_one(table, f: Fmt, labels, notes) -> dict:
    groups = [g["group"] for g in table["groups"]]
    header = ["Characteristic", *(f"{_label(labels, g['group'])} (n = {f.count(g['n'])})" for g in table["groups"]),
              "p", "Test"]
    rows = []
    for row in table["rows"]:
        by = {c["group"]: c for c in row["by_group"]}
        if row["kind"] == "continuous":
            cells = [f"{f.num(c['median'], 1)} ({f.num(c['q1'], 1)}–{f.num(c['q3'], 1)})"
                     if c.get("median") is not None else BLANK for c in (by[g] for g in groups)]
            rows.append([f"{row['label']}, median (IQR)", *cells, f.p(row["p"]), row["test"] or BLANK])
        else:
            rows.append([row["label"], *([""] * len(groups)), f.p(row["p"]), row["test"] or BLANK])
            for level in row["levels"]:
                cells = [f"{f.count(by[g]['counts'][level])} ({f.pct(by[g]['percent'][level], 0)})"
                         if by[g]["counts"][level] is not None else f.count(None) for g in groups]
                rows.append([f"  {level}", *cells, "", ""])
        missing = [by[g]["n_missing"] for g in groups]
        if any(m != 0 for m in missing):
            rows.append(["  missing", *(f.count(m) for m in missing), "", ""])
    return _table("Baseline characteristics", header, rows, notes)


def _response_tables(result, f: Fmt, labels, notes) -> list[dict]:
    tables = []
    names = {"orr": "Objective response rate (CR + PR)", "dcr": "Disease control rate (CR + PR + SD)",
             "immediate_progression_evaluable": "Immediate progression (first evaluation PD), response-evaluable",
             "immediate_progression_treated": "Immediate progression, all treated (death or clinical "
                                              "progression before the first evaluation counts)"}
    rows = []
    groups: list[str] = []
    for flag, rates in result["rates"].items():
        if rates is None:
            continue
        parts = [rates["overall"], *rates["groups"]]
        groups = [p["group"] for p in parts]
        rows.append([names.get(flag, flag), *(f.rate(p) for p in parts)])
    if rows:
        tables.append(_table("Response rates with Wilson 95% CIs", ["", *(_label(labels, g) for g in groups)], rows,
                             notes + [f"{names.get(k, k)}: denominator {v}"
                                      for k, v in result.get("denominators", {}).items()]))
    for key, caption in (("best_response", "Best overall response, line 1"),
                         ("regimen_class", "First-line regimen")):
        dist = result[key]
        header = ["", *(f"{_label(labels, g['group'])} (n = {f.count(g['n'])})" for g in dist["groups"])]
        rows = [[level, *(f.count(g["counts"][level]) for g in dist["groups"])] for level in dist["levels"]]
        tables.append(_table(caption, header, rows))
    return tables


FLOW_LABELS = {
    "registered": "Registered", "withdrawn": "Withdrawn", "not_eligible": "Not eligible",
    "p0_eligible": "P0 Eligible", "not_advanced": "Not advanced", "p1_advanced": "P1 Advanced",
    "p2_reviewed_hg_nen": "P2 Centrally reviewed HG-NEN", "p3_palliative_chemotherapy": "P3 Palliative chemotherapy",
    "p4_response_evaluable": "P4 Response-evaluable",
}


def _flow_tables(result, f: Fmt) -> list[dict]:
    labels = result.get("group_labels") or {}
    counts = [[FLOW_LABELS.get(k, k), f.count(v)] for k, v in result["counts"].items()]
    classes = [[_label(labels, k).replace("_", " "), f.count(v)] for k, v in result["classification_p1"].items()]
    groups = result["by_group"]
    by_group = [[step, *(f.count(groups[g][key]) for g in groups)] for step, key in (
        ("Centrally reviewed (P2)", "p2"), ("Palliative chemotherapy (P3)", "p3"),
        ("No palliative chemotherapy", "untreated"), ("Response-evaluable (P4)", "p4"))]
    return [_table("Flow", ["Step", "Patients"], counts),
            _table("Central classification of advanced patients (P1)", ["Final classification", "Patients"], classes),
            _table("By group", ["", *(_label(labels, g) for g in groups)], by_group)]
