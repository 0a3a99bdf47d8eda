"""The clinical course of one synthetic patient, in days from the start of line 1 (or from diagnosis when
untreated): survival draws, the response-evaluation schedule, treatment lines, follow-up. Pure; no Django.

The calibration (calibrate.py) runs exactly this code, so the constants it finds hold for the cohort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from registry.crfs.demo import model as m


@dataclass
class Line:
    number: int
    regimen: str
    start: int  # day
    planned_cycles: int
    evaluations: list[tuple[int, str]] = field(default_factory=list)  # (day, "PD" | "non_PD")
    end: int | None = None
    reason_stopped: str = ""
    n_cycles: int = 1


@dataclass
class Course:
    """What happened, as far as the registry can know by the data cut-off (days from the origin)."""

    horizon: int  # days from the origin to the data cut-off
    death: int | None  # observed death (on or before the cut-off and before any loss to follow-up)
    last_contact: int  # last date known alive (for the living) — after every recorded event
    lost: bool
    lines: list[Line] = field(default_factory=list)
    alive_visits: list[int] = field(default_factory=list)


def ndtr(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def weibull_time(u: float, scale: float, shape: float, lp: float) -> float:
    """The time t with S(t | x) = u under S(t) = exp(-(t / scale)^shape · exp(lp))."""
    return scale * (-math.log(u) / math.exp(lp)) ** (1.0 / shape)


def linear_predictor(log_hr: dict[str, float], terms: tuple[str, ...], x: dict) -> float:
    """x'β for the terms that apply in the group (PS is expanded to its categories)."""
    lp = 0.0
    for term in terms:
        if term == "ps":
            ps = x["ps"]
            lp += log_hr["ps1"] * (ps == 1) + log_hr["ps2"] * (ps == 2) + log_hr["ps34"] * (ps >= 3)
        elif term == "age10":
            lp += log_hr["age10"] * (x["age"] - 65.0) / 10.0
        else:
            lp += log_hr[term] * float(x[term])
    return lp


def _scan_gap(rng: np.random.Generator, day: int, on_treatment: bool) -> int:
    """Days to the next CT: every 6–9 weeks on treatment, 8–12 weeks after it, 12–18 weeks after a year."""
    if on_treatment:
        return int(rng.integers(42, 64))
    if day < 365:
        return int(rng.integers(56, 85))
    return int(rng.integers(84, 127))


def _run_line(rng: np.random.Generator, line: Line, progression: float, death: float, obs_end: int) -> int | None:
    """Fill the line's evaluations, end and cycles; return the day progression was found (None if not)."""
    cycle_len, _ = m.CYCLES[line.regimen]
    completion = line.start + cycle_len * line.planned_cycles
    # 8 % stop early for toxicity after 1–3 cycles (scans go on, the line's PFS still counts).
    toxicity = line.start + cycle_len * int(rng.integers(1, 4)) if rng.random() < 0.08 else None
    stop_treatment = min(completion, toxicity) if toxicity is not None else completion
    day, found = line.start, None
    while True:
        day += _scan_gap(rng, day - line.start, day < stop_treatment)
        if day >= death or day > obs_end:
            break
        if progression <= day:
            line.evaluations.append((day, "PD"))
            found = day
            break
        line.evaluations.append((day, "non_PD"))
    candidates = [(stop_treatment, "toxicity" if stop_treatment == toxicity else "completed_planned")]
    if found is not None:
        candidates.append((found, "progression"))
    if death <= obs_end:
        candidates.append((int(death), "death"))
    end, reason = min(candidates)
    if end > obs_end or (reason != "death" and end >= death):
        line.end, line.reason_stopped = None, ""
        elapsed = min(obs_end, int(death)) - line.start
    else:
        line.end, line.reason_stopped = end, reason
        elapsed = end - line.start
    line.n_cycles = max(1, min(line.planned_cycles, math.ceil(max(elapsed, 1) / cycle_len)))
    return found


