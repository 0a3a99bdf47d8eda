"""The query lifecycle: open → answered → closed, reopen; only monitors and data managers raise manual
queries, close and reopen; the site answers with a structured reason (REDCap Data Resolution Workflow,
clinicedc DataQuery: "only the data manager closes")."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.crfs import services as crfs_services
from registry.queries.access import QUERY_ANSWERERS, QUERY_MANAGERS, QUERY_READERS
from registry.queries.models import (
    DataQuery,
    MessageKind,
    QueryMessage,
    QueryOrigin,
    QueryStatus,
    ResponseReason,
)
from registry.queries.targets import check_field, form_for, form_or_404
from registry.sites.scoping import has_role


def _require(user, roles, site_id: int, action: str) -> None:
    if not has_role(user, roles, site_id):
        raise PermissionDenied(f"Your role at this site does not allow you to {action}.", rule="role")


def _text(text: str | None, *, field: str = "text", what: str = "A message") -> str:
    if text is None or not text.strip():
        raise ValidationFailed(f"{what} is required.", field=field, rule="required")
    return text.strip()


def _locked(query: DataQuery) -> DataQuery:
    return DataQuery.objects.select_for_update().select_related("patient").get(pk=query.pk)


def _message(query: DataQuery, *, user, kind: str, text: str = "", reason: str = "") -> QueryMessage:
    return QueryMessage.objects.create(query=query, author=user, kind=kind, text=text, response_reason=reason)


@transaction.atomic
def query_raise(*, patient, family_code: str, object_id: int | None, field: str, text: str, user,
                assigned_to=None) -> DataQuery:
    """A monitor or data manager asks the site about a field (or a whole form) of a form instance."""
    _require(user, QUERY_MANAGERS, patient.site_id, "raise queries")
    check_field(family_code, field or "")
    text = _text(text, what="The question")
    form = form_or_404(patient, family_code, object_id)
    with audit_context(user=user.pk, action="query.raise"):
        query = DataQuery.objects.create(
            patient=patient, form_family=family_code, object_id=form.pk, field=field or "",
            origin=QueryOrigin.MANUAL, text=text, raised_by=user, assigned_to=assigned_to)
        _message(query, user=user, kind=MessageKind.QUESTION, text=text)
    return query


@transaction.atomic
def query_answer(query: DataQuery, *, user, text: str, reason: str) -> DataQuery:
    """Open → answered: the site says what it did (corrected / confirmed as is / not available)."""
    current = _locked(query)
    _require(user, QUERY_ANSWERERS, current.patient.site_id, "answer queries")
    if reason not in ResponseReason.values:
        raise ValidationFailed("Choose a response reason.", field="reason", rule="choice")
    text = _text(text, what="An answer")
    if current.status != QueryStatus.OPEN:
        raise Conflict(f"Only an open query can be answered; this one is {current.status}.", rule="workflow")
    now = timezone.now()
    current.status, current.response_reason = QueryStatus.ANSWERED, reason
    current.answered_at, current.answered_by = now, user
    current.first_answered_at = current.first_answered_at or now
    with audit_context(user=user.pk, action="query.answer", reason=text):
        current.save()
        _message(current, user=user, kind=MessageKind.ANSWER, text=text, reason=reason)
    return current


@transaction.atomic
def query_close(query: DataQuery, *, user, text: str = "") -> DataQuery:
    """Open or answered → closed; monitors and data managers only."""
    current = _locked(query)
    _require(user, QUERY_MANAGERS, current.patient.site_id, "close queries")
    if current.status == QueryStatus.CLOSED:
        raise Conflict("This query is already closed.", rule="workflow")
    current.status, current.closed_at, current.closed_by = QueryStatus.CLOSED, timezone.now(), user
    with audit_context(user=user.pk, action="query.close", reason=text.strip() if text else None):
        current.save()
        _message(current, user=user, kind=MessageKind.CLOSE, text=(text or "").strip())
    return current


@transaction.atomic
def query_reopen(query: DataQuery, *, user, text: str) -> DataQuery:
    """Answered or closed → open (the answer did not resolve it); monitors and data managers, with a why."""
    current = _locked(query)
    _require(user, QUERY_MANAGERS, current.patient.site_id, "reopen queries")
    text = _text(text, what="A reason for reopening")
    if current.status == QueryStatus.OPEN:
        raise Conflict("This query is already open.", rule="workflow")
    current.status, current.closed_at, current.closed_by = QueryStatus.OPEN, None, None
    current.response_reason, current.reopen_count = "", current.reopen_count + 1
    with audit_context(user=user.pk, action="query.reopen", reason=text):
        current.save()
        _message(current, user=user, kind=MessageKind.REOPEN, text=text)
    return current


@transaction.atomic
def query_comment(query: DataQuery, *, user, text: str) -> QueryMessage:
    """Add to the thread without changing the status (site staff, monitors, data managers)."""
    current = _locked(query)
    _require(user, QUERY_READERS, current.patient.site_id, "comment on queries")
    text = _text(text)
    if current.status == QueryStatus.CLOSED:
        raise Conflict("The query is closed; reopen it to continue the discussion.", rule="workflow")
    with audit_context(user=user.pk, action="query.comment"):
        message = _message(current, user=user, kind=MessageKind.COMMENT, text=text)
        current.save(update_fields=["updated_at"])
    return message


def query_correct(query: DataQuery, *, user, value: Any, expected_version: int, text: str) -> DataQuery:
    """Correct the queried value through the CRF services (version check, reason for change, edit checks,
    locks) and answer the query as "corrected" in one step."""
    if not query.field:
        raise ValidationFailed("This query is about the whole form; correct it on the form.", field="value",
                               rule="no_field")
    text = _text(text, what="An answer")
    with transaction.atomic():
        _require(user, QUERY_ANSWERERS, query.patient.site_id, "answer queries")
        if query.status != QueryStatus.OPEN:
            raise Conflict(f"Only an open query can be answered; this one is {query.status}.", rule="workflow")
        form = form_for(query.patient, query.form_family, query.object_id)
        if form is None:
            raise Conflict("The queried form no longer exists.", rule="missing_form")
        crfs_services.form_update(form, data={query.field: value}, user=user, expected_version=expected_version,
                                  reason=f"Query Q{query.pk}: {text}")
        return query_answer(query, user=user, text=text, reason=ResponseReason.CORRECTED)
