"""Writes of the exports app: create a job (enqueued on commit), build it (the Celery task's body), re-dispatch
stuck jobs, record synchronous exports (REDCap API, admin action) in the audit trail, and issue API tokens."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import subprocess
import time
import traceback
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import PermissionDenied, ValidationFailed
from registry.crfs.catalogue import BY_CODE
from registry.exports import selectors
from registry.exports.build import BuildRequest, build_file
from registry.exports.deid import DATE_MODES, Deidentifier, derived_key
from registry.exports.models import (
    FINISHED,
    DateHandling,
    ExportFormat,
    ExportJob,
    ExportRelease,
    JobSource,
    JobStatus,
    RedcapToken,
    Shape,
)
from registry.exports.tables import STATUS_ORDER, ExportSource
from registry.sites.models import Site
from registry.sites.scoping import is_unrestricted

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BUNDLE_FORMATS = ("csv", "csv_labels", "dta", "sav", "parquet")
DELIMITERS = ("comma", "semicolon", "tab")
UNRELEASED = "unreleased"


def _setting(name: str, default):
    return getattr(settings, name, default)


def exports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def project_code() -> str:
    return _setting("EXPORTS_PROJECT_CODE", "NENREG")


def release_key(release: ExportRelease | None) -> bytes:
    """The date-shift key: the release's own secret, or one derived from SECRET_KEY for unreleased exports."""
    if release is not None:
        return bytes.fromhex(release.key)
    return derived_key(settings.SECRET_KEY, UNRELEASED)


def clean_options(options: dict[str, Any], *, pseudonymise: bool) -> tuple[dict[str, Any], bool]:
    """Validated options with the pseudonymisation policy applied; (options, whether it was forced)."""
    opts = {
        "drop_free_text": bool(options.get("drop_free_text", False)),
        "dates": options.get("dates") or DateHandling.KEEP,
        "hash_record_id": bool(options.get("hash_record_id", False)),
        "minimum_status": options.get("minimum_status") or "draft",
        "labels": bool(options.get("labels", False)),
        "delimiter": options.get("delimiter") or "comma",
        "bundle": list(options.get("bundle") or []),
    }
    if opts["dates"] not in DATE_MODES:
        raise ValidationFailed(f"Unknown date handling {opts['dates']!r}.", field="dates")
    if opts["minimum_status"] not in STATUS_ORDER:
        raise ValidationFailed(f"Unknown form status {opts['minimum_status']!r}.", field="minimum_status")
    if opts["delimiter"] not in DELIMITERS:
        raise ValidationFailed(f"Unknown delimiter {opts['delimiter']!r}.", field="delimiter")
    if unknown := set(opts["bundle"]) - set(BUNDLE_FORMATS):
        raise ValidationFailed(f"Formats {sorted(unknown)} cannot be bundled.", field="bundle")
    cutoff = options.get("cutoff")
    if cutoff:
        try:
            opts["cutoff"] = date.fromisoformat(str(cutoff)).isoformat()
        except ValueError:
            raise ValidationFailed("The cut-off must be a date (YYYY-MM-DD).", field="cutoff") from None
    forced = False
    if pseudonymise:
        forced = not opts["drop_free_text"] or opts["dates"] == DateHandling.KEEP
        opts["drop_free_text"] = True
        if opts["dates"] == DateHandling.KEEP:
            opts["dates"] = DateHandling.SHIFT
    opts["pseudonymised"] = opts["drop_free_text"] and opts["dates"] != DateHandling.KEEP
    opts["pseudonymisation_forced"] = forced
    return opts, forced


