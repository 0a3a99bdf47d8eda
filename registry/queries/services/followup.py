"""Overdue follow-up (DOMAIN.md §5 EC32): a living, not withdrawn patient with no contact within the study's
interval (settings.REGISTRY_FOLLOW_UP_INTERVAL_DAYS) gets an automatic query; a patient seen since gets it
closed. The candidates are picked in SQL; the rule itself runs through the same edit check as every save."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from registry.crfs.models import Enrolment, FollowUp
from registry.patients.models import Patient
from registry.queries.models import DataQuery, QueryOrigin, QueryStatus
from registry.queries.services.recheck import BATCH_SIZE, recheck_batch
from registry.queries.services.reconcile import OVERDUE_RULE


def _latest(model, field: str):
    return Subquery(model.objects.filter(patient_id=OuterRef("pk")).values("patient_id")
                    .annotate(latest=Max(field)).values("latest")[:1])


def overdue_candidates(*, today: date | None = None) -> list[int]:
    """Patients whose last contact is older than the interval, plus those with an unresolved overdue query."""
    today = today or timezone.localdate()
    cutoff = today - timedelta(days=settings.REGISTRY_FOLLOW_UP_INTERVAL_DAYS)
    dead = FollowUp.objects.filter(patient_id=OuterRef("pk"), vital_status="dead")
    open_query = DataQuery.objects.filter(patient_id=OuterRef("pk"), origin=QueryOrigin.AUTO, rule=OVERDUE_RULE,
                                          status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED])
    patients = Patient.objects.annotate(
        last_contact=Greatest(_latest(FollowUp, "visit_date"), _latest(FollowUp, "date_last_known_alive"),
                              _latest(Enrolment, "registration_date")),
    ).filter(Q(last_contact__lt=cutoff, withdrawn=False) & ~Exists(dead) | Exists(open_query))
    return list(patients.order_by("pk").values_list("pk", flat=True))


def overdue_followup_sweep(*, today: date | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """Open (or close) the overdue-follow-up queries; returns counts."""
    ids = overdue_candidates(today=today)
    totals = {"candidates": len(ids), "opened": 0, "closed": 0, "reopened": 0}
    for start in range(0, len(ids), batch_size):
        result = recheck_batch(ids[start:start + batch_size], today=today, rules={OVERDUE_RULE})
        for key in ("opened", "closed", "reopened"):
            totals[key] += result[key]
    return totals
