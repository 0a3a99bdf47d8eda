"""Writes of the analysis app: the periodic tick, runs, the sweeper, definitions and settings.

Reliability (DESIGN.md §3.5, research/reliability.md §4.3): every run is a database row first and a Celery
message second (enqueued on commit); the sweeper re-dispatches rows left queued or running, so a lost message
or a killed worker only delays the work. `analysis_run_execute` is idempotent: a finished run is left alone;
a re-delivered or re-dispatched run starts again from the beginning under a new attempt number, computes in
memory, and writes all its results in one transaction at the end — only if its attempt is still the
current one — so results are never half-written and never written twice.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import subprocess
import time
import traceback
import zlib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from analysis import compute, datasets, selectors
from analysis.definitions import definition_errors
from analysis.models import (
    FINISHED,
    AnalysisDefinition,
    AnalysisFigure,
    AnalysisResult,
    AnalysisRun,
    AnalysisSettings,
    ResultStatus,
    RunStatus,
    RunTrigger,
)
from analysis.selectors import can_manage_analyses
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

#: Advisory-lock key of the tick (two beats, or a beat and a manual call, never create two runs).
TICK_LOCK = 0x4E454E01
LIBRARIES = ("lifelines", "pandas", "numpy", "scipy", "statsmodels", "matplotlib")
#: After this many starts a run is failed rather than retried (a poison run would loop forever).
MAX_ATTEMPTS = 3


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


@functools.cache
def code_version() -> str:
    """`git describe` of the working tree, else REGISTRY_CODE_VERSION, else the project version."""
    override = os.environ.get("REGISTRY_CODE_VERSION")
    if override:
        return override
    base = Path(settings.BASE_DIR)
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=base,  # noqa: S607
                             capture_output=True, text=True, timeout=5, check=True)
        return f"git:{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        import tomllib

        with open(base / "pyproject.toml", "rb") as fh:
            return f"nen-registry {tomllib.load(fh)['project']['version']}"


@functools.cache
def library_versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in LIBRARIES}


def analysis_settings_get() -> AnalysisSettings:
    """The settings row (created with the defaults on first use)."""
    obj, _ = AnalysisSettings.objects.get_or_create(pk=1)
    return obj


def effective_cutoff(config: Mapping[str, Any]) -> date:
    """The configured data cut-off, else today (data as of the run)."""
    value = config.get("data_cutoff_date")
    return date.fromisoformat(value) if value else timezone.localdate()


def _compress(columns: Mapping[str, list[Any]]) -> bytes:
    return zlib.compress(json.dumps(columns, separators=(",", ":"), default=str).encode(), 6)


def inputs_stamp(config: Mapping[str, Any]) -> str:
    """The source stamp (selectors.source_stamp) with the effective cut-off date and the code version: equal
    stamps mean the dataset and definitions would be built the same, so the tick need not build them."""
    return f"{selectors.source_stamp()[:40]}:{effective_cutoff(config).isoformat()}:{code_version()}"[:64]


def current_inputs() -> dict[str, Any]:
    """Dataset (columnar), enabled definitions, settings, cut-off and fingerprint of the data as they are now,
    and the stamp of the sources read before building them (a change during the build shows in the next one)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    config = analysis_settings_get().as_config()
    stamp = inputs_stamp(config)
    cutoff = effective_cutoff(config)
    definitions = [d.as_config() for d in AnalysisDefinition.objects.filter(enabled=True).order_by(
        "display_order", "code")]
    columns = datasets.build_dataset_columns(config, cutoff=cutoff)
    timings["dataset"] = time.perf_counter() - started
    started = time.perf_counter()
    # The cut-off enters the fingerprint through the data it caps, not as "today": an unconfigured cut-off
    # must not force a recompute every midnight when no capped date moved.
    fp = datasets.fingerprint(columns, definitions=definitions, config=config, code_version=code_version())
    timings["fingerprint"] = time.perf_counter() - started
    return {"columns": columns, "definitions": definitions, "config": config, "cutoff": cutoff,
            "fingerprint": fp, "n_patients": len(columns["patient_id"]), "timings": timings, "stamp": stamp}


