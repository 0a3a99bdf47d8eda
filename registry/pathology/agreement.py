"""Agreement statistics for central review (research/analysis.md §B2): a functional core with no Django.

- Category: reclassification table (local rows × central columns), percent agreement and Cohen's kappa with
  its asymptotic 95 % CI (statsmodels `cohens_kappa`).
- Ki-67: Bland-Altman bias and 95 % limits of agreement (mean difference ± 1.96 SD of the differences, in
  percentage points; difference = second − first) and the ICC: two-way random effects, absolute agreement,
  single rater — ICC(A,1) in pingouin's table (a.k.a. ICC(2,1), Shrout & Fleiss) — with its 95 % CI
  (pingouin rounds the CI to 2 decimals).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: At least this many pairs before a statistic is reported (kappa and ICC are meaningless on fewer).
MIN_PAIRS = 3
ICC_TYPE = "ICC(A,1)"
ICC_LABEL = "ICC(A,1): two-way random effects, absolute agreement, single rater (Shrout-Fleiss ICC(2,1))"


@dataclass(frozen=True)
class KappaResult:
    n: int
    percent_agreement: float
    kappa: float | None
    ci_low: float | None
    ci_high: float | None
    method: str = "Cohen's kappa (unweighted), asymptotic (Wald) 95 % CI truncated to [-1, 1]"


@dataclass(frozen=True)
class BlandAltmanResult:
    n: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    method: str = "Bland-Altman: mean difference (second − first) ± 1.96 SD, percentage points"


@dataclass(frozen=True)
class IccResult:
    n: int
    icc: float
    ci_low: float
    ci_high: float
    type: str = ICC_LABEL


def reclassification_table(first: Sequence[str], second: Sequence[str],
                           categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Crosstab: rows = first rater (local), columns = second (central); every category on both axes."""
    cats = list(categories) if categories is not None else sorted(set(first) | set(second))
    table = pd.crosstab(pd.Categorical(list(first), categories=cats), pd.Categorical(list(second), categories=cats),
                        dropna=False)
    table.index.name, table.columns.name = "first", "second"
    return table.reindex(index=cats, columns=cats, fill_value=0)


def percent_agreement(first: Sequence[str], second: Sequence[str]) -> float:
    """Share of pairs with the same category, in %."""
    if not first:
        return math.nan
    return 100.0 * sum(a == b for a, b in zip(first, second, strict=True)) / len(first)


def cohens_kappa(first: Sequence[str], second: Sequence[str]) -> KappaResult:
    """Unweighted Cohen's kappa with its 95 % CI (None when undefined: too few pairs or one category only)."""
    from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

    n = len(first)
    agreement = percent_agreement(first, second)
    table = reclassification_table(first, second).to_numpy(dtype=float)
    if n < MIN_PAIRS or table.shape[0] < 2:
        return KappaResult(n=n, percent_agreement=agreement, kappa=None, ci_low=None, ci_high=None)
    expected = (table.sum(axis=0) * table.sum(axis=1)).sum() / n**2
    if math.isclose(expected, 1.0):
        return KappaResult(n=n, percent_agreement=agreement, kappa=None, ci_low=None, ci_high=None)
    result = sm_kappa(table)
    # The Wald interval can run past the bounds of kappa on small samples; report it truncated to [−1, 1].
    return KappaResult(n=n, percent_agreement=agreement, kappa=float(result.kappa),
                       ci_low=max(-1.0, float(result.kappa_low)), ci_high=min(1.0, float(result.kappa_upp)))


def bland_altman(first: Sequence[float], second: Sequence[float]) -> BlandAltmanResult | None:
    """Bias and 95 % limits of agreement of `second − first` (None with fewer than MIN_PAIRS pairs)."""
    if len(first) < MIN_PAIRS:
        return None
    diff = np.asarray(second, dtype=float) - np.asarray(first, dtype=float)
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    return BlandAltmanResult(n=len(diff), bias=bias, sd=sd, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd)


def icc(first: Sequence[float], second: Sequence[float]) -> IccResult | None:
    """ICC(A,1) of two raters on the same cases, with its 95 % CI (None when undefined)."""
    import pingouin

    n = len(first)
    if n < MIN_PAIRS:
        return None
    long = pd.DataFrame({
        "case": list(range(n)) * 2,
        "rater": ["first"] * n + ["second"] * n,
        "ki67": [float(v) for v in first] + [float(v) for v in second],
    })
    if long["ki67"].nunique() < 2:
        return None
    # Identical differences on every case leave no residual variance: pingouin divides by zero; report None.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        table = pingouin.intraclass_corr(data=long, targets="case", raters="rater", ratings="ki67")
    row = table.set_index("Type").loc[ICC_TYPE]
    ci = row["CI95"] if "CI95" in row.index else row["CI95%"]  # the column was renamed in pingouin 0.6
    low, high = (float(x) for x in ci)
    value = float(row["ICC"])
    if not all(math.isfinite(v) for v in (value, low, high)):
        return None
    return IccResult(n=n, icc=value, ci_low=low, ci_high=high)


def agreement_report(local_vs_central: Sequence[tuple[str, str]], ki67_pairs: Sequence[tuple[float, float]],
                     reviewer_pairs: Sequence[tuple[str, str]],
                     reviewer_ki67_pairs: Sequence[tuple[float, float]] = ()) -> dict:
    """Every agreement statistic as plain data (JSON-ready; NaN and undefined values become None)."""
    local = [a for a, _ in local_vs_central]
    central = [b for _, b in local_vs_central]
    table = reclassification_table(local, central)
    r1 = [a for a, _ in reviewer_pairs]
    r2 = [b for _, b in reviewer_pairs]

    def ki67_block(pairs):
        x = [a for a, _ in pairs]
        y = [b for _, b in pairs]
        ba, ic = bland_altman(x, y), icc(x, y)
        return {"n": len(pairs), "bland_altman": asdict(ba) if ba else None, "icc": asdict(ic) if ic else None}

    return _clean({
        "category": {
            "categories": list(table.index),
            "table": table.to_numpy().tolist(),
            "rows": "local", "columns": "central (first read)",
            "kappa": asdict(cohens_kappa(local, central)),
        },
        "ki67": ki67_block(ki67_pairs),
        "reviewers": {"kappa": asdict(cohens_kappa(r1, r2)), "ki67": ki67_block(reviewer_ki67_pairs)},
    })


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _clean(float(value))
    return value
