"""Edit checks on F8 follow-up, vital status and endpoint dates (DOMAIN.md §5 items 10, 11, 13, 31, 32)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from registry.crfs.validation.base import (
    CaseBook,
    DatedField,
    DateSpan,
    Finding,
    Rule,
    Severity,
    date_span,
    definitely_before,
    finding,
    iter_dates,
    rows,
)

#: Clinical event dates that cannot follow death (registration, consent and central review legitimately can:
#: a population-based registry registers and reviews cases retrospectively).
EVENT_FIELDS = frozenset(
    {
        ("enrolment", "date_of_diagnosis"),
        ("baseline", "ps_assessment_date"),
        ("tumour", "advanced_disease_date"),
        ("pathology", "specimen_date"),
        ("labs", "sample_date"),
        ("treatment", "start_date"),
        ("treatment", "end_date"),
        ("treatment", "date_progression"),
        ("treatment", "date"),
        ("response", "eval_date"),
        ("followup", "visit_date"),
    }
)
#: Dates the analyses use as time origins, events or censoring times; partial ones are queried (EC13).
ENDPOINT_FIELDS = frozenset(
    {
        ("enrolment", "date_of_diagnosis"),
        ("tumour", "advanced_disease_date"),
        ("treatment", "start_date"),
        ("treatment", "date_progression"),
        ("response", "eval_date"),
        ("followup", "date_last_known_alive"),
        ("followup", "date_of_death"),
    }
)


def _visit_order(visit: Mapping) -> tuple:
    span = date_span(visit, "visit_date")
    return (0, span.earliest) if span is not None else (1,)


def death_date(cb: CaseBook) -> DateSpan | None:
    """The patient's date of death from the most recent follow-up that records one."""
    recorded = [v for v in rows(cb.followups) if date_span(v, "date_of_death") is not None]
    if not recorded:
        return None
    latest = sorted(recorded, key=_visit_order)[-1]
    return date_span(latest, "date_of_death")


def _may_follow_death(dated: DatedField) -> bool:
    """A post-mortem lab or a population-registry record may be dated after death (flagged, not blocked)."""
    if dated.form == "labs" and dated.record.get("post_mortem") is True:
        return True
    return dated.record.get("source_of_vital_status") == "population_registry"


def ec10_nothing_after_death(cb: CaseBook) -> Iterator[Finding]:
    """EC10 E: date_of_death ≥ every other event date; post-mortem lab or registry record only flagged (W)."""
    died = death_date(cb)
    if died is None:
        return
    for dated in iter_dates(cb):
        if (dated.form, dated.field) not in EVENT_FIELDS or not definitely_before(died, dated.span):
            continue
        if dated.form == "followup" and dated.record.get("vital_status") == "dead":
            continue  # the visit that records the death is not a contact with the living patient
        flagged = _may_follow_death(dated)
        yield finding(
            "EC10",
            Severity.WARNING if flagged else Severity.ERROR,
            dated.form,
            dated.field,
            f"{dated.field} ({dated.span}) is after date_of_death ({died})"
            + ("; post-mortem or registry-sourced record, please confirm" if flagged else ""),
            dated.row,
        )


def ec11_last_known_alive(cb: CaseBook) -> Iterator[Finding]:
    """EC11 E: date_last_known_alive ≤ data_cutoff_date; for a dead patient, last known alive ≤ death date."""
    died = death_date(cb)
    cutoff = cb.data_cutoff_date
    for visit in rows(cb.followups):
        alive = date_span(visit, "date_last_known_alive")
        if alive is None:
            continue
        if cutoff is not None and alive.earliest > cutoff:
            yield finding(
                "EC11",
                Severity.ERROR,
                "followup",
                "date_last_known_alive",
                f"date_last_known_alive ({alive}) must be on or before data_cutoff_date ({cutoff})",
                visit.get("id"),
            )
        if died is not None and definitely_before(died, alive):
            yield finding(
                "EC11",
                Severity.ERROR,
                "followup",
                "date_last_known_alive",
                f"date_last_known_alive ({alive}) must be on or before date_of_death ({died})",
                visit.get("id"),
            )


def ec13_partial_endpoint_dates(cb: CaseBook) -> Iterator[Finding]:
    """EC13 W: partial dates (month/year precision) on an endpoint date → query to complete."""
    for dated in iter_dates(cb):
        if dated.span.is_partial and (dated.form, dated.field) in ENDPOINT_FIELDS:
            yield finding(
                "EC13",
                Severity.WARNING,
                dated.form,
                dated.field,
                f"{dated.field} is known only to the {dated.span.precision} ({dated.span}); "
                "please complete it",
                dated.row,
            )


def ec31_death_documented(cb: CaseBook) -> Iterator[Finding]:
    """EC31 E: vital_status = dead requires date_of_death and cause_of_death."""
    for visit in rows(cb.followups):
        if visit.get("vital_status") != "dead":
            continue
        for field in ("date_of_death", "cause_of_death"):
            if visit.get(field) is None:
                yield finding(
                    "EC31",
                    Severity.ERROR,
                    "followup",
                    field,
                    f"{field} is required when vital_status = dead",
                    visit.get("id"),
                )


def ec32_followup_overdue(cb: CaseBook) -> Iterator[Finding]:
    """EC32 W: no follow-up contact for > 6 months with vital status "alive" → overdue-follow-up query."""
    visits = rows(cb.followups)
    if any(v.get("vital_status") == "dead" for v in visits):
        return
    latest = sorted(visits, key=_visit_order)[-1] if visits else None
    if latest is not None and latest.get("vital_status") not in (None, "alive"):
        return
    contacts = [
        span
        for v in visits
        for field in ("visit_date", "date_last_known_alive")
        if (span := date_span(v, field)) is not None
    ]
    if not contacts:
        registered = date_span(cb.enrolment, "registration_date")
        contacts = [] if registered is None else [registered]
    if not contacts:
        return
    last = max(span.latest for span in contacts)
    silent = (cb.today - last).days
    if silent > cb.followup_interval_days:
        yield finding(
            "EC32",
            Severity.WARNING,
            "followup",
            "visit_date",
            f"follow-up overdue: no visit_date or date_last_known_alive for {silent} days "
            f"(last contact {last}; "
            f"expected every {cb.followup_interval_days} days)",
            None if latest is None else latest.get("id"),
        )


RULES = (
    Rule(
        "EC10",
        "E/W",
        ("followup", "enrolment", "baseline", "tumour", "pathology", "labs", "treatment", "response"),
        "Nothing happens after death",
        ec10_nothing_after_death,
    ),
    Rule(
        "EC11", "E", ("followup",), "Last known alive within cut-off and before death", ec11_last_known_alive
    ),
    Rule(
        "EC13",
        "W",
        ("enrolment", "tumour", "treatment", "response", "followup"),
        "Endpoint dates complete",
        ec13_partial_endpoint_dates,
    ),
    Rule("EC31", "E", ("followup",), "Death has a date and a cause", ec31_death_documented),
    Rule("EC32", "W", ("followup", "enrolment"), "Follow-up not overdue", ec32_followup_overdue),
)