def export_job_create(*, user, shape: str, fmt: str, forms: list[str] | None = None,
                      site_ids: list[int] | None = None, options: dict[str, Any] | None = None,
                      release: ExportRelease | None = None, source: str = JobSource.WEB) -> ExportJob:
    """Queue an export of the user's sites; statisticians' exports are pseudonymised whatever they ask."""
    if not selectors.can_export(user):
        raise PermissionDenied("You may not export data.", rule="role")
    if shape not in Shape.values:
        raise ValidationFailed(f"Unknown shape {shape!r}.", field="shape")
    if fmt not in ExportFormat.values:
        raise ValidationFailed(f"Unknown format {fmt!r}.", field="format")
    forms = list(forms or [])
    if unknown := [c for c in forms if c not in BY_CODE]:
        raise ValidationFailed(f"Unknown forms {unknown}.", field="forms")
    if fmt == ExportFormat.REDCAP_DICTIONARY and shape != Shape.LONG:
        raise ValidationFailed("The REDCap data dictionary describes the long (per-form) shape.", field="format")
    visible = dict(selectors.export_sites_for_user(user).values_list("pk", "code"))
    if site_ids:
        wanted = {int(s) for s in site_ids}
        if not wanted <= set(visible):
            # Same answer for a site that does not exist and one the user may not see.
            raise ValidationFailed("You may only export sites you have access to.", field="sites")
    else:
        wanted = set(visible)
    if not wanted:
        raise ValidationFailed("No site to export.", field="sites")
    opts, forced = clean_options(options or {}, pseudonymise=selectors.must_pseudonymise(user, wanted))
    all_sites = not site_ids and (is_unrestricted(user) or selectors.export_sites_for_user(user).count()
                                  == Site.objects.count())
    with transaction.atomic(), audit_context(user=user.pk, export="create", export_format=fmt,
                                             export_shape=shape, pseudonymised=opts["pseudonymised"]):
        job = ExportJob.objects.create(
            requested_by=user, source=source, release=release, shape=shape, format=fmt, forms=forms,
            options=opts, pseudonymised=opts["pseudonymised"], scope_all_sites=all_sites,
        )
        job.sites.set(sorted(wanted))
        _dispatch(job.pk)
    return job


def _dispatch(job_id: int) -> None:
    """Enqueue the build after commit; a broker outage leaves the row queued for the sweeper."""
    from registry.exports.tasks import build

    queue = _setting("EXPORTS_QUEUE", None)

    def send() -> None:
        try:
            build.apply_async(args=[job_id], queue=queue)
        except Exception:  # the row stays queued; the sweeper sends it again once the broker is back
            logger.exception("could not enqueue export %s; the sweeper will retry", job_id)

    ExportJob.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
    transaction.on_commit(send)


def _start(job_id: int) -> tuple[ExportJob, int] | None:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in FINISHED:
            return None  # redelivered after success (or failure): nothing to do
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = JobStatus.FAILED, timezone.now()
            job.error = f"gave up after {job.attempts} attempts (the worker died or timed out each time)"
            job.save(update_fields=["status", "error", "finished_at", "updated_at"])
            return None
        job.attempts += 1
        job.status, job.started_at, job.heartbeat_at, job.error = JobStatus.RUNNING, timezone.now(), timezone.now(), ""
        job.progress = job.rows_written = 0
        job.save()
        return job, job.attempts


def _source_for(job: ExportJob) -> ExportSource:
    opts = job.options
    key = release_key(job.release) if (opts["dates"] == "shift" or opts["hash_record_id"]) else b""
    deid = Deidentifier(drop_free_text=opts["drop_free_text"], dates=opts["dates"],
                        hash_record_id=opts["hash_record_id"], key=key)
    site_ids = None if job.scope_all_sites else list(job.sites.values_list("pk", flat=True))
    # Scope re-checked now: a membership revoked since the job was queued is not exported.
    patients = selectors.export_patients(job.requested_by, site_ids=site_ids)
    if selectors.must_pseudonymise(job.requested_by, selectors.site_ids_of(patients)) and not deid.pseudonymised:
        raise PermissionDenied("The requester may now export these sites pseudonymised only.", rule="role")
    return ExportSource(patients=patients, deid=deid, minimum_status=opts["minimum_status"],
                        chunk_size=_setting("EXPORTS_CHUNK_SIZE", 2000))


