"""Pages of the data-quality app: query list, thread and actions, raise a query, work lists, dashboard
(with CSV), a patient's data-quality page (forms, SDV, locks, signatures) and a form's SDV page.
Thin: parse, call one service or selector, render."""

from __future__ import annotations

import csv
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry.core.errors import DomainError, NotFound, PermissionDenied
from registry.crfs.catalogue import FAMILIES, family, family_of
from registry.queries import selectors, services
from registry.queries.access import (
    DASHBOARD_READERS,
    LOCK_ROLES,
    QUERY_ANSWERERS,
    QUERY_MANAGERS,
    QUERY_READERS,
    SDV_ROLES,
    SIGNER_ROLES,
)
from registry.queries.forms import (
    AnswerForm,
    QueryFilterForm,
    RaiseQueryForm,
    ReasonForm,
    SignForm,
    TextForm,
    VerifyFieldsForm,
)
from registry.queries.models import DataFreeze, FreezeScope, QueryStatus
from registry.queries.targets import field_value, form_for
from registry.sites.scoping import has_role, sites_visible_to

PAGE_SIZE = 50


def page(view):
    """Login required; NotFound → 404 and PermissionDenied → 403 (never reveal which objects exist)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None

    return wrapped


def _require(user, roles, site=None) -> None:
    if not has_role(user, roles, site):
        raise PermissionDenied("Your role does not give access to this page.")


def _error(request, exc: DomainError) -> None:
    details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) if exc.errors else ""
    messages.error(request, f"{exc.message} {details}".strip())


def _form_errors(request, form) -> None:
    messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))


def _filtered_queries(request):
    queries = selectors.query_list_for_user(request.user)
    filters = QueryFilterForm(request.GET or None)
    if filters.is_valid():
        data = filters.cleaned_data
        if data["status"]:
            queries = queries.filter(status=data["status"])
        if data["origin"]:
            queries = queries.filter(origin=data["origin"])
        if data["site"]:
            queries = queries.filter(patient__site__code=data["site"].upper())
        if data["patient"]:
            queries = queries.filter(patient__study_id=data["patient"])
    return filters, queries.order_by("-created_at", "-pk")


# --- Queries ---------------------------------------------------------------------------------------------


@require_GET
@page
def query_list(request):
    _require(request.user, QUERY_READERS)
    filters, queries = _filtered_queries(request)
    listing = Paginator(queries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "queries/list.html", {
        "filters": filters, "page_obj": listing, "query": query.urlencode(),
        "counts": selectors.query_status_counts(request.user)})


@require_GET
@page
def query_list_csv(request):
    _require(request.user, QUERY_READERS)
    _, queries = _filtered_queries(request)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="queries.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "site", "study_id", "form_family", "object_id", "field", "origin", "rule", "status",
                     "text", "raised_by", "created_at", "first_answered_at", "response_reason", "closed_at"])
    for q in queries.iterator(chunk_size=2000):
        writer.writerow([q.pk, q.patient.site.code, q.patient.study_id, q.form_family, q.object_id or "", q.field,
                         q.origin, q.rule, q.status, q.text, q.raised_by.username if q.raised_by else "",
                         q.created_at.isoformat(), q.first_answered_at.isoformat() if q.first_answered_at else "",
                         q.response_reason, q.closed_at.isoformat() if q.closed_at else ""])
    return response


@require_GET
@page
def query_detail(request, pk):
    query = selectors.query_get_for_user(request.user, pk)
    site_id = query.patient.site_id
    form = form_for(query.patient, query.form_family, query.object_id)
    current_value = field_value(form, query.field) if form is not None and query.field else None
    can_answer = has_role(request.user, QUERY_ANSWERERS, site_id) and query.status == QueryStatus.OPEN
    can_manage = has_role(request.user, QUERY_MANAGERS, site_id)
    return render(request, "queries/detail.html", {
        "crf_url": _crf_url(form),
        "q": query, "form": form, "family": family(query.form_family), "current_value": current_value,
        "can_answer": can_answer, "can_manage": can_manage,
        "can_correct": can_answer and bool(query.field) and form is not None and not form.is_locked,
        "answer_form": AnswerForm(initial={"expected_version": form.version if form else None}),
        "text_form": TextForm()})


def _crf_url(form) -> str | None:
    """The form's data-entry page in the CRF web UI, where the site corrects values with every check."""
    if form is None:
        return None
    try:
        return reverse("crfs:form", args=[form.patient_id, family_of(form).code, form.pk])
    except NoReverseMatch:
        return None


