"""Demo data-quality content on the demo cohort: automatic queries from the edit checks (the nightly re-check
run once), and manual and automatic queries in every state (open, answered, closed). Idempotent: queries are
found by their demo text before anything is created or moved on."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from registry.crfs.catalogue import family_of
from registry.crfs.models import Baseline, Enrolment, LocalPathology
from registry.patients.models import Patient
from registry.queries import services
from registry.queries.models import DataQuery, MessageKind, QueryOrigin, QueryStatus

SITE = "OUS"
MONITOR, COORDINATOR = "monitor.nordic", "coordinator.ous"
#: (form model, field, question, target state)
MANUAL = (
    (Baseline, "weight_kg", "Demo: weight differs from the admission note (72 kg?). Please check.", "open"),
    (LocalPathology, "ki67_percent", "Demo: the pathology report gives Ki-67 as a range; which value was "
                                     "entered?", "answered"),
    (Enrolment, "registration_date", "Demo: registration date after the consent date by several weeks; "
                                     "please confirm.", "closed"),
)
AUTO_ANSWER = "Demo: value checked against the chart; it is correct."


def _users():
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[MONITOR, COORDINATOR])}
    return users.get(MONITOR), users.get(COORDINATOR)


def _manual(monitor, coordinator) -> int:
    patients = list(Patient.objects.filter(site__code=SITE).order_by("sequence_number")[:10])
    done = 0
    for index, (model, field, text, state) in enumerate(MANUAL):
        form = model.objects.filter(patient__in=patients).order_by("patient__sequence_number", "pk")[index:index + 1]
        form = form[0] if form else None
        if form is None:
            continue
        query = DataQuery.objects.filter(origin=QueryOrigin.MANUAL, text=text).first()
        if query is None:
            query = services.query_raise(patient=form.patient, family_code=family_of(form).code, object_id=form.pk,
                                         field=field, text=text, user=monitor)
            done += 1
        if state in ("answered", "closed") and query.status == QueryStatus.OPEN:
            query = services.query_answer(query, user=coordinator, reason="confirmed_as_is",
                                          text="Demo: checked against the source document; the value is correct.")
        if state == "closed" and query.status == QueryStatus.ANSWERED:
            services.query_close(query, user=monitor, text="Demo: accepted.")
    return done


def _auto(monitor, coordinator) -> None:
    if DataQuery.objects.filter(origin=QueryOrigin.AUTO, messages__kind=MessageKind.ANSWER,
                                messages__text=AUTO_ANSWER).exists():
        return
    candidates = list(DataQuery.objects.filter(origin=QueryOrigin.AUTO, status=QueryStatus.OPEN,
                                               patient__site__code=SITE).order_by("pk")[:2])
    for position, query in enumerate(candidates):
        query = services.query_answer(query, user=coordinator, reason="confirmed_as_is", text=AUTO_ANSWER)
        if position == 1:
            services.query_close(query, user=monitor, text="Demo: accepted as is.")


def load_queries_demo(stdout) -> None:
    """Automatic queries from the edit checks, plus demo queries in each state at the OUS site."""
    totals = services.recheck_all()
    monitor, coordinator = _users()
    created = 0
    if monitor is not None and coordinator is not None:
        created = _manual(monitor, coordinator)
        _auto(monitor, coordinator)
    counts = {s: DataQuery.objects.filter(status=s).count() for s in QueryStatus.values}
    stdout.write(f"Queries: {totals.get('opened', 0)} automatic opened by the edit checks, {created} manual "
                 f"created; now open {counts['open']}, answered {counts['answered']}, closed {counts['closed']}.")
