"""Cox proportional-hazards models with covariate coding given as data.

Fit settings: lifelines' Cox uses Efron ties (its only method, R's default). Its default Newton
step of 0.95 stops about 1e-6 short of the maximum. ``step_size=1.0`` alone is not enough either:
lifelines stops as soon as the Newton decrement is below ``precision`` (1e-7) *without taking the
pending step*, which on the veteran reference model leaves adeno at 1.196010 against R's 1.196000.
``precision=1e-12`` makes it take that last step and reproduces R's coefficients to 6 decimals.

Missing covariates: lifelines raises on NaN and R drops rows silently; here complete-case selection
is explicit and its counts are part of the result (n used, n dropped, missing per covariate).
Reference levels are named in the spec because pandas' dummy coding would pick the alphabetically
first level, not the clinically meaningful one (research/analysis.md A4.14).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError
from scipy import stats

from ._common import (
    ALPHA,
    CONF_LEVEL,
    as_numeric_codes,
    group_label,
    json_float,
    level_labels,
    require_columns,
    survival_arrays,
)
from .concordance import concordance
from .efron import efron_start
from .zph import cox_zph

FIT_OPTIONS: dict[str, float] = {"step_size": 1.0, "precision": 1e-12}
Kind = Literal["continuous", "binary", "categorical"]
KINDS = ("continuous", "binary", "categorical")


@dataclass(frozen=True)
class CovariateSpec:
    """How one covariate enters a model.

    continuous: optionally divided by ``scale`` (age per 10 years: scale=10).
    binary: 0/1 (or bool), or ``positive`` names the value coded 1 (all other values 0).
    categorical: dummy-coded against ``reference``; ``levels`` fixes the order of the rows
    (R's factor order), otherwise the observed levels are sorted.
    """

    name: str
    kind: Kind
    label: str | None = None
    scale: float | None = None
    reference: str | None = None
    levels: tuple[str, ...] | None = None
    positive: str | int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"covariate {self.name!r}: kind must be one of {', '.join(KINDS)}")
        if self.kind == "categorical" and self.reference is None:
            raise ValueError(f"categorical covariate {self.name!r} needs a named reference level")
        if self.scale is not None and (self.kind != "continuous" or not self.scale > 0):
            raise ValueError(f"covariate {self.name!r}: scale applies to continuous covariates and must be > 0")
        if self.kind != "categorical" and (self.reference is not None or self.levels is not None):
            raise ValueError(f"covariate {self.name!r}: reference and levels apply to categorical covariates")
        if self.kind != "binary" and self.positive is not None:
            raise ValueError(f"covariate {self.name!r}: positive applies to binary covariates")
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))
            if str(self.reference) not in self.levels:
                raise ValueError(f"covariate {self.name!r}: reference {self.reference!r} is not in its levels")
        if self.reference is not None:
            object.__setattr__(self, "reference", str(self.reference))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CovariateSpec:
        """Build from stored configuration (e.g. an AnalysisDefinition JSONField)."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown covariate setting(s): {', '.join(sorted(unknown))}")
        if "name" not in data or "kind" not in data:
            raise ValueError("each covariate needs at least 'name' and 'kind'")
        values = dict(data)
        if values.get("levels") is not None:
            values["levels"] = tuple(values["levels"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.levels is not None:
            data["levels"] = list(self.levels)
        return data

    @property
    def display(self) -> str:
        return self.label or self.name


CovariateInput = CovariateSpec | Mapping[str, Any]


def parse_covariates(covariates: Sequence[CovariateInput]) -> list[CovariateSpec]:
    """Specs from dataclasses or dicts; names must be unique."""
    specs = [c if isinstance(c, CovariateSpec) else CovariateSpec.from_dict(c) for c in covariates]
    if not specs:
        raise ValueError("a Cox model needs at least one covariate")
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"covariate(s) listed twice: {', '.join(duplicated)}")
    return specs


def cox_model(
    df: pd.DataFrame,
    *,
    duration_col: str = "duration_days",
    event_col: str = "event",
    covariates: Sequence[CovariateInput],
    ph_transform: str = "km",
) -> dict[str, Any]:
    """Multivariable Cox model on complete cases: per-term coef, SE, HR (95% CI), p; likelihood-ratio
    test; concordance with SE; PH test per covariate and global; complete-case counts."""
    specs = parse_covariates(covariates)
    require_columns(df, [duration_col, event_col, *[s.name for s in specs]])
    survival_arrays(df, duration_col, event_col)  # validates the outcome before any dropping
    missing = {s.name: int(df[s.name].isna().sum()) for s in specs}
    complete = df.dropna(subset=[s.name for s in specs])
    if len(complete) == 0:
        raise ValueError("no complete cases: every row misses at least one covariate")
    t, e = survival_arrays(complete, duration_col, event_col)
    if e.sum() == 0:
        raise ValueError(f"no events among the {len(complete)} complete cases; a Cox model cannot be fitted")

    design, terms, notes = _design(complete, specs)
    n_params = design.shape[1]
    if len(complete) <= n_params:
        raise ValueError(f"{len(complete)} complete cases are too few for {n_params} coefficients")
    fitter, fit_warnings, ll_null = _fit(design, t, e)

    x = design.to_numpy(dtype=float)
    beta = fitter.params_[design.columns].to_numpy()
    column_index = {c: i for i, c in enumerate(design.columns)}
    term_cols = [(s.name, [column_index[c] for c in terms[s.name]]) for s in specs]
    lr = _lr_test(fitter, ll_null, n_params)
    return {
        "model": "Cox proportional hazards",
        "ties": "efron",
        "fit_options": dict(FIT_OPTIONS),
        "conf_level": CONF_LEVEL,
        "covariates": [s.to_dict() for s in specs],
        "n_total": len(df),
        "n_used": len(complete),
        "n_dropped": len(df) - len(complete),
        "missing_by_covariate": missing,
        "n_events": int(e.sum()),
        "terms": _term_rows(fitter, specs, terms),
        "reference_levels": {s.name: s.reference for s in specs if s.kind == "categorical"},
        "log_likelihood": json_float(fitter.log_likelihood_),
        "log_likelihood_null": json_float(lr.pop("ll_null")),
        "lr_test": lr,
        "concordance": concordance(t, e, x @ beta),
        "ph_test": cox_zph(x, t, e, beta, term_cols, transform=ph_transform),
        "notes": notes,
        "warnings": fit_warnings,
    }


def cox_univariable(
    df: pd.DataFrame,
    *,
    duration_col: str = "duration_days",
    event_col: str = "event",
    covariates: Sequence[CovariateInput],
    ph_transform: str = "km",
) -> list[dict[str, Any]]:
    """One Cox model per covariate, each on its own complete cases (the usual screening table)."""
    return [
        cox_model(df, duration_col=duration_col, event_col=event_col, covariates=[spec], ph_transform=ph_transform)
        for spec in parse_covariates(covariates)
    ]


def _design(df: pd.DataFrame, specs: Sequence[CovariateSpec]) -> tuple[pd.DataFrame, dict[str, list[str]], list[str]]:
    """Numeric design matrix, the columns of each covariate, and notes about dropped levels."""
    columns: dict[str, pd.Series] = {}
    terms: dict[str, list[str]] = {}
    notes: list[str] = []
    for spec in specs:
        values = df[spec.name]
        if spec.kind == "continuous":
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.isna().any():
                raise ValueError(f"continuous covariate {spec.name!r} has non-numeric values")
            coded = {spec.name: numeric / (spec.scale or 1.0)}
        elif spec.kind == "binary":
            coded = {spec.name: _binary(spec, values)}
        else:
            coded, dropped = _dummies(spec, values)
            if dropped:
                notes.append(f"{spec.name}: level(s) {', '.join(dropped)} have no complete cases and were left out")
        for column, series in coded.items():
            if series.nunique() < 2:
                raise ValueError(f"covariate {spec.name!r} is constant among the complete cases ({column})")
            columns[column] = series.astype(float)
        terms[spec.name] = list(coded)
    return pd.DataFrame(columns, index=df.index), terms, notes


def _binary(spec: CovariateSpec, values: pd.Series) -> pd.Series:
    if spec.positive is not None:
        return (level_labels(values) == group_label(spec.positive)).astype(float)
    as_number = as_numeric_codes(values)
    if as_number.isna().any() or not as_number.isin([0, 1]).all():
        found = sorted({str(v) for v in values.unique()})[:5]
        raise ValueError(
            f"binary covariate {spec.name!r} must be 0/1 or name its 'positive' value; found {', '.join(found)}"
        )
    return as_number.astype(float)


def _dummies(spec: CovariateSpec, values: pd.Series) -> tuple[dict[str, pd.Series], list[str]]:
    """Dummy columns named ``name[level]`` for every level except the reference."""
    labels = level_labels(values)
    observed = sorted(set(labels))
    if spec.levels is not None:
        unknown = sorted(set(observed) - set(spec.levels))
        if unknown:
            raise ValueError(f"covariate {spec.name!r} has level(s) not in its levels: {', '.join(unknown)}")
        levels = list(spec.levels)
    else:
        levels = observed
    if spec.reference not in observed:
        raise ValueError(f"reference level {spec.reference!r} of {spec.name!r} has no complete cases")
    coded = {}
    dropped = []
    for level in levels:
        if level == spec.reference:
            continue
        if level not in observed:
            dropped.append(level)
            continue
        coded[f"{spec.name}[{level}]"] = (labels == level).astype(float)
    return coded, dropped


def _fit(design: pd.DataFrame, t: np.ndarray, e: np.ndarray) -> tuple[CoxPHFitter, list[str], float | None]:
    """lifelines' fit, started at the vectorised Efron optimum (``efron.efron_start``) so it only confirms
    convergence there; batch mode (same likelihood, a loop over unique times instead of rows) when times tie
    a lot. Returns the fitter, its warnings and the null log-likelihood when the start computed it."""
    data = design.copy()
    data["__duration"] = t
    data["__event"] = e
    start = efron_start(design.to_numpy(dtype=float), t, e)
    initial = ll_null = None
    if start is not None:
        beta, ll_null = start
        initial = beta * design.std(axis=0).to_numpy()  # lifelines iterates on standardised covariates
    batch = True if len(np.unique(t)) < 0.5 * len(t) else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitter = CoxPHFitter(alpha=ALPHA).fit(
                data, duration_col="__duration", event_col="__event", fit_options=FIT_OPTIONS,
                initial_point=initial, batch_mode=batch,
            )
        except ConvergenceError as exc:
            raise ValueError(f"Cox model did not converge ({', '.join(design.columns)}): {exc}") from exc
    messages = sorted({str(w.message).strip().splitlines()[0] for w in caught})
    return fitter, messages, ll_null


def _lr_test(fitter: CoxPHFitter, ll_null: float | None, n_params: int) -> dict[str, Any]:
    """Likelihood-ratio test against the model without covariates (lifelines' own when it fitted from zero;
    otherwise from the null log-likelihood the start computed, which spares lifelines a second fit)."""
    if ll_null is None:
        lr = fitter.log_likelihood_ratio_test()
        return {"statistic": json_float(lr.test_statistic), "df": int(lr.degrees_freedom),
                "p": json_float(lr.p_value), "ll_null": fitter.log_likelihood_ - lr.test_statistic / 2}
    statistic = 2 * (fitter.log_likelihood_ - ll_null)
    return {"statistic": json_float(statistic), "df": n_params, "p": json_float(stats.chi2.sf(statistic, n_params)),
            "ll_null": ll_null}


def _term_rows(
    fitter: CoxPHFitter, specs: Sequence[CovariateSpec], terms: Mapping[str, list[str]]
) -> list[dict[str, Any]]:
    summary = fitter.summary
    rows = []
    for spec in specs:
        for column in terms[spec.name]:
            s = summary.loc[column]
            level = column[len(spec.name) + 1 : -1] if spec.kind == "categorical" else None
            rows.append(
                {
                    "term": column,
                    "covariate": spec.name,
                    "label": spec.display,
                    "kind": spec.kind,
                    "level": level,
                    "reference": spec.reference,
                    "scale": spec.scale,
                    "positive": spec.positive,
                    "coef": json_float(s["coef"]),
                    "se": json_float(s["se(coef)"]),
                    "hr": json_float(s["exp(coef)"]),
                    "hr_lower": json_float(s["exp(coef) lower 95%"]),
                    "hr_upper": json_float(s["exp(coef) upper 95%"]),
                    "z": json_float(s["z"]),
                    "p": json_float(s["p"]),
                }
            )
    return rows
