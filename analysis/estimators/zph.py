"""Proportional-hazards test: a port of R survival (>= 3.0) ``cox.zph``.

Why not lifelines' ``proportional_hazard_test``: it computes the pre-3.0 Grambsch-Therneau
approximation per coefficient (diagonal variance), has no per-term test for a multi-level factor
and no global test, and on the veteran data it moves age and prior across p = 0.05 compared with
R (research/analysis.md A2.3, lifelines#997). It is also slow (5.5 s at n = 100k).

R's test is a score test of gamma = 0 in the extended model with covariates X and X * g(t),
evaluated at (beta_hat, 0) with the same (Efron) tie handling as the fit. With g(t) constant
within a tied death time the 2p x 2p information collapses to per-time sums, which are computed
here with cumulative sums and matrix products (O(n p^2), no per-time Python loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import rankdata

from ._common import json_float

TRANSFORMS = ("km", "rank", "identity")
METHOD = "score test for beta(t) = beta + gamma g(t), as R survival >= 3.0 cox.zph (Efron ties)"


def cox_zph(
    x: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    beta: np.ndarray,
    terms: Sequence[tuple[str, Sequence[int]]],
    *,
    transform: str = "km",
) -> dict[str, Any]:
    """Per-term and global PH tests (chi-square, df, p) for a fitted Cox model.

    ``terms`` maps each covariate to its columns in ``x`` so a categorical covariate is tested
    jointly (k - 1 df), as R does. ``transform`` is R's time transform (default "km").
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown PH-test time transform {transform!r}; use one of {', '.join(TRANSFORMS)}")
    x = np.asarray(x, dtype=float)
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    p = x.shape[1]
    score_g, info = _score_and_information(x, t, e, np.asarray(beta, dtype=float), _g_time(t, e, transform))
    zero = np.zeros(p)
    rows = []
    for name, cols in terms:
        cols = list(cols)
        keep = list(range(p)) + [p + c for c in cols]
        u = np.concatenate([zero, score_g[cols]])
        rows.append(_chi2_row(name, u, info[np.ix_(keep, keep)], len(cols)))
    u_all = np.concatenate([zero, score_g])
    return {
        "method": METHOD,
        "transform": transform,
        "terms": rows,
        "global": _chi2_row("GLOBAL", u_all, info, p),
    }


def _chi2_row(name: str, u: np.ndarray, info: np.ndarray, df: int) -> dict[str, Any]:
    chi2 = float(u @ np.linalg.solve(info, u))
    return {"covariate": name, "chi2": json_float(chi2), "df": df, "p": json_float(stats.chi2.sf(chi2, df))}


def _g_time(t: np.ndarray, e: np.ndarray, transform: str) -> np.ndarray:
    """g(t) per observation, centred on its mean over the events (as cox.zph's gtime)."""
    if transform == "km":
        # left-continuous KM, 1 - S(t-), as cox.zph computes it
        event_times, inverse = np.unique(t, return_inverse=True)
        sorted_t = np.sort(t)
        at_risk = len(t) - np.searchsorted(sorted_t, event_times, side="left")
        deaths = np.bincount(inverse, weights=e, minlength=len(event_times))
        surv = np.cumprod(1.0 - deaths / at_risk)
        surv_left = np.concatenate([[1.0], surv[:-1]])
        g = 1.0 - surv_left[inverse]
    elif transform == "rank":
        g = rankdata(t, method="average")
    else:
        g = t.copy()
    return g - g[e == 1].mean()


def _score_and_information(
    x: np.ndarray, t: np.ndarray, e: np.ndarray, beta: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score for gamma and the full 2p x 2p information at (beta_hat, 0), Efron ties."""
    p = x.shape[1]
    x = x - x.mean(axis=0)  # centring changes nothing in the test but keeps the sums well conditioned
    eta = x @ beta
    risk = np.exp(eta - eta.max())

    order = np.argsort(t, kind="stable")
    ts, xs, rs, es, gs = t[order], x[order], risk[order], e[order], g[order]
    # risk-set sums at each unique death time: suffix sums over time-sorted rows
    rev0 = np.concatenate([np.cumsum(rs[::-1])[::-1], [0.0]])
    rev1 = np.vstack([np.cumsum((rs[:, None] * xs)[::-1], axis=0)[::-1], np.zeros((1, p))])
    dead = es == 1
    death_times, death_idx = np.unique(ts[dead], return_inverse=True)
    m = len(death_times)
    start = np.searchsorted(ts, death_times, side="left")
    s0, s1 = rev0[start], rev1[start]

    xd, rd = xs[dead], rs[dead]
    n_dead = np.bincount(death_idx, minlength=m)
    d0 = np.bincount(death_idx, weights=rd, minlength=m)
    d1 = np.zeros((m, p))
    np.add.at(d1, death_idx, rd[:, None] * xd)
    xsum = np.zeros((m, p))
    np.add.at(xsum, death_idx, xd)
    g_t = np.zeros(m)
    g_t[death_idx] = gs[dead]  # g is a function of time only, so equal within a tie

    # Efron: the j-th of d tied deaths (j = 0..d-1) sees the risk set minus j/d of the dying
    first_of_tie = np.concatenate([[0], np.cumsum(n_dead)[:-1]])
    frac = (np.arange(len(death_idx)) - first_of_tie[death_idx]) / n_dead[death_idx]
    denom = s0[death_idx] - frac * d0[death_idx]
    w1 = np.bincount(death_idx, weights=1 / denom, minlength=m)
    w2 = np.bincount(death_idx, weights=frac / denom, minlength=m)
    q0 = np.bincount(death_idx, weights=1 / denom**2, minlength=m)
    q1 = np.bincount(death_idx, weights=frac / denom**2, minlength=m)
    q2 = np.bincount(death_idx, weights=frac**2 / denom**2, minlength=m)

    resid = xsum - s1 * w1[:, None] + d1 * w2[:, None]  # summed Schoenfeld residuals per death time
    score_g = g_t @ resid

    # position of each row's time among the death times, to sum over the death times it is at risk for
    upto = np.searchsorted(death_times, ts, side="right")
    dead_time_of_row = death_idx

    def weighted_info(h: np.ndarray) -> np.ndarray:
        # sum_t h_t A_t with A_t = sum_j Var_j(x) over the Efron terms at time t
        cum = np.concatenate([[0.0], np.cumsum(h * w1)])
        second = (xs * (rs * cum[upto])[:, None]).T @ xs
        second -= (xd * (rd * (h * w2)[dead_time_of_row])[:, None]).T @ xd
        outer = (s1 * (h * q0)[:, None]).T @ s1
        cross = (s1 * (h * q1)[:, None]).T @ d1
        outer += -cross - cross.T + (d1 * (h * q2)[:, None]).T @ d1
        return second - outer

    ones = np.ones(m)
    i_bb, i_bg, i_gg = weighted_info(ones), weighted_info(g_t), weighted_info(g_t**2)
    info = np.block([[i_bb, i_bg], [i_bg.T, i_gg]])
    return score_g, info