def _freeze(run: AnalysisRun, inputs: Mapping[str, Any]) -> None:
    run.fingerprint = inputs["fingerprint"]
    run.source_stamp = inputs["stamp"]
    run.dataset = _compress(inputs["columns"])
    run.definitions_used = inputs["definitions"]
    run.settings_used = inputs["config"]
    run.data_cutoff = inputs["cutoff"]
    run.n_patients = inputs["n_patients"]
    run.code_version = code_version()
    run.library_versions = library_versions()
    run.timings = {**run.timings, **{k: round(v, 4) for k, v in inputs["timings"].items()}}


def _dispatch(run_id: int) -> None:
    """Enqueue the run after the current transaction commits (the worker must see the row)."""
    from analysis.tasks import run_analysis

    queue = _setting("ANALYSIS_QUEUE", None)

    def send() -> None:
        try:
            run_analysis.apply_async(args=[run_id], queue=queue)
        except Exception:  # the row stays queued; the sweeper sends it again once the broker is back
            logger.exception("could not enqueue analysis run %s; the sweeper will retry", run_id)

    AnalysisRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    transaction.on_commit(send)


def _latest_run() -> AnalysisRun | None:
    # Failed runs count too: a run that failed on these very inputs is not retried every 10 minutes (the
    # sweeper retries dead workers; a data manager can ask for a recompute once the cause is fixed).
    return AnalysisRun.objects.defer("dataset").order_by("-created_at", "-pk").first()


