"""Reads that shape the CRF pages, built only on the scoped selectors (patients, forms, findings), with a
fixed number of queries per page whatever the number of patients or forms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Value

from registry.crfs.catalogue import FAMILIES, FormFamily, family, family_of
from registry.crfs.models import CaseReportForm, FindingSeverity, FormStatus, Regimen
from registry.crfs.models.base import COMPLETENESS_FIELDS
from registry.crfs.selectors import casebook_forms_for_user, finding_list_for_user, form_list_for_user
from registry.patients.models import Patient
from registry.patients.selectors import patient_list_for_user
from registry.sites.scoping import CASEBOOK_READERS, DATA_ENTRY, has_role, sites_visible_to

#: Families every patient is expected to have; an empty one shows as "missing" on the dashboard.
#: (Other treatments, extra lines and evaluations legitimately do not exist for every patient.)
EXPECTED = ("enrolment", "baseline", "tumour", "pathology", "labs", "treatment_status", "followup")
STATUS_ORDER = [FormStatus.DRAFT, FormStatus.SUBMITTED, FormStatus.VERIFIED, FormStatus.LOCKED]
PAGE_SIZE = 25


@dataclass
class Cell:
    family: FormFamily
    counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return not self.counts and self.family.code in EXPECTED


@dataclass
class DashboardRow:
    patient: Patient
    cells: list[Cell]


def _has_status(status: str) -> Q:
    return Q(*[Exists(fam.model.objects.filter(patient=OuterRef("pk"), status=status)) for fam in FAMILIES],
             _connector=Q.OR)


def _missing_expected() -> Q:
    return Q(*[~Exists(family(code).model.objects.filter(patient=OuterRef("pk"))) for code in EXPECTED],
             _connector=Q.OR)


def dashboard_patients(user, *, site: Any = None, status: str = "", search: str = "") -> QuerySet[Patient]:
    """The user's patients with open warning and error counts, filtered by site, form status and study id."""
    patients = patient_list_for_user(user).annotate(
        open_warnings=Count("edit_check_findings", filter=Q(edit_check_findings__severity=FindingSeverity.WARNING)),
        open_errors=Count("edit_check_findings", filter=Q(edit_check_findings__severity=FindingSeverity.ERROR)),
    )
    if site is not None:
        patients = patients.filter(site=site)
    if search:
        patients = patients.filter(study_id__icontains=search.strip())
    if status in FormStatus.values:
        patients = patients.filter(_has_status(status))
    elif status == "missing":
        patients = patients.filter(_missing_expected())
    elif status == "warnings":
        patients = patients.filter(edit_check_findings__severity=FindingSeverity.WARNING).distinct()
    return patients.order_by("site__code", "sequence_number")


def dashboard_page(user, *, site: Any = None, status: str = "", search: str = "",
                   page_number: Any = 1) -> tuple[Page, list[DashboardRow]]:
    """One page of the completion matrix: patient × form family, with the status counts of each cell
    (three queries: the count, the page, and one UNION over the families for the page's patients)."""
    paginator = Paginator(dashboard_patients(user, site=site, status=status, search=search), PAGE_SIZE)
    page = paginator.get_page(page_number)
    patients = list(page.object_list)
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    if patients:
        ids = [p.pk for p in patients]
        parts = [
            form_list_for_user(user, family_code=fam.code).filter(patient_id__in=ids).order_by()
            .values("patient_id", "status").annotate(n=Count("pk"), family=Value(fam.code, output_field=CharField()))
            for fam in FAMILIES
        ]
        for row in parts[0].union(*parts[1:], all=True):
            counts[(row["patient_id"], row["family"])][row["status"]] = row["n"]
    rows = [
        DashboardRow(patient=p, cells=[
            Cell(fam, [(s, counts[(p.pk, fam.code)][s]) for s in STATUS_ORDER if s in counts[(p.pk, fam.code)]])
            for fam in FAMILIES
        ])
        for p in patients
    ]
    return page, rows


def row_summary(form: CaseReportForm) -> str:
    """A one-line description of a repeating form's row for lists (date first, then what it is)."""
    code = family_of(form).code
    parts: list[Any] = []
    if code == "pathology":
        parts = [form.specimen_date, form.get_specimen_type_display(), form.get_local_diagnosis_display(),
                 f"Ki-67 {form.ki67_percent} %" if form.ki67_percent is not None else ""]
    elif code == "labs":
        parts = [form.sample_date, form.get_analyte_display(),
                 f"{form.value} {form.unit}" if form.value is not None else "", form.get_timepoint_display()]
    elif code == "treatment":
        regimen = form.regimen.label if form.regimen_id else form.regimen_other_text
        parts = [f"Line {form.line_number or '?'}", regimen, form.start_date]
    elif code == "other_treatment":
        parts = [form.date, form.get_type_display(), form.get_intent_display()]
    elif code == "response":
        parts = [form.eval_date, form.get_overall_response_display()]
    elif code == "followup":
        parts = [form.visit_date, form.get_vital_status_display()]
    text = " · ".join(str(p) for p in parts if p not in (None, ""))
    return text or f"Entry {form.pk} (no data yet)"