def _wide_config(job: ExportJob) -> tuple[dict[str, Any], date]:
    from analysis.datasets import DEFAULT_CONFIG

    config = {**DEFAULT_CONFIG, "minimum_form_status": job.options["minimum_status"]}
    if job.options.get("cutoff"):
        cutoff = date.fromisoformat(job.options["cutoff"])
    elif job.release is not None and job.release.data_cutoff:
        cutoff = job.release.data_cutoff
    else:
        cutoff = timezone.localdate()
    return config, cutoff


def manifest_base(job: ExportJob) -> dict[str, Any]:
    """What was exported, by whom, from where and how (stored on the job and written into bundles)."""
    return {
        "export_job": job.pk,
        "project": project_code(),
        "requested_by": job.requested_by.get_username(),
        "requested_at": job.created_at.isoformat(),
        "source": job.source,
        "release": job.release.name if job.release else None,
        "shape": job.shape,
        "format": job.format,
        "forms": job.forms or list(BY_CODE),
        "sites": sorted(job.sites.values_list("code", flat=True)),
        "scope_all_sites": job.scope_all_sites,
        "options": job.options,
        "deidentification": {k: job.options[k] for k in ("drop_free_text", "dates", "hash_record_id",
                                                         "pseudonymised", "pseudonymisation_forced")},
        "software": software_versions(),
    }