def analysis_tick() -> AnalysisRun | None:
    """Recompute when anything an analysis depends on changed: build the dataset, fingerprint it, and queue a
    run unless the latest run has the same fingerprint (or a requested run is waiting). Returns the new run.

    Unchanged sources (the latest run's source stamp) skip the build altogether: a few index look-ups instead of
    reading every registry row (DESIGN.md §6: < 0.2 s at 100,000 patients). Sources that changed without moving
    the dataset (a correction no analysis reads) build it once, find the same fingerprint and record the stamp.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK])
            if not cursor.fetchone()[0]:
                return None
        latest = _latest_run()
        if latest is not None and latest.status in (RunStatus.QUEUED, RunStatus.RUNNING) and not latest.fingerprint:
            return None  # a requested recompute is waiting and will read the current data itself
        if latest is not None and latest.source_stamp and latest.source_stamp == inputs_stamp(
                analysis_settings_get().as_config()):
            return None
        inputs = current_inputs()
        if latest is not None and latest.fingerprint == inputs["fingerprint"]:
            AnalysisRun.objects.filter(pk=latest.pk).update(source_stamp=inputs["stamp"])
            return None
        run = AnalysisRun(status=RunStatus.QUEUED, trigger=RunTrigger.TICK)
        _freeze(run, inputs)
        run.save()
        _dispatch(run.pk)
        return run


def analysis_request_recompute(*, user) -> AnalysisRun:
    """A data manager asks for a recompute now: a queued run row that the task (or the sweeper) picks up;
    it freezes the data as they are when it starts."""
    if not can_manage_analyses(user):
        raise PermissionDenied("Only data managers may request a recompute.", rule="role")
    with transaction.atomic():
        waiting = AnalysisRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).defer(
            "dataset").order_by("-created_at").first()
        if waiting is not None and waiting.trigger == RunTrigger.MANUAL:
            return waiting
        run = AnalysisRun.objects.create(status=RunStatus.QUEUED, trigger=RunTrigger.MANUAL, requested_by=user)
        _dispatch(run.pk)
        return run


def _start(run_id: int) -> tuple[AnalysisRun, int] | None:
    """Lock the run, take a new attempt number and mark it running (None when there is nothing to do)."""
    with transaction.atomic():
        run = AnalysisRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in FINISHED:
            return None
        if run.attempts >= MAX_ATTEMPTS:
            run.status, run.error, run.finished_at = RunStatus.FAILED, (
                f"gave up after {run.attempts} attempts (the worker died or timed out each time)"), timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            return None
        run.attempts += 1
        run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
        if not run.dataset:
            _freeze(run, current_inputs())
        run.save()
        return run, run.attempts


def analysis_run_execute(run_id: int) -> AnalysisRun | None:
    """Compute every definition of the run on its frozen dataset and store results and figures atomically."""
    started = _start(run_id)
    if started is None:
        return AnalysisRun.objects.defer("dataset").filter(pk=run_id).first()
    run, attempt = started
    timings: dict[str, Any] = dict(run.timings)
    try:
        t0 = time.perf_counter()
        df = compute.frame(run.frozen_columns())
        timings["load"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        outputs = compute.run_all(df, run.definitions_used, run.settings_used)
        timings["compute"] = round(time.perf_counter() - t0, 4)
        timings["definitions"] = {o["definition"]["code"]: round(o["seconds"], 4) for o in outputs}
        timings["figures"] = round(sum(o["figure_seconds"] for o in outputs), 4)
    except Exception as exc:  # noqa: BLE001 - the run row records the failure; earlier results stay visible
        logger.exception("analysis run %s failed", run_id)
        return _finish_failed(run_id, attempt, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    return _store(run_id, attempt, outputs, timings)


def _store(run_id: int, attempt: int, outputs: list[dict[str, Any]], timings: dict[str, Any]) -> AnalysisRun:
    t0 = time.perf_counter()
    with transaction.atomic():
        run = AnalysisRun.objects.select_for_update().defer("dataset").get(pk=run_id)
        if run.status in FINISHED or run.attempts != attempt:
            return run  # a newer attempt owns the run (or finished it): discard this one's work
        definitions = {d.code: d for d in AnalysisDefinition.objects.filter(
            code__in=[o["definition"]["code"] for o in outputs])}
        AnalysisResult.objects.filter(run=run).delete()
        results = AnalysisResult.objects.bulk_create([
            AnalysisResult(run=run, definition=definitions.get(o["definition"]["code"]),
                           definition_code=o["definition"]["code"], title=o["definition"]["title"],
                           method=o["definition"]["method"], status=o["status"], result=o["result"],
                           error=o["error"], seconds=round(o["seconds"], 4))
            for o in outputs])
        AnalysisFigure.objects.bulk_create([
            AnalysisFigure(result=result, name=name, title=title, fmt=fmt, content=content)
            for result, o in zip(results, outputs, strict=True) for name, title, fmt, content in o["figures"]])
        failed = sum(o["status"] == ResultStatus.FAILED for o in outputs)
        run.status = RunStatus.SUCCEEDED if not failed else (
            RunStatus.FAILED if failed == len(outputs) and outputs else RunStatus.PARTIAL)
        if failed:
            run.error = f"{failed} of {len(outputs)} definitions failed"
        timings["store"] = round(time.perf_counter() - t0, 4)
        run.timings, run.finished_at = timings, timezone.now()
        run.save(update_fields=["status", "error", "timings", "finished_at"])
    return run


def figure_svg(png: AnalysisFigure) -> AnalysisFigure:
    """The SVG twin of a stored PNG figure, rendered from the stored result on first request and kept.

    Runs render only PNGs (what the pages and the PDF show); the SVG is a download. It is drawn from the
    same stored (already suppressed) result with the definition the run froze, so it shows the same plot.
    """
    existing = AnalysisFigure.objects.filter(result_id=png.result_id, name=png.name, fmt="svg").first()
    if existing is not None:
        return existing
    result = AnalysisResult.objects.select_related("run").defer("run__dataset").get(pk=png.result_id)
    frozen = next((d for d in result.run.definitions_used if d.get("code") == result.definition_code),
                  {"code": result.definition_code, "title": result.title, "endpoint": "none"})
    rendered = [f for f in compute.render_figures(result.result, frozen, ("svg",)) if f[0] == png.name]
    if not rendered:
        raise AnalysisFigure.DoesNotExist(f"no {png.name} figure in this result")
    name, title, fmt, content = rendered[0]
    try:
        with transaction.atomic():
            return AnalysisFigure.objects.create(result_id=png.result_id, name=name, title=title, fmt=fmt,
                                                 content=content)
    except IntegrityError:  # a concurrent request stored it first
        return AnalysisFigure.objects.get(result_id=png.result_id, name=png.name, fmt="svg")


def _finish_failed(run_id: int, attempt: int, error: str) -> AnalysisRun:
    with transaction.atomic():
        run = AnalysisRun.objects.select_for_update().defer("dataset").get(pk=run_id)
        if run.status not in FINISHED and run.attempts == attempt:
            run.status, run.error, run.finished_at = RunStatus.FAILED, error[:10000], timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
    return run


def analysis_sweep(*, queued_after_seconds: float | None = None,
                   running_after_seconds: float | None = None) -> list[int]:
    """Re-dispatch runs left queued (message lost) or running (worker died) for too long; returns their ids."""
    queued_after = queued_after_seconds if queued_after_seconds is not None else _setting(
        "ANALYSIS_QUEUED_REDISPATCH_SECONDS", 120)
    running_after = running_after_seconds if running_after_seconds is not None else _setting(
        "ANALYSIS_RUN_STALE_SECONDS", 15 * 60)
    now = timezone.now()
    ids = []
    with transaction.atomic():
        stale_queued = AnalysisRun.objects.select_for_update(skip_locked=True).filter(
            status=RunStatus.QUEUED, dispatched_at__lte=now - timedelta(seconds=queued_after))
        never_sent = AnalysisRun.objects.select_for_update(skip_locked=True).filter(
            status=RunStatus.QUEUED, dispatched_at__isnull=True)
        stale_running = AnalysisRun.objects.select_for_update(skip_locked=True).filter(
            status=RunStatus.RUNNING, started_at__lte=now - timedelta(seconds=running_after))
        for qs in (stale_queued, never_sent, stale_running):
            for run_id in qs.values_list("pk", flat=True):
                if run_id not in ids:
                    ids.append(run_id)
                    _dispatch(run_id)
    return ids


# ---------------------------------------------------------------------------------------------------------
# Definitions and settings (API and admin call these)

DEFINITION_FIELDS = ("code", "title", "method", "endpoint", "population", "population_filter", "grouping_variable",
                     "group_order", "covariates", "options", "enabled", "display_order", "section")
SETTINGS_FIELDS = ("ki67_cutoff", "ki67_operator", "min_cell_size", "data_cutoff_date",
                   "pfs_assessment_interval_days", "pfs_late_death_rule", "minimum_form_status")


def _require_manager(user) -> None:
    if not can_manage_analyses(user):
        raise PermissionDenied("Only data managers may change analysis definitions and settings.", rule="role")


def _validated(definition: AnalysisDefinition) -> None:
    errors = definition_errors(definition.as_config())
    if errors:
        field = next(iter(errors))
        raise ValidationFailed(errors[field][0], field=field, rule="definition", errors=errors)


@transaction.atomic
def definition_create(*, user, data: Mapping[str, Any]) -> AnalysisDefinition:
    """A new analysis definition (data managers); validated against the dataset's columns."""
    _require_manager(user)
    unknown = set(data) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field(s): {', '.join(sorted(unknown))}", rule="unknown_field")
    if AnalysisDefinition.objects.filter(code=data.get("code")).exists():
        raise Conflict(f"A definition with code {data.get('code')!r} exists.", field="code", rule="unique")
    definition = AnalysisDefinition(**data)
    _validated(definition)
    definition.save()
    return definition