@dataclass
class PatientOverview:
    patient: Patient
    forms: dict[str, list[CaseReportForm]]
    sections: list[tuple[FormFamily, list[tuple[CaseReportForm, str]], bool]]
    timeline: list[dict]
    findings: list
    can_enter_data: bool


def patient_overview(user, *, patient: Patient) -> PatientOverview:
    """Everything the patient page shows: each family's forms, the treatment timeline (lines with their
    evaluations), the open edit-check findings, and whether the user may enter data here."""
    forms = casebook_forms_for_user(user, patient=patient)
    evaluations: dict[int, list] = defaultdict(list)
    for evaluation in sorted(forms["response"], key=lambda e: (e.eval_date is None, e.eval_date, e.pk)):
        evaluations[evaluation.line_id].append(evaluation)
    timeline = [{"line": line, "evaluations": evaluations.get(line.pk, [])} for line in forms["treatment"]]
    sections = [(fam, [(f, row_summary(f) if fam.repeating else "") for f in forms[fam.code]], fam.code in EXPECTED)
                for fam in FAMILIES if fam.parent is None]
    findings = list(finding_list_for_user(user, patient=patient).order_by("severity", "form", "rule"))
    return PatientOverview(patient=patient, forms=forms, sections=sections, timeline=timeline,
                           findings=findings, can_enter_data=has_role(user, DATA_ENTRY, patient.site_id))


def enrolment_sites(user) -> QuerySet:
    """Active sites where the user may enrol patients (a data-entry role there)."""
    return sites_visible_to(user, DATA_ENTRY).filter(is_active=True).order_by("code")


def dashboard_sites(user) -> QuerySet:
    return sites_visible_to(user, CASEBOOK_READERS).order_by("code")


def form_findings(user, *, form: CaseReportForm) -> list:
    """The stored findings that point at this form instance."""
    fam = family_of(form)
    findings = finding_list_for_user(user, patient=form.patient).filter(form=fam.code)
    if fam.repeating:
        findings = findings.filter(object_id=form.pk)
    return list(findings.order_by("severity", "rule"))


def _shown(db_field, value, labels: dict | None = None) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    choices = dict(db_field.flatchoices or getattr(getattr(db_field, "base_field", None), "flatchoices", []) or [])
    if isinstance(value, list):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if db_field.is_relation:
        return (labels or {}).get(value, f"#{value}")
    return str(choices.get(value, value))


@dataclass
class HistoryEntry:
    when: Any
    label: str
    user: str
    reason: str
    action: str
    version: Any
    changes: list[tuple[str, Any, Any]]


def form_history(user, *, form: CaseReportForm) -> list[HistoryEntry]:
    """The audit events of one (already access-checked) form row, oldest first, each with its changes
    old → new, who made it and the reason for change (two queries: the events and their users)."""
    event_model = type(form).pgh_event_model
    events = list(event_model.objects.filter(pgh_obj_id=form.pk).select_related("pgh_context").order_by("pgh_id"))
    skip = {"updated_at", "created_at", "version", "updated_by", "id", *COMPLETENESS_FIELDS}  # derived counts
    names = [f for f in type(form)._meta.concrete_fields if f.name not in skip and f.name != "patient"]
    user_ids = {e.pgh_context.metadata.get("user") for e in events if e.pgh_context_id}
    regimens = dict(Regimen.objects.values_list("pk", "label")) if any(
        f.is_relation and f.related_model is Regimen for f in names) else {}
    users = dict(get_user_model().objects.filter(pk__in=[u for u in user_ids if u]).values_list("pk", "username"))
    entries: list[HistoryEntry] = []
    previous = None
    for event in events:
        metadata = event.pgh_context.metadata if event.pgh_context_id else {}
        changes = []
        for f in names:
            new = getattr(event, f.attname)
            old = getattr(previous, f.attname) if previous is not None else None
            if previous is None and new in (None, "", [], False) and event.pgh_label == "insert":
                continue
            if previous is None or old != new:
                changes.append((f.name, _shown(f, old, regimens), _shown(f, new, regimens)))
        entries.append(HistoryEntry(
            when=event.pgh_created_at, label=event.pgh_label, user=users.get(metadata.get("user"), "system"),
            reason=metadata.get("reason", ""), action=metadata.get("action", ""), version=event.version,
            changes=changes,
        ))
        previous = event
    return entries