def treated_course(rng: np.random.Generator, gm: m.GroupModel, group: str, x: dict, regimen: str,
                   horizon: int, *, second_line_regimen) -> Course:
    """Survival draws (Gaussian copula of OS and progression), line 1, maybe line 2, follow-up contacts."""
    z_os, z_other = rng.standard_normal(2)
    rho = m.OS_PFS_CORRELATION
    z_prog = rho * z_os + math.sqrt(1 - rho * rho) * z_other
    lp_os = linear_predictor(m.OS_LOG_HR, m.OS_TERMS[group], x)
    lp_pfs = linear_predictor(m.PFS_LOG_HR, m.PFS_TERMS[group], x)
    death = max(1.0, math.ceil(weibull_time(ndtr(z_os), gm.os_scale, gm.os_shape, lp_os)))
    progression = max(1.0, weibull_time(ndtr(z_prog), gm.pfs_scale, gm.pfs_shape, lp_pfs))
    lost_day = int(rng.integers(60, horizon)) if rng.random() < m.LOST_TO_FOLLOW_UP and horizon > 61 else None
    obs_end = horizon if lost_day is None else lost_day

    cycle_len, max_cycles = m.CYCLES[regimen]
    planned = int(rng.choice([4, 6], p=[0.3, 0.7])) if regimen in m.PLATINUM_ETOPOSIDE else max_cycles
    line1 = Line(1, regimen, 0, planned)
    found = _run_line(rng, line1, progression, death, obs_end)
    lines = [line1]
    if found is not None and death > found + 35 and rng.random() < gm.second_line:
        start = found + int(rng.integers(14, 36))
        if start <= obs_end:
            code = second_line_regimen(line1_regimen=regimen, pfs_days=found)
            _, max2 = m.CYCLES[code]
            line2 = Line(2, code, start, 4 if code in m.PLATINUM_ETOPOSIDE else max2)
            median = m.SECOND_LINE_PFS_MEDIAN[group]
            progression2 = start + max(1.0, rng.exponential(median / math.log(2)))
            _run_line(rng, line2, progression2, death, obs_end)
            lines.append(line2)

    observed_death = int(death) if death <= obs_end else None
    events = [d for line in lines for d in (line.start, line.end, *(e for e, _ in line.evaluations))
              if d is not None]
    last_event = max(events)
    if observed_death is not None:
        last_contact = observed_death
    elif lost_day is not None:
        last_contact = max(lost_day, last_event)
    else:
        last_contact = min(horizon, max(horizon - int(rng.integers(0, 29)), last_event))
    stop = observed_death if observed_death is not None else last_contact
    alive_visits = [d for d in range(182, stop - 30, 182)][:2]
    return Course(horizon=horizon, death=observed_death, last_contact=last_contact, lost=lost_day is not None,
                  lines=lines, alive_visits=alive_visits)


def untreated_course(rng: np.random.Generator, x: dict, horizon: int) -> Course:
    """Best supportive care: survival from diagnosis (median ~1.5 months), PS the main driver."""
    lp = linear_predictor(m.OS_LOG_HR, ("ps", "age10"), x) - m.OS_LOG_HR["ps34"]
    scale = m.UNTREATED_OS_MEDIAN_DAYS / math.log(2)
    death = max(12, int(math.ceil(rng.exponential(scale) / math.exp(lp))))
    if death <= horizon:
        return Course(horizon=horizon, death=death, last_contact=death, lost=False)
    return Course(horizon=horizon, death=None, last_contact=horizon - int(rng.integers(0, 29)), lost=False,
                  alive_visits=[182])


def endpoints(course: Course) -> dict:
    """OS, PFS (line 1) and immediate progression by the rules of analysis/datasets.py (DOMAIN.md §6.2–6.3)."""
    os_days, os_event = (course.death, 1) if course.death is not None else (course.last_contact, 0)
    line1 = course.lines[0] if course.lines else None
    evals = line1.evaluations if line1 else []
    pd_day = next((d for d, r in evals if r == "PD"), None)
    if pd_day is not None:
        pfs = (pd_day, 1)
    elif course.death is not None:
        pfs = (course.death, 1)
    else:
        pfs = (max((d for d, _ in evals), default=0), 0)
    # Immediate progression, both denominators of DOMAIN.md §6.3: (a) among patients with an evaluation,
    # the first is PD; (b) among all treated, the same or death before any evaluation.
    first_is_pd = None if not evals else int(evals[0][1] == "PD")
    return {"os_days": os_days, "os_event": os_event, "pfs_days": pfs[0], "pfs_event": pfs[1],
            "immediate_pd": first_is_pd,
            "immediate_pd_treated": first_is_pd if evals else int(course.death is not None)}