@transaction.atomic
def definition_update(definition: AnalysisDefinition, *, user, data: Mapping[str, Any]) -> AnalysisDefinition:
    """Change a definition (the next tick sees a new fingerprint and recomputes)."""
    _require_manager(user)
    unknown = set(data) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field(s): {', '.join(sorted(unknown))}", rule="unknown_field")
    locked = AnalysisDefinition.objects.select_for_update().get(pk=definition.pk)
    for name, value in data.items():
        setattr(locked, name, value)
    _validated(locked)
    locked.save()
    return locked


@transaction.atomic
def definition_delete(definition: AnalysisDefinition, *, user) -> None:
    """Delete a definition; its stored results stay with their runs (by code and title)."""
    _require_manager(user)
    definition.delete()


@transaction.atomic
def analysis_settings_update(*, user, data: Mapping[str, Any]) -> AnalysisSettings:
    """Change the analysis settings (Ki-67 cut-off and side, minimum cell size, data cut-off, PFS rules)."""
    _require_manager(user)
    unknown = set(data) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field(s): {', '.join(sorted(unknown))}", rule="unknown_field")
    obj = analysis_settings_get()
    obj = AnalysisSettings.objects.select_for_update().get(pk=obj.pk)
    for name, value in data.items():
        setattr(obj, name, value)
    obj.updated_by = user
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        field = next(iter(errors))
        raise ValidationFailed(errors[field][0], field=field, rule="field", errors=errors) from None
    obj.save()
    return obj
