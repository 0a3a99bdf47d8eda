"""Pages of central review: the queue, a case (blinded read form, adjudication), its history, material and
shipments, notices to sites, and agreement statistics. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from registry.core.errors import DomainError, NotFound, PermissionDenied
from registry.crfs.models import LocalPathology
from registry.pathology import selectors, services
from registry.pathology.access import (
    AGREEMENT_READERS,
    COORDINATION,
    QUEUE_ROLES,
    SITE_READERS,
    SITE_SENDERS,
)
from registry.pathology.agreement import agreement_report
from registry.pathology.filters import CaseFilter
from registry.pathology.forms import (
    AdjudicationForm,
    AssignForm,
    PriorityForm,
    ReceiveForm,
    ReturnBlocksForm,
    ReviewForm,
    ShipmentForm,
)
from registry.pathology.models import CaseStatus, Shipment
from registry.sites.scoping import has_role, roles_of

QUEUE_PAGE_SIZE = 50
#: Rows per page of each list of the material page (outstanding, to receive, blocks to return).
MATERIAL_PAGE_SIZE = 50


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


def _require(user, roles) -> None:
    if not has_role(user, roles):
        raise PermissionDenied("Your role does not give access to this page.")


def _domain_error(request, exc: DomainError) -> None:
    details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) if exc.errors else ""
    messages.error(request, f"{exc.message} {details}".strip())


# --- Queue ---------------------------------------------------------------------------------------------------

@require_GET
@page
def queue(request):
    _require(request.user, QUEUE_ROLES)
    cases = selectors.case_list_for_user(request.user).order_by("-priority", "material_received_at", "opened_at",
                                                                "pk")
    filters = CaseFilter(request.GET or None, queryset=cases, request=request)
    listing = selectors.page_of(filters.qs, request.GET.get("page"), QUEUE_PAGE_SIZE)
    roles = roles_of(request.user)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "pathology/queue.html", {
        "filters": filters, "page_obj": listing, "rows": selectors.queue_rows(listing, request.user),
        "overdue_days": selectors.overdue_days(), "is_reviewer": "central_pathologist" in roles,
        "query": query.urlencode(), "selected_status": request.GET.getlist("status"),
    })


@require_POST
@page
def claim_next(request):
    try:
        case = services.case_claim_next(user=request.user)
    except DomainError as exc:
        _domain_error(request, exc)
        return redirect("pathology:queue")
    if case is None:
        messages.info(request, "No case is waiting for you.")
        return redirect("pathology:queue")
    messages.success(request, f"You claimed {case.patient.study_id}.")
    return redirect("pathology:case", pk=case.pk)


def _case_action(service, success: str, form_class=None):
    @require_POST
    @page
    def action(request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        kwargs = {}
        if form_class is not None:
            form = form_class(request.POST)
            if not form.is_valid():
                messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
                return redirect("pathology:case", pk=pk)
            kwargs = dict(form.cleaned_data)
        try:
            service(case=case, user=request.user, **kwargs)
        except DomainError as exc:
            _domain_error(request, exc)
        else:
            messages.success(request, success)
        if request.POST.get("next") == "queue":
            return redirect("pathology:queue")
        return redirect("pathology:case", pk=pk)

    return action


claim = _case_action(services.case_claim, "Case claimed.")
release = _case_action(services.case_release, "Case released to the queue.")
assign = _case_action(services.case_assign, "Case assigned.", AssignForm)
set_priority = _case_action(services.case_set_priority, "Priority changed.", PriorityForm)


# --- One case --------------------------------------------------------------------------------------------------

def _case_page(request, case, *, review_form=None, adjudication_form=None, status=200):
    view = selectors.case_view(request.user, case)
    user = request.user
    roles = roles_of(user)
    can_read = (case.assigned_to_id == user.pk and view.my_review is None
                and case.status in (CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW))
    if can_read and review_form is None:
        review_form = ReviewForm(initial={"review_date": timezone.localdate(),
                                          "material_received": view.material_received,
                                          "blinded_to_local_diagnosis": True, "blinded_to_outcome": True})
    can_coordinate = bool(roles & set(COORDINATION)) or user.is_superuser
    if case.status == CaseStatus.ADJUDICATION and can_coordinate and adjudication_form is None:
        adjudication_form = AdjudicationForm(initial={"decided_on": timezone.localdate()})
    return render(request, "pathology/case.html", {
        "view": view, "case": case, "review_form": review_form if can_read else None,
        "adjudication_form": adjudication_form if case.status == CaseStatus.ADJUDICATION and can_coordinate
        else None,
        "can_claim": "central_pathologist" in roles and case.assigned_to_id is None and view.my_review is None
        and case.status in (CaseStatus.READY, CaseStatus.SECOND_REVIEW),
        "can_release": case.assigned_to_id is not None and case.status != CaseStatus.FINAL
        and (case.assigned_to_id == user.pk or can_coordinate),
        "can_coordinate": can_coordinate and case.status != CaseStatus.FINAL,
        "assign_form": AssignForm() if can_coordinate else None,
        "priority_form": PriorityForm(initial={"priority": case.priority}) if can_coordinate else None,
        "turnaround_days": selectors.turnaround_days(case), "overdue": selectors.is_overdue(case),
    }, status=status)


@require_GET
@page
def case_detail(request, pk):
    return _case_page(request, selectors.case_get_for_user(request.user, pk))


@require_POST
@page
def review_submit(request, pk):
    case = selectors.case_get_for_user(request.user, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, review_form=form, status=400)
    data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
    try:
        review = services.review_submit(case=case, user=request.user, data=data)
    except DomainError as exc:
        for name, errors in exc.errors.items():
            form.add_error(name if name in form.fields else None, errors)
        if not exc.errors:
            form.add_error(None, exc.message)
        return _case_page(request, case, review_form=form, status=400)
    messages.success(request, f"Read {review.read_number} submitted. The local read is now shown.")
    return redirect("pathology:case", pk=pk)


@require_POST
@page
def adjudicate(request, pk):
    case = selectors.case_get_for_user(request.user, pk)
    form = AdjudicationForm(request.POST)
    if form.is_valid():
        try:
            services.adjudication_record(case=case, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            for name, errors in exc.errors.items():
                form.add_error(name if name in form.fields else None, errors)
            if not exc.errors:
                form.add_error(None, exc.message)
        else:
            messages.success(request, "Consensus recorded; the case is final and the site has been told.")
            return redirect("pathology:case", pk=pk)
    return _case_page(request, case, adjudication_form=form, status=400)


@require_GET
@page
def case_history(request, pk):
    case = selectors.case_get_for_user(request.user, pk)
    blinded = selectors.blinded_for(request.user, case)
    return render(request, "pathology/history.html", {
        "case": case, "blinded": blinded, "entries": selectors.case_history(request.user, case, blinded=blinded)})


# --- Material -------------------------------------------------------------------------------------------------

@require_GET
@page
def material(request):
    """Site staff: what is still to send for their open cases. Central team: parcels to receive, blocks to
    return."""
    user = request.user
    roles = roles_of(user)
    is_site = bool(roles & set(SITE_READERS)) or user.is_superuser
    is_central = bool(roles & set(COORDINATION)) or user.is_superuser
    if not (is_site or is_central):
        raise PermissionDenied("Your role does not give access to this page.")
    today = timezone.localdate()
    context = {"is_site": is_site, "is_central": is_central, "today": today,
               "can_send": bool(roles & set(SITE_SENDERS)) or user.is_superuser}
    if is_site:
        outstanding = selectors.page_of(selectors.outstanding_cases_for_user(user), request.GET.get("out_page"),
                                        MATERIAL_PAGE_SIZE)
        context["outstanding_page"] = outstanding
        context["outstanding"] = selectors.outstanding_rows(outstanding)
        context["shipment_form"] = ShipmentForm(initial={"shipped_on": today})
    if is_central:
        context["to_receive"] = selectors.page_of(selectors.shipments_to_receive(user), request.GET.get("recv_page"),
                                                  MATERIAL_PAGE_SIZE)
        context["blocks_out"] = selectors.page_of(selectors.shipments_with_blocks_out(user),
                                                  request.GET.get("ret_page"), MATERIAL_PAGE_SIZE)
        context["receive_form"] = ReceiveForm(initial={"received_on": today})
        context["return_form"] = ReturnBlocksForm(initial={"returned_on": today})
    return render(request, "pathology/material.html", context)


@require_POST
@page
def shipment_create(request, specimen_pk):
    specimen = LocalPathology.objects.visible_to(request.user, roles=SITE_SENDERS).filter(pk=specimen_pk).first()
    if specimen is None:
        raise NotFound("Specimen not found.")
    form = ShipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("pathology:material")
    try:
        services.shipment_create(specimen=specimen, user=request.user, items=form.items(),
                                 shipped_on=form.cleaned_data["shipped_on"],
                                 courier_reference=form.cleaned_data["courier_reference"],
                                 comment=form.cleaned_data["comment"])
    except DomainError as exc:
        _domain_error(request, exc)
    else:
        messages.success(request, "Shipment recorded.")
    return redirect("pathology:material")


def _shipment_action(service, form_class, success: str):
    @require_POST
    @page
    def action(request, pk):
        shipment: Shipment = selectors.shipment_get_for_user(request.user, pk)
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
            return redirect("pathology:material")
        try:
            service(shipment=shipment, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            _domain_error(request, exc)
        else:
            messages.success(request, success)
        return redirect("pathology:material")

    return action


shipment_receive = _shipment_action(services.shipment_receive, ReceiveForm, "Shipment received.")
shipment_return_blocks = _shipment_action(services.shipment_return_blocks, ReturnBlocksForm, "Blocks returned.")


# --- Notices and agreement ------------------------------------------------------------------------------------

@require_GET
@page
def notifications(request):
    _require(request.user, SITE_READERS)
    listing = Paginator(selectors.notification_list_for_user(request.user).order_by("-created_at", "-pk"), 50)
    return render(request, "pathology/notifications.html",
                  {"page_obj": listing.get_page(request.GET.get("page"))})


@require_POST
@page
def notification_read(request, pk):
    notification = selectors.notification_get_for_user(request.user, pk)
    services.notification_mark_read(notification=notification, user=request.user)
    return redirect("pathology:notifications")


@require_GET
@page
def agreement(request):
    _require(request.user, AGREEMENT_READERS)
    inputs = selectors.agreement_inputs(request.user)
    report = agreement_report(inputs.local_vs_central, inputs.ki67_pairs, inputs.reviewer_pairs,
                              inputs.reviewer_ki67_pairs)
    rows = list(zip(report["category"]["categories"], report["category"]["table"], strict=True))
    return render(request, "pathology/agreement.html", {"report": report, "rows": rows})

