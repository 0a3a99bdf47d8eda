"""Reads of the data-quality app, always scoped through registry/sites/scoping.py. Each runs a fixed number
of queries whatever the number of rows (pinned in tests)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from registry.core.errors import NotFound
from registry.crfs.catalogue import BY_CODE, FAMILIES, family
from registry.crfs.models import CaseReportForm, FormStatus
from registry.patients.models import Patient
from registry.queries.access import QUERY_ANSWERERS, QUERY_READERS, SDV_ROLES
from registry.queries.models import (
    CasebookSignature,
    DataFreeze,
    DataQuery,
    FieldVerification,
    QueryMessage,
    QueryStatus,
)
from registry.sites.models import Site
from registry.sites.scoping import has_role, scope_queryset, sites_visible_to

#: Age buckets of unresolved queries, in days since raised (upper bounds; the last is open-ended).
AGE_BUCKETS = (("0-7", 7), ("8-30", 30), ("31-90", 90), (">90", None))
UNRESOLVED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


def query_list_for_user(user) -> QuerySet[DataQuery]:
    """Queries at the sites where the user reads casebooks."""
    return (DataQuery.objects.visible_to(user, roles=QUERY_READERS)
            .select_related("patient", "patient__site", "raised_by", "answered_by", "closed_by"))


def query_get_for_user(user, pk) -> DataQuery:
    """One visible query with its thread; NotFound when missing or not visible (never which)."""
    messages = Prefetch("messages", queryset=QueryMessage.objects.select_related("author"))
    try:
        return query_list_for_user(user).prefetch_related(messages).get(pk=pk)
    except (DataQuery.DoesNotExist, ValueError, TypeError):
        raise NotFound("Query not found.") from None


def patient_get_for_user(user, pk) -> Patient:
    try:
        return Patient.objects.visible_to(user, roles=QUERY_READERS).select_related("site").get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise NotFound("Patient not found.") from None


def site_get_for_user(user, pk) -> Site:
    try:
        return sites_visible_to(user, roles=QUERY_READERS).get(pk=pk)
    except (Site.DoesNotExist, ValueError, TypeError):
        raise NotFound("Site not found.") from None


def form_get_for_user(user, family_code: str, pk) -> CaseReportForm:
    """A visible form instance by catalogue code and id; NotFound when missing or not visible."""
    if family_code not in BY_CODE:
        raise NotFound("Form not found.")
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("Form not found.") from None
    form = (family(family_code).model.objects.visible_to(user, roles=QUERY_READERS)
            .select_related("patient", "patient__site").filter(pk=pk).first())
    if form is None:
        raise NotFound("Form not found.")
    return form


def my_open_queries(user) -> QuerySet[DataQuery]:
    """Site staff's work list: open queries at the sites where the user enters data."""
    return (DataQuery.objects.visible_to(user, roles=QUERY_ANSWERERS).filter(status=QueryStatus.OPEN)
            .select_related("patient", "patient__site").order_by("created_at", "pk"))


@dataclass(frozen=True)
class FormToVerify:
    family: str
    label: str
    form_id: int
    patient_id: int
    study_id: str
    site_code: str
    submitted_at: object


def forms_to_verify(user, *, limit: int = 500) -> list[FormToVerify]:
    """Monitors' work list: submitted (not yet verified) forms at their sites, oldest first (one query per
    form family). Nobody else has such a list: skip the ten scans that could only come back empty."""
    if not has_role(user, SDV_ROLES):
        return []
    rows = []
    for fam in FAMILIES:
        forms = (fam.model.objects.visible_to(user, roles=SDV_ROLES).filter(status=FormStatus.SUBMITTED)
                 .order_by("submitted_at", "pk")
                 .values_list("pk", "patient_id", "patient__study_id", "patient__site__code", "submitted_at")[:limit])
        rows += [FormToVerify(fam.code, fam.label, *row) for row in forms]
    rows.sort(key=lambda r: (r.submitted_at is None, r.submitted_at, r.family, r.form_id))
    return rows[:limit]


def field_verifications(*, family_code: str, object_id: int) -> list[FieldVerification]:
    """Every verification of a form's fields, current and withdrawn (the SDV history)."""
    return list(FieldVerification.objects.filter(form_family=family_code, object_id=object_id)
                .select_related("verified_by").order_by("field", "-verified_at", "-pk"))


def form_queries(*, family_code: str, object_id: int) -> list[DataQuery]:
    return list(DataQuery.objects.filter(form_family=family_code, object_id=object_id).order_by("-created_at"))


def patient_signatures(patient) -> list[CasebookSignature]:
    return list(CasebookSignature.objects.filter(patient=patient).select_related("signer", "voided_by"))


def freeze_list_for_user(user) -> QuerySet[DataFreeze]:
    return scope_queryset(DataFreeze.objects.all(), user, roles=QUERY_READERS).select_related(
        "site", "patient", "locked_by", "released_by")


def signature_list_for_user(user) -> QuerySet[CasebookSignature]:
    return CasebookSignature.objects.visible_to(user, roles=QUERY_READERS).select_related(
        "patient", "signer", "voided_by")


def verification_list_for_user(user) -> QuerySet[FieldVerification]:
    return FieldVerification.objects.visible_to(user, roles=QUERY_READERS).select_related("patient", "verified_by")


# --- Dashboard -------------------------------------------------------------------------------------------