def _query_action(name: str, success: str):
    @require_POST
    @page
    def action(request, pk):
        query = selectors.query_get_for_user(request.user, pk)
        form = (AnswerForm if name == "answer" else TextForm)(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return redirect("queries:detail", pk=pk)
        data = form.cleaned_data
        try:
            if name == "answer" and data.get("value"):
                services.query_correct(query, user=request.user, value=data["value"], text=data["text"],
                                       expected_version=data.get("expected_version"))
            elif name == "answer":
                services.query_answer(query, user=request.user, text=data["text"], reason=data["reason"])
            elif name == "close":
                services.query_close(query, user=request.user, text=data["text"])
            elif name == "reopen":
                services.query_reopen(query, user=request.user, text=data["text"])
            else:
                services.query_comment(query, user=request.user, text=data["text"])
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, success)
        return redirect("queries:detail", pk=pk)

    action.__name__ = f"query_{name}"
    return action


query_answer = _query_action("answer", "Your answer was recorded.")
query_close = _query_action("close", "The query is closed.")
query_reopen = _query_action("reopen", "The query is open again.")
query_comment = _query_action("comment", "Your comment was added.")


@require_http_methods(["GET", "POST"])
@page
def query_raise(request, family_code, pk):
    form_obj = selectors.form_get_for_user(request.user, family_code, pk)
    _require(request.user, QUERY_MANAGERS, form_obj.patient.site_id)
    form = RaiseQueryForm(request.POST or None, initial={"field": request.GET.get("field", "")})
    if request.method == "POST" and form.is_valid():
        try:
            query = services.query_raise(patient=form_obj.patient, family_code=family_code, object_id=form_obj.pk,
                                         field=form.cleaned_data["field"], text=form.cleaned_data["text"],
                                         user=request.user)
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"Query Q{query.pk} raised.")
            return redirect("queries:detail", pk=query.pk)
    return render(request, "queries/raise.html", {"target": form_obj, "family": family(family_code), "form": form,
                                                  "fields": type(form_obj).data_fields()})


@require_GET
@page
def worklist(request):
    _require(request.user, QUERY_READERS)
    return render(request, "queries/worklist.html", {
        "open_queries": list(selectors.my_open_queries(request.user)[:PAGE_SIZE * 4]),
        "to_verify": selectors.forms_to_verify(request.user, limit=PAGE_SIZE * 4),
        "is_site_staff": has_role(request.user, QUERY_ANSWERERS),
        "is_monitor": has_role(request.user, SDV_ROLES)})


# --- Dashboard -------------------------------------------------------------------------------------------


def _dashboard_rows(request):
    _require(request.user, DASHBOARD_READERS)
    site = request.GET.get("site")
    return selectors.quality_dashboard(request.user, site_id=int(site) if site and site.isdigit() else None)


@require_GET
@page
def dashboard(request):
    rows = _dashboard_rows(request)
    return render(request, "queries/dashboard.html", {
        "rows": rows, "totals": [r for r in rows if not r.family],
        "sites": sites_visible_to(request.user, roles=QUERY_READERS).order_by("code"),
        "selected_site": request.GET.get("site", "")})


@require_GET
@page
def dashboard_csv(request):
    rows = [row.as_dict() for row in _dashboard_rows(request)]
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="data-quality.csv"'
    writer = csv.writer(response)
    if rows:
        writer.writerow(rows[0].keys())
        writer.writerows(r.values() for r in rows)
    return response


# --- Patient: forms, locks, signatures ------------------------------------------------------------------


@require_GET
@page
def patient_quality(request, pk):
    patient = selectors.patient_get_for_user(request.user, pk)
    site_id = patient.site_id
    forms = [(fam, form) for fam in FAMILIES for form in fam.model.objects.filter(patient=patient).order_by("pk")]
    open_counts: dict[tuple, int] = {}
    for q in patient.data_queries.filter(status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED]):
        open_counts[(q.form_family, q.object_id)] = open_counts.get((q.form_family, q.object_id), 0) + 1
    rows = [{"family": fam, "form": form, "open_queries": open_counts.get((fam.code, form.pk), 0)
             + (open_counts.get((fam.code, None), 0) if not fam.repeating else 0)} for fam, form in forms]
    freezes = DataFreeze.objects.filter(site_id=site_id, released_at__isnull=True).filter(
        scope=FreezeScope.SITE) | DataFreeze.objects.filter(patient=patient, released_at__isnull=True)
    return render(request, "queries/patient.html", {
        "patient": patient, "rows": rows, "signatures": selectors.patient_signatures(patient),
        "freezes": list(freezes.select_related("locked_by")),
        "can_lock": has_role(request.user, LOCK_ROLES, site_id),
        "can_sign": has_role(request.user, SIGNER_ROLES, site_id),
        "sign_form": SignForm(), "reason_form": ReasonForm()})


