"""Export pages: my jobs, a new export, a job's progress (htmx polling) and its download; REDCap API tokens.
Thin: parse, call a service or selector, render."""

from __future__ import annotations

from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry.core.errors import DomainError, NotFound
from registry.exports import selectors, services
from registry.exports.forms import ExportForm
from registry.exports.models import JobSource


def page(view):
    """Logged in, allowed to export, and NotFound as 404 (never reveal another user's job)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not selectors.can_export(request.user):
            raise DjangoPermissionDenied("You may not export data.")
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("Export not found.") from None

    return wrapped


@require_GET
@page
def job_list(request):
    return render(request, "exports/list.html", {
        "jobs": selectors.job_list_for_user(request.user)[:100],
        "tokens": selectors.redcap_token_list_for_user(request.user),
        "redcap_url": request.build_absolute_uri("/redcap/api/"),
    })


@require_http_methods(["GET", "POST"])
@page
def job_new(request):
    form = ExportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.export_job_create(
                user=request.user, shape=data["shape"], fmt=data["format"], forms=data["forms"],
                site_ids=[s.pk for s in data["sites"]], options=form.options(), release=data["release"],
                source=JobSource.WEB)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Export queued. This page shows its progress.")
            return redirect("exports:detail", pk=job.pk)
    return render(request, "exports/new.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@page
def job_detail(request, pk):
    job = selectors.job_get_for_user(request.user, pk)
    return render(request, "exports/detail.html", {"job": job})


@require_GET
@page
def job_progress(request, pk):
    job = selectors.job_get_for_user(request.user, pk)
    return render(request, "exports/_progress.html", {"job": job})


@require_GET
@page
def job_download(request, pk):
    job = selectors.job_get_for_user(request.user, pk)
    if job.status != "succeeded" or not job.file:
        raise Http404("The export has no file (yet).")
    return file_response(job)


def file_response(job) -> FileResponse:
    """Stream the job's file in chunks (FileResponse), with its checksum in a header."""
    root = (Path(settings.MEDIA_ROOT) / "exports").resolve()
    path = (Path(settings.MEDIA_ROOT) / job.file).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("The export file is no longer available.")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=job.file_name)  # noqa: SIM115
    response["X-Checksum-SHA256"] = job.checksum_sha256
    return response


@require_POST
@page
def token_create(request):
    token = services.redcap_token_create(user=request.user, label=request.POST.get("label", ""))
    messages.success(request, f"New REDCap API token: {token.token}")
    return redirect("exports:list")


@require_POST
@page
def token_revoke(request, pk):
    token = selectors.redcap_token_list_for_user(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404("Token not found.")
    services.redcap_token_revoke(user=request.user, token=token)
    messages.success(request, "Token revoked.")
    return redirect("exports:list")
