"""CRF web pages: parse the request, call one service or selector, render. Every page is scoped through the
selectors (other sites' patients and forms are 404, never "forbidden", so their existence is not revealed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry.core.errors import DomainError, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from registry.crfs.catalogue import BY_CODE, FormFamily, family
from registry.crfs.models import CaseReportForm, FormStatus
from registry.crfs.selectors import form_get_for_user, form_list_for_user
from registry.crfs.services import form_lock, form_unlock, form_verify, patient_enrol
from registry.crfs.services.entry import form_save, form_validate
from registry.crfs.web.forms import (
    DashboardFilterForm,
    EnrolSiteForm,
    WorkflowForm,
    add_service_errors,
    display_value,
    form_class_for,
    reapply_data,
    rule_message,
)
from registry.crfs.web.selectors import (
    dashboard_page,
    dashboard_sites,
    enrolment_sites,
    form_findings,
    form_history,
    patient_overview,
)
from registry.patients.models import Patient
from registry.patients.selectors import patient_get_for_user
from registry.sites.models import Role
from registry.sites.scoping import DATA_ENTRY, has_role

UNPROCESSABLE = 422
PAST = {"verify": "verified", "lock": "locked", "unlock": "unlocked"}


def _patient(request, patient_id: int) -> Patient:
    try:
        return patient_get_for_user(request.user, patient_id)
    except NotFound:
        raise Http404("Patient not found.") from None


def _family(code: str) -> FormFamily:
    if code not in BY_CODE:
        raise Http404("Unknown form.")
    return family(code)


def _form(request, fam: FormFamily, patient: Patient, pk: int) -> CaseReportForm:
    try:
        form = form_get_for_user(request.user, family_code=fam.code, pk=pk)
    except NotFound:
        raise Http404("Form not found.") from None
    if form.patient_id != patient.pk:
        raise Http404("Form not found.")
    form.patient = patient
    return form


def form_url(form: CaseReportForm, fam: FormFamily) -> str:
    return reverse("crfs:form", args=[form.patient_id, fam.code, form.pk])


@login_required
@require_GET
def dashboard(request):
    """The user's patients × form families with status badges, warnings, filters and pagination."""
    sites = dashboard_sites(request.user)
    if not sites.exists():
        raise Http404("You have no role that reads case books.")
    filters = DashboardFilterForm(request.GET, sites=sites)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    page, rows = dashboard_page(request.user, site=chosen.get("site"), status=chosen.get("status", ""),
                                search=chosen.get("q", ""), page_number=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "crfs/dashboard.html", {
        "filters": filters, "page": page, "rows": rows, "families": [c.family for c in rows[0].cells] if rows else
        [fam for fam in BY_CODE.values()], "query": query.urlencode(),
        "can_enrol": has_role(request.user, DATA_ENTRY),
    })


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Enrol a patient at one of the user's data-entry sites with the F1 form; then show the patient."""
    sites = enrolment_sites(request.user)
    if not sites.exists():
        raise Http404("You may not enrol patients at any site.")
    form_class = form_class_for(family("enrolment"), creating=True)
    status = 200
    if request.method == "POST":
        site_form = EnrolSiteForm(request.POST, sites=sites)
        form = form_class(request.POST, instance=form_class._meta.model(), patient=None)
        if site_form.is_valid() and form.is_valid():
            try:
                patient, _ = patient_enrol(site=site_form.cleaned_data["site"], user=request.user,
                                           data=form.values_to_save())
            except ValidationFailed as exc:
                add_service_errors(form, exc)
                status = UNPROCESSABLE
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from None
            except DomainError as exc:
                form.add_error(None, rule_message(exc.message, exc.rule))
                status = UNPROCESSABLE
            else:
                messages.success(request, f"Patient enrolled with study id {patient.study_id}.")
                return redirect("crfs:patient", patient.pk)
        else:
            status = UNPROCESSABLE
    else:
        site_form = EnrolSiteForm(sites=sites)
        form = form_class(instance=form_class._meta.model(), patient=None)
    return render(request, "crfs/enrol.html", {"site_form": site_form, "form": form}, status=status)


