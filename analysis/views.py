"""Analysis pages: dashboard, run history and detail, figures (role-checked, from the database) and the
printable report (HTML and PDF). Statisticians and data managers only; everyone else gets 403."""

from __future__ import annotations

import base64
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from analysis import selectors, services
from analysis.models import AnalysisFigure, AnalysisResult
from analysis.presenters import present
from registry.core.errors import DomainError

SECTIONS = (("flow", "Flow diagram"), ("table1", "Table 1 — baseline characteristics"),
            ("table2", "Table 2 — first-line treatment and response"), ("figures", "Kaplan-Meier figures"),
            ("cox", "Cox models"), ("", "Other analyses"))


def analysis_role_required(view):
    """Login, then the statistician or data-manager role (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not selectors.can_view_analyses(request.user):
            raise PermissionDenied("Analyses are for statisticians and data managers.")
        return view(request, *args, **kwargs)

    return wrapper


def _report_context(*, embed_images: bool = False) -> dict:
    """Latest good result per enabled definition, as display tables with figures, grouped by report section."""
    results = selectors.latest_good_results()
    definitions = list(selectors.definition_list(enabled_only=True))
    figures = {}
    if embed_images:
        ids = [fig.pk for r in results.values() for fig in r.figure_list if fig.fmt == "png"]
        figures = {fig.pk: base64.b64encode(bytes(fig.content)).decode() for fig in
                   selectors.figures_with_content(ids)}
    sections = []
    for key, title in SECTIONS:
        items = []
        for definition in definitions:
            if (definition.section or "") != key and not (key == "" and definition.section not in dict(SECTIONS)):
                continue
            result = results.get(definition.code)
            entry = {"definition": definition, "result": result, "tables": [], "figures": []}
            if result is not None:
                entry["tables"] = present(result.result, min_cell=result.run.settings_used.get("min_cell_size", 5))
                entry["figures"] = [{"figure": fig, "data": figures.get(fig.pk)} for fig in result.figure_list
                                    if fig.fmt == "png"]
            items.append(entry)
        if items:
            sections.append({"key": key, "title": title, "items": items})
    runs = [r for r in (results[c].run for c in results)]
    latest = max(runs, key=lambda r: r.finished_at) if runs else None
    return {"sections": sections, "latest_run": latest, "generated_at": timezone.now()}


@require_GET
@analysis_role_required
def dashboard(request):
    context = _report_context()
    context.update(runs=selectors.run_list()[:10], can_manage=selectors.can_manage_analyses(request.user),
                   active=selectors.run_list().filter(status__in=["queued", "running"]).first(),
                   settings=services.analysis_settings_get())
    return render(request, "analysis/dashboard.html", context)


@require_POST
@analysis_role_required
def recompute(request):
    try:
        run = services.analysis_request_recompute(user=request.user)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    if request.htmx:
        return render(request, "analysis/_progress.html", {"run": run})
    messages.info(request, f"Recompute requested (run {run.pk}).")
    return redirect("analysis:dashboard")


@never_cache
@require_GET
@analysis_role_required
def run_progress(request, pk: int):
    run = get_object_or_404(selectors.run_list(), pk=pk)
    return render(request, "analysis/_progress.html", {"run": run})


@require_GET
@analysis_role_required
def run_list(request):
    return render(request, "analysis/runs.html", {"runs": selectors.run_list()[:200]})


@require_GET
@analysis_role_required
def run_detail(request, pk: int):
    run = get_object_or_404(selectors.run_list(), pk=pk)
    results = []
    for result in AnalysisResult.objects.filter(run=run).prefetch_related("figures").order_by("pk"):
        results.append({"result": result, "tables": present(result.result, min_cell=run.settings_used.get(
            "min_cell_size", 5)), "figures": [f for f in result.figures.all() if f.fmt == "png"]})
    return render(request, "analysis/run.html", {"run": run, "results": results})


@require_GET
@analysis_role_required
def figure(request, pk: int, fmt: str):
    try:
        fig = selectors.figure_get(pk)
        if fig.fmt == "png" and fmt == "svg":
            fig = services.figure_svg(fig)  # rendered from the stored result on first request
    except AnalysisFigure.DoesNotExist as exc:
        raise Http404("No such figure.") from exc
    if fig.fmt != fmt:
        raise Http404("No such figure.")
    response = HttpResponse(bytes(fig.content), content_type=fig.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{fig.result.definition_code}.{fig.fmt}"'
    return response


@require_GET
@analysis_role_required
def report(request):
    return render(request, "analysis/report.html", _report_context())


@require_GET
@analysis_role_required
def report_pdf(request):
    from django.contrib.staticfiles import finders
    from django.template.loader import render_to_string
    from weasyprint import CSS, HTML

    html = render_to_string("analysis/report_pdf.html", _report_context(embed_images=True), request=request)
    # No network fetches: figures are embedded as data URIs and the stylesheet is read from disk.
    pdf = HTML(string=html, base_url=str(finders.find("analysis/report.css"))).write_pdf(
        stylesheets=[CSS(filename=finders.find("analysis/report.css"))])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="analysis-report-{timezone.localdate()}.pdf"'
    return response