def export_job_build(job_id: int) -> ExportJob | None:
    """Build the job's file (idempotent: a finished job is left as it is; a newer attempt wins)."""
    started = _start(job_id)
    if started is None:
        return ExportJob.objects.filter(pk=job_id).first()
    job, attempt = started
    t0 = time.perf_counter()
    try:
        source = _source_for(job)
        config, cutoff = _wide_config(job)
        base = manifest_base(job)
        if job.shape == Shape.WIDE:
            base["data_cutoff"] = cutoff.isoformat()
            base["analysis_config"] = config
        req = BuildRequest(source=source, shape=job.shape, fmt=job.format, forms=job.forms, project=project_code(),
                           created=timezone.now(), options=job.options, wide_config=config, wide_cutoff=cutoff,
                           study=study_info(), manifest_base=base)

        def report(written: int, total: int) -> None:
            ExportJob.objects.filter(pk=job_id, attempts=attempt).update(
                rows_written=written, rows_total=total, heartbeat_at=timezone.now(),
                progress=min(99, int(100 * written / total)) if total else 0)

        result = build_file(req, exports_root() / str(job_id), report)
    except Exception as exc:  # noqa: BLE001 - the job row records the failure for the user
        logger.exception("export %s failed", job_id)
        return _finish_failed(job_id, attempt, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    seconds = round(time.perf_counter() - t0, 3)
    manifest = {**base, **result["manifest"], "file": result["name"], "bytes": result["bytes"],
                "sha256": result["sha256"], "row_count": result["rows"], "seconds": seconds}
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status in FINISHED or job.attempts != attempt:
            return job  # a newer attempt owns the job
        relative = Path("exports") / str(job_id) / result["name"]
        for old in (exports_root() / str(job_id)).glob("*"):
            if old.name != result["name"] and old.is_file():
                old.unlink()  # an earlier attempt's file under another minute's name
        job.status, job.progress, job.finished_at = JobStatus.SUCCEEDED, 100, timezone.now()
        job.file, job.file_name, job.file_size = str(relative), result["name"], result["bytes"]
        job.checksum_sha256, job.row_count, job.rows_written = result["sha256"], result["rows"], result["rows"]
        job.manifest, job.timings = manifest, {"build_seconds": seconds}
        # The succeeded event of the job carries the manifest in its audit context.
        with audit_context(export="succeeded", export_job=job_id, manifest=manifest):
            job.save()
    return job


def _finish_failed(job_id: int, attempt: int, error: str) -> ExportJob:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in FINISHED and job.attempts == attempt:
            job.status, job.error, job.finished_at = JobStatus.FAILED, error[:10000], timezone.now()
            job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return job


def export_sweep(*, queued_after_seconds: float | None = None, running_after_seconds: float | None = None
                 ) -> list[int]:
    """Re-dispatch jobs left queued (message lost) or running without a heartbeat (worker died)."""
    queued_after = queued_after_seconds if queued_after_seconds is not None else _setting(
        "EXPORTS_QUEUED_REDISPATCH_SECONDS", 120)
    running_after = running_after_seconds if running_after_seconds is not None else _setting(
        "EXPORTS_RUNNING_STALE_SECONDS", 10 * 60)
    now = timezone.now()
    ids: list[int] = []
    with transaction.atomic():
        base = ExportJob.objects.select_for_update(skip_locked=True)
        stale = [
            base.filter(status=JobStatus.QUEUED, dispatched_at__lte=now - timedelta(seconds=queued_after)),
            base.filter(status=JobStatus.QUEUED, dispatched_at__isnull=True),
            base.filter(status=JobStatus.RUNNING, heartbeat_at__lte=now - timedelta(seconds=running_after)),
        ]
        for qs in stale:
            for job_id in qs.values_list("pk", flat=True):
                if job_id not in ids:
                    ids.append(job_id)
                    _dispatch(job_id)
    return ids


def export_log_synchronous(*, user, source: str, fmt: str, shape: str, forms: list[str], site_ids: list[int],
                           options: dict[str, Any], row_count: int, details: dict[str, Any]) -> ExportJob:
    """Record an export served directly (REDCap API, admin action) as a succeeded job with its manifest."""
    now = timezone.now()
    with transaction.atomic():
        job = ExportJob(requested_by=user, source=source, shape=shape, format=fmt, forms=forms, options=options,
                        pseudonymised=bool(options.get("pseudonymised")), status=JobStatus.SUCCEEDED,
                        progress=100, row_count=row_count, rows_written=row_count, rows_total=row_count,
                        started_at=now, finished_at=now)
        manifest = {"source": source, "requested_by": user.get_username(), "format": fmt, "shape": shape,
                    "forms": forms, "options": options, "row_count": row_count, **details}
        job.manifest = manifest
        with audit_context(user=user.pk, export=source, manifest=manifest):
            job.save()
            job.sites.set(site_ids)
    return job


def redcap_token_create(*, user, label: str = "", release: ExportRelease | None = None) -> RedcapToken:
    """A new REDCap API token for the user (32 hexadecimal characters)."""
    if not selectors.can_export(user):
        raise PermissionDenied("You may not export data.", rule="role")
    with transaction.atomic(), audit_context(user=user.pk):
        return RedcapToken.objects.create(user=user, label=label[:100], release=release)


def redcap_token_revoke(*, user, token: RedcapToken) -> None:
    """Deactivate one of the user's tokens."""
    if token.user_id != user.pk and not is_unrestricted(user):
        raise PermissionDenied("Not your token.", rule="owner")
    with transaction.atomic(), audit_context(user=user.pk):
        RedcapToken.objects.filter(pk=token.pk).update(is_active=False)


def redcap_token_touch(token: RedcapToken) -> None:
    RedcapToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())


@functools.cache
def software_versions() -> dict[str, str]:
    """Code version (git describe, else REGISTRY_CODE_VERSION) and the writers' library versions."""
    versions = {name: importlib.metadata.version(name)
                for name in ("django", "openpyxl", "pyreadstat", "pyarrow", "odmlib", "pandas")}
    code = os.environ.get("REGISTRY_CODE_VERSION")
    if not code:
        try:
            code = "git:" + subprocess.run(["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607
                                           cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5,
                                           check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            code = "unknown"
    return {"code": code, **versions}


def study_info() -> dict[str, str]:
    return {"name": _setting("EXPORTS_STUDY_NAME", "NEN Registry"),
            "description": _setting("EXPORTS_STUDY_DESCRIPTION",
                                    "Advanced high-grade digestive neuroendocrine neoplasms (NEC vs NET G3)"),
            "protocol": project_code()}