@login_required
@require_GET
def patient_detail(request, patient_id: int):
    """All forms of the patient and their status, the treatment timeline and the open findings."""
    patient = _patient(request, patient_id)
    return render(request, "crfs/patient.html", {"overview": patient_overview(request.user, patient=patient),
                                                 "patient": patient})


def _workflow_permissions(request, form: CaseReportForm | None, patient: Patient) -> dict:
    status = form.status if form else None
    user, site = request.user, patient.site_id
    can_enter = has_role(user, DATA_ENTRY, site)
    return {
        "can_edit": can_enter and status != FormStatus.LOCKED,
        "can_submit": can_enter and status in (None, FormStatus.DRAFT),
        "can_verify": status == FormStatus.SUBMITTED and has_role(user, {Role.MONITOR}, site),
        "can_lock": status in (FormStatus.SUBMITTED, FormStatus.VERIFIED) and has_role(user, {Role.DATA_MANAGER}, site),
        "can_unlock": status == FormStatus.LOCKED and has_role(user, {Role.DATA_MANAGER}, site),
    }


def _render_form(request, fam, patient, form_obj, form, perms, *, status=200, warnings=()):
    children = []
    if form_obj is not None and fam.code == "treatment":
        children = list(form_list_for_user(request.user, family_code="response", patient=patient)
                        .filter(line_id=form_obj.pk).order_by("eval_date", "pk"))
    parent = getattr(form_obj, "line", None) if form_obj is not None and fam.parent else None
    return render(request, "crfs/form.html", {
        "fam": fam, "patient": patient, "obj": form_obj, "form": form, "layout": form.layout(), **perms,
        "findings": form_findings(request.user, form=form_obj) if form_obj is not None else [],
        "warnings": warnings, "children": children, "parent": parent,
        "validate_url": reverse("crfs:form_validate_new", args=[patient.pk, fam.code]) if form_obj is None
        else reverse("crfs:form_validate", args=[patient.pk, fam.code, form_obj.pk]),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def form_page(request, patient_id: int, family_code: str, pk: int | None = None):
    """One CRF: view it, save a draft, submit it, or correct it with a reason for change."""
    fam = _family(family_code)
    patient = _patient(request, patient_id)
    form_obj = _form(request, fam, patient, pk) if pk is not None else None
    perms = _workflow_permissions(request, form_obj, patient)
    form_class = form_class_for(fam, creating=form_obj is None)
    instance = form_obj if form_obj is not None else fam.model(patient=patient)
    if form_obj is None and not perms["can_edit"]:
        raise DjangoPermissionDenied("Your role at this site does not allow you to enter data.")
    if request.method == "GET":
        initial = {"line": request.GET.get("line")} if fam.parent_field and form_obj is None else {}
        form = form_class(instance=instance, patient=patient, read_only=not perms["can_edit"], initial=initial)
        return _render_form(request, fam, patient, form_obj, form, perms)
    form = form_class(request.POST, instance=instance, patient=patient, read_only=not perms["can_edit"])
    if not form.is_valid():
        return _render_form(request, fam, patient, form_obj, form, perms, status=UNPROCESSABLE)
    submit = request.POST.get("action") == "submit"
    try:
        saved = form_save(patient=patient, family_code=fam.code, data=form.values_to_save(), user=request.user,
                          form=form_obj, expected_version=form.cleaned_data.get("version"),
                          reason=form.cleaned_data.get("reason"), submit=submit)
    except StaleVersion:
        return _conflict(request, fam, patient, form_obj, form, form_class)
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render_form(request, fam, patient, form_obj, form, perms, status=UNPROCESSABLE)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        form.add_error(None, rule_message(exc.message, exc.rule))
        return _render_form(request, fam, patient, form_obj, form, perms, status=exc.status_code)
    if submit:
        messages.success(request, f"{fam.label}: submitted (version {saved.version}).")
    elif form_obj is not None and saved.version == form_obj.version:
        messages.info(request, "Nothing was changed.")
    else:
        messages.success(request, f"{fam.label}: saved as {saved.get_status_display().lower()} "
                                  f"(version {saved.version}).")
    return redirect(form_url(saved, fam))


def _conflict(request, fam, patient, form_obj, form, form_class):
    """Someone saved the form since the user opened it: show their input beside the saved values and
    offer to re-apply their changes on top of the current version."""
    current = _form(request, fam, patient, form_obj.pk)
    changed = form.user_changes()
    saved_form = form_class(instance=current, patient=patient)
    differences = [{
        "name": name, "label": form.fields[name].label,
        "yours": display_value(form.fields[name], form.cleaned_data.get(name)),
        "saved": display_value(saved_form.fields[name], saved_form[name].value()),
    } for name in changed]
    reapply = form_class(reapply_data(form_class, current, request.POST, changed, patient=patient),
                         instance=current, patient=patient)
    perms = _workflow_permissions(request, current, patient)
    return render(request, "crfs/conflict.html", {
        "fam": fam, "patient": patient, "obj": current, "form": reapply, "layout": reapply.layout(),
        "differences": differences, "yours_version": form.cleaned_data.get("version"), **perms,
        "validate_url": reverse("crfs:form_validate", args=[patient.pk, fam.code, current.pk]),
    }, status=409)


@login_required
@require_POST
def form_check(request, patient_id: int, family_code: str, pk: int | None = None):
    """htmx: run the save's validation on the typed input without saving; re-render the field errors."""
    fam = _family(family_code)
    patient = _patient(request, patient_id)
    form_obj = _form(request, fam, patient, pk) if pk is not None else None
    form_class = form_class_for(fam, creating=form_obj is None)
    instance = form_obj if form_obj is not None else fam.model(patient=patient)
    form = form_class(request.POST, instance=instance, patient=patient)
    warnings = []
    if form.is_valid():
        try:
            warnings = form_validate(patient=patient, family_code=fam.code, data=form.values_to_save(),
                                     user=request.user, form=form_obj)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, rule_message(exc.message, exc.rule))
    return render(request, "crfs/_validation.html", {"form": form, "warnings": [
        rule_message(w.message, w.rule) for w in warnings]})


@login_required
@require_POST
def form_workflow(request, patient_id: int, family_code: str, pk: int):
    """Verify (monitor), lock or unlock with a reason (data manager)."""
    fam = _family(family_code)
    patient = _patient(request, patient_id)
    form_obj = _form(request, fam, patient, pk)
    step = WorkflowForm(request.POST)
    if not step.is_valid():
        messages.error(request, "The action and the form version are required.")
        return redirect(form_url(form_obj, fam))
    action, version = step.cleaned_data["action"], step.cleaned_data["version"]
    try:
        if action == "unlock":
            form_unlock(form_obj, user=request.user, reason=step.cleaned_data["reason"], expected_version=version)
        else:
            {"verify": form_verify, "lock": form_lock}[action](form_obj, user=request.user,
                                                               expected_version=version)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, rule_message(exc.message, exc.rule))
    else:
        messages.success(request, f"{fam.label}: {PAST[action]}.")
    return redirect(form_url(form_obj, fam))


@login_required
@require_GET
def form_history_page(request, patient_id: int, family_code: str, pk: int):
    """The audit trail of one form: who changed what (old → new), when, and why."""
    fam = _family(family_code)
    patient = _patient(request, patient_id)
    form_obj = _form(request, fam, patient, pk)
    return render(request, "crfs/history.html", {"fam": fam, "patient": patient, "obj": form_obj,
                                                 "entries": form_history(request.user, form=form_obj)})

