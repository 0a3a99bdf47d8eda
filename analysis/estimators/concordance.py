"""Harrell's concordance with R's infinitesimal-jackknife standard error.

lifelines gives the concordance but no standard error; R's coxph prints both. The IJ variance is
sum_i dfbeta_i^2 where dfbeta_i is the derivative of C with respect to the case weight of
observation i (R survival concordancefit). That needs, per observation, the number of concordant,
discordant and risk-tied comparable pairs it takes part in. Counting them pair by pair is O(n^2)
(10^10 pairs at 100k patients), so they are counted with a merge-sort style sweep in
O(n log^2 n) numpy operations.

Comparable pairs follow R: the earlier time must be an event; two events at the same time are not
comparable (tied.y); a censored time equal to an event time counts as the longer survivor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import json_float

#: Risk scores with at most this many distinct values are counted per value (see _earlier_counts_few).
FEW_LEVELS = 8


def concordance(durations: np.ndarray, events: np.ndarray, risk_score: np.ndarray) -> dict[str, Any]:
    """Harrell's C for a risk score (higher = shorter survival) with R's IJ standard error."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    _, risk_rank = np.unique(np.asarray(risk_score, dtype=float), return_inverse=True)
    _, time_rank = np.unique(t, return_inverse=True)
    # an observation "outlives" event i if its key is above i's threshold: later time, or same time
    # and censored
    key = 2 * time_rank + (1 - e)
    threshold = 2 * time_rank
    is_event = e == 1

    as_event = _count_pairs(key, threshold, risk_rank, is_event, role="event")
    as_partner = _count_pairs(key, threshold, risk_rank, is_event, role="partner")
    conc = as_event[0] + as_partner[0]
    disc = as_event[1] + as_partner[1]
    tied = as_event[2] + as_partner[2]
    n_conc, n_disc, n_tied = as_event[0].sum(), as_event[1].sum(), as_event[2].sum()
    n_pairs = n_conc + n_disc + n_tied
    if n_pairs == 0:
        raise ValueError("concordance is undefined: no comparable pairs (no event before another time)")
    somers_d = (n_conc - n_disc) / n_pairs
    dfbeta = ((conc - disc) - (conc + disc + tied) * somers_d) / (2 * n_pairs)
    return {
        "c": json_float((somers_d + 1) / 2),
        "se": json_float(np.sqrt(np.sum(dfbeta**2))),
        "concordant": int(n_conc),
        "discordant": int(n_disc),
        "tied_risk": int(n_tied),
        "method": "Harrell's C; infinitesimal-jackknife SE as R survival concordance",
    }


def _count_pairs(
    key: np.ndarray, threshold: np.ndarray, risk: np.ndarray, is_event: np.ndarray, *, role: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concordant, discordant and risk-tied comparable pairs per observation in one role.

    role "event": observation i is the event, partners are all j with key_j > threshold_i.
    role "partner": observation j is the longer survivor, partners are events i with
    threshold_i < key_j.
    """
    n = len(key)
    events = np.flatnonzero(is_event)
    # one sequence of items: n "data" items (keyed by key) and one "query" item per event (keyed by
    # threshold); for each target, count sources that come earlier in the sequence
    values = np.concatenate([key, threshold[events]])
    owner = np.concatenate([np.arange(n), events])
    is_query = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(events), dtype=bool)])
    if role == "event":
        # descending value; queries before data at equal value so only strictly larger keys count
        order = np.lexsort((~is_query, -values))
        source, target = ~is_query[order], is_query[order]
    else:
        # ascending value; data before queries at equal value so only strictly smaller thresholds count
        order = np.lexsort((is_query, values))
        source, target = is_query[order], ~is_query[order]
    ranks = risk[owner[order]]
    levels = int(risk.max()) + 1 if len(risk) else 1
    counter = _earlier_counts_few if levels <= FEW_LEVELS else _earlier_counts
    less, equal, total = counter(ranks, source, target)
    greater = total - less - equal
    conc = np.zeros(n)
    disc = np.zeros(n)
    tied = np.zeros(n)
    who = owner[order][target]
    if role == "event":
        # the event has the higher risk than a longer survivor: concordant
        conc[who], disc[who] = less[target], greater[target]
    else:
        conc[who], disc[who] = greater[target], less[target]
    tied[who] = equal[target]
    return conc, disc, tied


def _earlier_counts_few(
    ranks: np.ndarray, source: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_earlier_counts`` for a risk score with few distinct values (a binary or categorical covariate in a
    univariable model): running counts of sources per rank, O(n k) instead of O(n log^2 n)."""
    size = len(ranks)
    levels = int(ranks.max()) + 1 if size else 1
    ranks = ranks.astype(np.int64)
    per_rank = np.zeros((size, levels), dtype=np.int64)
    where = np.flatnonzero(source)
    per_rank[where, ranks[where]] = 1
    seen = np.cumsum(per_rank, axis=0) - per_rank  # sources strictly before each position, per rank
    at_or_below = np.cumsum(seen, axis=1)
    rows = np.arange(size)
    equal = seen[rows, ranks]
    less = at_or_below[rows, ranks] - equal
    total = np.cumsum(source) - source
    return less, equal, total


def _earlier_counts(
    ranks: np.ndarray, source: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each position, the number of earlier source items with a smaller / equal rank, and in total.

    Bottom-up merge sort: at block size 2s every (earlier, later) pair is split between the left and
    right half of exactly one block, so each level counts left-half sources for right-half targets
    with one global searchsorted (blocks kept apart by an offset of block * (max rank + 1)).
    """
    size = len(ranks)
    idx = np.arange(size)
    span = int(ranks.max()) + 1 if size else 1
    less = np.zeros(size, dtype=np.int64)
    equal = np.zeros(size, dtype=np.int64)
    ranks = ranks.astype(np.int64)
    width = 1
    while width < size:
        block = idx // (2 * width)
        right = (idx % (2 * width)) >= width
        src = source & ~right
        keys = np.sort(block[src] * span + ranks[src])
        # where each block's sources start in the sorted keys
        block_start = np.concatenate([[0], np.cumsum(np.bincount(block[src], minlength=block[-1] + 1))])
        tgt = target & right
        own = block[tgt] * span + ranks[tgt]
        lo = np.searchsorted(keys, own, side="left")
        less[tgt] += lo - block_start[block[tgt]]
        equal[tgt] += np.searchsorted(keys, own, side="right") - lo
        width *= 2
    total = np.cumsum(source) - source
    return less, equal, total
