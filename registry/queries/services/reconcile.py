"""Automatic queries follow the edit checks: a warning (or an error left in stored data) opens a query; when
the check stops firing the query closes itself; when it fires again the query reopens (a regression). The
same code serves the save path (one patient, stored findings) and the nightly re-check (a batch).

Every function here runs a fixed number of queries per call, whatever the number of patients or findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.crfs.models import EditCheckFinding, FindingSeverity
from registry.patients.models import Patient
from registry.queries.models import DataQuery, MessageKind, QueryMessage, QueryOrigin, QueryStatus

#: Severities that open a query. Errors block new saves, but one already stored (entered before a rule
#: existed, or a date rule that starts failing as time passes) needs a query even more than a warning.
QUERY_SEVERITIES = frozenset({FindingSeverity.WARNING, FindingSeverity.ERROR})
#: The overdue-follow-up check (DOMAIN.md §5 EC32).
OVERDUE_RULE = "EC32"


@dataclass(frozen=True)
class Hit:
    """One edit-check finding that should have an open query."""

    form: str
    object_id: int | None
    rule: str
    field: str
    message: str

    @property
    def key(self) -> tuple:
        return (self.form, self.object_id, self.rule, self.field)


@dataclass
class ReconcileResult:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)

    def merge(self, other: ReconcileResult) -> None:
        self.opened += other.opened
        self.closed += other.closed
        self.reopened += other.reopened

    def as_dict(self) -> dict:
        return {"opened": len(self.opened), "closed": len(self.closed), "reopened": len(self.reopened)}


def hits_from_findings(findings: Iterable[EditCheckFinding]) -> dict[int, list[Hit]]:
    """Stored findings that should carry a query, by patient id."""
    hits: dict[int, list[Hit]] = defaultdict(list)
    for f in findings:
        if f.severity in QUERY_SEVERITIES:
            hits[f.patient_id].append(Hit(f.form, f.object_id, f.rule, f.field, f.message))
    return hits


def _wanted(patient: Patient, hits: list[Hit], rules: set[str] | None) -> dict[tuple, Hit]:
    wanted = {}
    for hit in hits:
        if rules is not None and hit.rule not in rules:
            continue
        # A withdrawn patient is no longer followed up: an overdue visit is not a data problem.
        if hit.rule == OVERDUE_RULE and patient.withdrawn:
            continue
        wanted.setdefault(hit.key, hit)
    return wanted


def reconcile_hits(patients: list[Patient], hits: dict[int, list[Hit]], *,
                   rules: set[str] | None = None) -> ReconcileResult:
    """Make the automatic queries of `patients` match `hits` (only rules in `rules`, when given)."""
    result = ReconcileResult()
    if not patients:
        return result
    now = timezone.now()
    existing_qs = DataQuery.objects.filter(origin=QueryOrigin.AUTO, patient_id__in=[p.pk for p in patients])
    if rules is not None:
        existing_qs = existing_qs.filter(rule__in=sorted(rules))
    existing = {(q.patient_id, q.form_family, q.object_id, q.rule, q.field): q for q in existing_qs}
    fresh: list[DataQuery] = []
    changed: list[DataQuery] = []
    messages: list[QueryMessage] = []
    wanted_keys = set()
    for patient in patients:
        for key, hit in _wanted(patient, hits.get(patient.pk, []), rules).items():
            full_key = (patient.pk, *key)
            wanted_keys.add(full_key)
            query = existing.get(full_key)
            if query is None:
                fresh.append(DataQuery(patient=patient, form_family=hit.form, object_id=hit.object_id,
                                       field=hit.field, origin=QueryOrigin.AUTO, rule=hit.rule, text=hit.message,
                                       status=QueryStatus.OPEN, finding_active=True, created_at=now, updated_at=now))
            elif not query.finding_active:
                query.finding_active, query.updated_at = True, now
                if query.status == QueryStatus.CLOSED:
                    query.status, query.closed_at, query.closed_by = QueryStatus.OPEN, None, None
                    query.response_reason, query.reopen_count = "", query.reopen_count + 1
                    messages.append(QueryMessage(query=query, kind=MessageKind.REOPEN, created_at=now,
                                                 updated_at=now,
                                                 text=f"Reopened automatically: the edit check fires again "
                                                      f"(regression). {hit.message}"))
                    result.reopened.append(query.pk)
                changed.append(query)
    for full_key, query in existing.items():
        if full_key in wanted_keys or not query.finding_active:
            continue
        query.finding_active, query.updated_at = False, now
        if query.status != QueryStatus.CLOSED:
            query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, now, None
            messages.append(QueryMessage(query=query, kind=MessageKind.CLOSE, created_at=now, updated_at=now,
                                         text="Closed automatically: the edit check no longer fires "
                                              "(the value was corrected)."))
            result.closed.append(query.pk)
        changed.append(query)
    with audit_context(action="queries.reconcile"):
        if fresh:
            DataQuery.objects.bulk_create(fresh)
            messages += [QueryMessage(query=q, kind=MessageKind.SYSTEM, created_at=now, updated_at=now,
                                      text=f"Raised automatically by edit check {q.rule}: {q.text}") for q in fresh]
            result.opened += [q.pk for q in fresh]
        if changed:
            DataQuery.objects.bulk_update(changed, ["finding_active", "status", "closed_at", "closed_by",
                                                    "response_reason", "reopen_count", "updated_at"])
        if messages:
            QueryMessage.objects.bulk_create(messages)
    return result


@transaction.atomic
def queries_reconcile_patient(patient: Patient, *, recheck: bool = False,
                              rules: set[str] | None = None) -> ReconcileResult:
    """Open, close or reopen the patient's automatic queries from the current edit-check findings.

    After a CRF save the stored findings are current (the save refreshed them); with `recheck` the edit checks
    run again first (date-dependent rules such as the overdue follow-up change with time alone)."""
    # The same lock the CRF services take first: saves and reconciles of one patient run one at a time.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if recheck:
        from registry.crfs.casebook import load_records
        from registry.crfs.services.checks import refresh_patient

        refresh_patient(load_records(patient))
    findings = EditCheckFinding.objects.filter(patient=patient)
    return reconcile_hits([patient], hits_from_findings(findings), rules=rules)