@dataclass
class QualityRow:
    """Data-quality figures of one site and form family (family "" = the site's total)."""

    site_id: int
    site_code: str
    family: str
    family_label: str
    forms: int = 0
    forms_submitted: int = 0
    forms_verified: int = 0
    required_fields: int = 0
    required_filled: int = 0
    fields_verified: int = 0
    open_queries: int = 0
    answered_queries: int = 0
    closed_queries: int = 0
    age_buckets: dict[str, int] = field(default_factory=lambda: {label: 0 for label, _ in AGE_BUCKETS})
    answer_hours: list[float] = field(default_factory=list, repr=False)

    @staticmethod
    def _pct(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def completeness_pct(self) -> float | None:
        return self._pct(self.required_filled, self.required_fields)

    @property
    def submitted_pct(self) -> float | None:
        return self._pct(self.forms_submitted, self.forms)

    @property
    def sdv_pct(self) -> float | None:
        return self._pct(self.forms_verified, self.forms_submitted)

    @property
    def median_days_to_answer(self) -> float | None:
        return round(statistics.median(self.answer_hours) / 24, 1) if self.answer_hours else None

    def add(self, other: QualityRow) -> None:
        for name in ("forms", "forms_submitted", "forms_verified", "required_fields", "required_filled",
                     "fields_verified", "open_queries", "answered_queries", "closed_queries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for label in self.age_buckets:
            self.age_buckets[label] += other.age_buckets[label]
        self.answer_hours += other.answer_hours

    def as_dict(self) -> dict:
        return {"site_id": self.site_id, "site": self.site_code, "form_family": self.family or "all",
                "forms": self.forms, "forms_submitted": self.forms_submitted, "submitted_pct": self.submitted_pct,
                "required_fields": self.required_fields, "required_filled": self.required_filled,
                "completeness_pct": self.completeness_pct, "forms_verified": self.forms_verified,
                "sdv_pct": self.sdv_pct, "fields_verified": self.fields_verified,
                "open_queries": self.open_queries, "answered_queries": self.answered_queries,
                "closed_queries": self.closed_queries,
                **{f"unresolved_{label}_days": n for label, n in self.age_buckets.items()},
                "median_days_to_answer": self.median_days_to_answer}


def _bucket(age: timedelta) -> str:
    days = age.days
    for label, upper in AGE_BUCKETS:
        if upper is None or days <= upper:
            return label
    return AGE_BUCKETS[-1][0]


def quality_dashboard(user, *, site_id: int | None = None) -> list[QualityRow]:
    """Per site and form family: completeness, submitted and SDV coverage, query counts by status, unresolved
    queries by age, median time to first answer; each site followed by its total row ("" family).

    One query per form family plus three, whatever the number of sites, patients or queries."""
    sites = sites_visible_to(user, roles=QUERY_READERS).order_by("code")
    if site_id is not None:
        sites = sites.filter(pk=site_id)
    sites = list(sites)
    site_ids = [s.pk for s in sites]
    rows: dict[tuple[int, str], QualityRow] = {
        (s.pk, fam.code): QualityRow(s.pk, s.code, fam.code, fam.label) for s in sites for fam in FAMILIES}
    verified = Q(status=FormStatus.VERIFIED) | Q(status=FormStatus.LOCKED, verified_at__isnull=False)
    for fam in FAMILIES:
        # Completeness is summed from the counts each form row stores on every write (CaseReportForm.save,
        # FormQuerySet bulk paths), so this is one GROUP BY per family, not a pass over every form in Python.
        for item in (fam.model.objects.filter(patient__site_id__in=site_ids).order_by()
                     .values("patient__site_id")
                     .annotate(forms=Count("pk"), submitted=Count("pk", filter=~Q(status=FormStatus.DRAFT)),
                               verified=Count("pk", filter=verified), required=Sum("required_count"),
                               filled=Sum("required_filled"))):
            row = rows[(item["patient__site_id"], fam.code)]
            row.forms += item["forms"]
            row.forms_submitted += item["submitted"]
            row.forms_verified += item["verified"]
            row.required_fields += item["required"] or 0
            row.required_filled += item["filled"] or 0
    for item in (FieldVerification.objects.filter(patient__site_id__in=site_ids, unverified_at__isnull=True)
                 .values("patient__site_id", "form_family").annotate(n=Count("pk"))):
        row = rows.get((item["patient__site_id"], item["form_family"]))
        if row is not None:
            row.fields_verified += item["n"]
    now = timezone.now()
    for site_pk, code, status, created, first_answer in (
            DataQuery.objects.filter(patient__site_id__in=site_ids)
            .values_list("patient__site_id", "form_family", "status", "created_at", "first_answered_at")):
        row = rows.get((site_pk, code))
        if row is None:
            continue
        if status == QueryStatus.OPEN:
            row.open_queries += 1
        elif status == QueryStatus.ANSWERED:
            row.answered_queries += 1
        else:
            row.closed_queries += 1
        if status in UNRESOLVED:
            row.age_buckets[_bucket(now - created)] += 1
        if first_answer is not None:
            row.answer_hours.append((first_answer - created).total_seconds() / 3600)
    result = []
    for s in sites:
        total = QualityRow(s.pk, s.code, "", "All forms")
        for fam in FAMILIES:
            result.append(rows[(s.pk, fam.code)])
            total.add(rows[(s.pk, fam.code)])
        result.append(total)
    return result


def query_status_counts(user) -> dict[str, int]:
    counts = dict(query_list_for_user(user).order_by().values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in QueryStatus.values}