@require_POST
@page
def patient_lock(request, pk):
    patient = selectors.patient_get_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("queries:patient", pk=pk)
    try:
        if request.POST.get("action") == "unlock":
            n = services.patient_unlock(patient=patient, user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"{n} form(s) unlocked.")
        else:
            freeze = services.patient_lock(patient=patient, user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"{freeze.forms_locked} form(s) locked; {freeze.drafts_skipped} draft(s) "
                                      "could not be locked.")
    except DomainError as exc:
        _error(request, exc)
    return redirect("queries:patient", pk=pk)


@require_POST
@page
def patient_sign(request, pk):
    patient = selectors.patient_get_for_user(request.user, pk)
    form = SignForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("queries:patient", pk=pk)
    try:
        services.casebook_sign(patient=patient, user=request.user, password=form.cleaned_data["password"],
                               meaning=form.cleaned_data["meaning"])
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "The casebook is signed.")
    return redirect("queries:patient", pk=pk)


# --- Form: source data verification -----------------------------------------------------------------------


@require_GET
@page
def form_quality(request, family_code, pk):
    form = selectors.form_get_for_user(request.user, family_code, pk)
    verifications = selectors.field_verifications(family_code=family_code, object_id=form.pk)
    current = {v.field: v for v in verifications if v.is_current}
    last_withdrawn = {}
    for v in verifications:
        if not v.is_current:
            last_withdrawn.setdefault(v.field, v)
    fields = [{"name": name, "value": field_value(form, name), "verified": current.get(name),
               "unverified": None if name in current else last_withdrawn.get(name)}
              for name in type(form).data_fields()]
    status_history = [e for e in type(form).pgh_event_model.objects.filter(pgh_obj_id=form.pk)
                      .order_by("pgh_id").values("pgh_created_at", "pgh_label", "status", "version")]
    site_id = form.patient.site_id
    return render(request, "queries/form.html", {
        "target": form, "family": family_of(form), "fields": fields, "history": verifications,
        "status_history": status_history, "queries": selectors.form_queries(family_code=family_code,
                                                                              object_id=form.pk),
        "can_verify": has_role(request.user, SDV_ROLES, site_id),
        "can_raise": has_role(request.user, QUERY_MANAGERS, site_id)})


@require_POST
@page
def form_verify_fields(request, family_code, pk):
    form_obj = selectors.form_get_for_user(request.user, family_code, pk)
    back = reverse("queries:form", args=[family_code, pk])
    try:
        if request.POST.get("whole_form"):
            services.sdv_verify_form(form=form_obj, user=request.user,
                                     expected_version=int(request.POST.get("version") or form_obj.version))
            messages.success(request, "The whole form is verified.")
        else:
            form = VerifyFieldsForm(request.POST, field_names=type(form_obj).data_fields())
            if not form.is_valid():
                _form_errors(request, form)
                return redirect(back)
            done = services.sdv_verify_fields(form=form_obj, fields=form.cleaned_data["fields"], user=request.user)
            messages.success(request, f"{len(done)} field(s) verified.")
    except DomainError as exc:
        _error(request, exc)
    return redirect(back)


# --- Site freezes ---------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page
def freezes(request):
    _require(request.user, QUERY_READERS)
    if request.method == "POST":
        site = selectors.site_get_for_user(request.user, request.POST.get("site"))
        form = ReasonForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return redirect("queries:freezes")
        try:
            if request.POST.get("action") == "unfreeze":
                n = services.site_unfreeze(site=site, user=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, f"Site {site.code} unfrozen: {n} form(s) unlocked.")
            else:
                freeze = services.site_freeze(site=site, user=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, f"Site {site.code} frozen: {freeze.forms_locked} form(s) locked, "
                                          f"{freeze.drafts_skipped} draft(s) left unlocked.")
        except DomainError as exc:
            _error(request, exc)
        return redirect("queries:freezes")
    rows = list(selectors.freeze_list_for_user(request.user).order_by("-created_at", "-pk")[:200])
    frozen = {f.site_id for f in rows if f.scope == FreezeScope.SITE and f.is_active}
    return render(request, "queries/freezes.html", {
        "freezes": rows, "sites": sites_visible_to(request.user, roles=LOCK_ROLES).order_by("code"),
        "frozen": frozen, "reason_form": ReasonForm(), "can_lock": has_role(request.user, LOCK_ROLES)})
