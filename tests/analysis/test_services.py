"""Runs, the fingerprint skip, failure isolation, idempotency, the sweeper, manual recomputes, definitions and
settings, and small-cell suppression of stored results (services called in-process; the worker tests run
the same code in a real Celery worker)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from analysis import compute, datasets, services
from analysis.definitions import PAPER_DEFINITIONS, definition_errors
from analysis.models import (
    AnalysisDefinition,
    AnalysisFigure,
    AnalysisResult,
    AnalysisRun,
    ResultStatus,
    RunStatus,
    RunTrigger,
)
from analysis.selectors import latest_good_results
from registry.core.errors import PermissionDenied, ValidationFailed
from registry.crfs.services import form_update
from tests.factories.analysis import analysis_patient, cohort

pytestmark = pytest.mark.django_db

FEW = ("flow", "table1", "response-line1", "km-os-group", "cox-multi-pfs-nec", "followup")


@pytest.fixture
def few_definitions(db):
    """Only a handful of the paper's definitions enabled, to keep each run short."""
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)


@pytest.fixture
def patients(site_a, coordinator_a):
    return cohort(site_a, user=coordinator_a)


def execute_tick() -> AnalysisRun:
    run = services.analysis_tick()
    assert run is not None
    return services.analysis_run_execute(run.pk)


def test_seeded_definitions_are_the_papers_set_and_valid():
    seeded = {d.code: d for d in AnalysisDefinition.objects.all()}
    assert set(seeded) == {d["code"] for d in PAPER_DEFINITIONS}
    for definition in seeded.values():
        assert definition_errors(definition.as_config()) == {}, definition.code
    methods = {d.method for d in seeded.values()}
    assert methods == {"flow", "table1", "response", "followup", "km", "cox_uni", "cox_multi"}
    nec_os = seeded["cox-multi-os-nec"].covariates
    assert [c["name"] for c in nec_os] == ["ps_group", "ki67_high", "alp_above_uln", "age_years", "sex"]
    assert nec_os[0]["reference"] == "0" and nec_os[3]["scale"] == 10 and nec_os[4]["positive"] == "female"


def test_beat_schedule_is_seeded_in_the_database():
    tick = PeriodicTask.objects.get(task="analysis.tick")
    sweep = PeriodicTask.objects.get(task="analysis.sweep")
    assert (tick.interval.every, tick.interval.period, tick.enabled) == (10, "minutes", True)
    assert (sweep.interval.every, sweep.interval.period) == (5, "minutes")


def test_tick_freezes_inputs_and_execute_stores_every_definition(patients):
    run = services.analysis_tick()
    assert run.status == RunStatus.QUEUED and run.trigger == RunTrigger.TICK
    inputs = services.current_inputs()
    assert run.fingerprint == inputs["fingerprint"]
    assert run.frozen_columns() == inputs["columns"]
    assert run.n_patients == len(patients)
    assert set(run.library_versions) >= {"lifelines", "pandas", "numpy", "scipy"}
    assert run.code_version
    assert run.settings_used["min_cell_size"] == 5 and run.settings_used["ki67_cutoff"] == 55.0

    run = services.analysis_run_execute(run.pk)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    codes = set(AnalysisDefinition.objects.filter(enabled=True).values_list("code", flat=True))
    results = {r.definition_code: r for r in AnalysisResult.objects.filter(run=run)}
    assert set(results) == codes
    assert results["km-os-group"].status == ResultStatus.SUCCEEDED
    assert {g["group"] for g in results["km-os-group"].result["km"]["groups"]} == {"NEC", "NET_G3"}
    formats = set(AnalysisFigure.objects.filter(result=results["km-os-group"]).values_list("fmt", flat=True))
    assert formats == {"png"}  # the SVG is rendered from the stored result on first request
    assert AnalysisFigure.objects.get(result=results["km-os-group"], fmt="png").content[:4] == b"\x89PNG"
    assert set(run.timings) >= {"dataset", "fingerprint", "load", "compute", "store", "definitions"}
    assert run.finished_at is not None and run.attempts == 1


def test_unchanged_data_are_not_recomputed_and_one_changed_value_is(patients, few_definitions, coordinator_a):
    first = execute_tick()
    assert services.analysis_tick() is None  # same fingerprint: nothing to do
    assert AnalysisRun.objects.count() == 1
    # a correction that moves no analysis variable (the alive visit on the same day still counts) is not a change
    followup = next(p["followup"] for p in patients if p["followup"].vital_status == "alive")
    form_update(followup, data={"date_last_known_alive": followup.date_last_known_alive - timedelta(days=5)},
                user=coordinator_a, expected_version=followup.version)
    assert services.analysis_tick() is None
    baseline = patients[0]["baseline"]
    form_update(baseline, data={"ecog_ps": 2}, user=coordinator_a, expected_version=baseline.version)
    second = services.analysis_tick()
    assert second is not None and second.fingerprint != first.fingerprint
    assert services.analysis_tick() is None  # a queued run with the new fingerprint exists


def test_an_unchanged_tick_reads_no_registry_rows_and_a_change_builds_the_dataset_once(
        patients, few_definitions, coordinator_a, monkeypatch, django_assert_num_queries):
    first = execute_tick()
    built = []
    build = datasets.build_dataset_columns
    monkeypatch.setattr(datasets, "build_dataset_columns", lambda *a, **k: built.append(1) or build(*a, **k))
    with django_assert_num_queries(6):  # savepoint, advisory lock, latest run, settings, source stamp, release
        assert services.analysis_tick() is None
    assert built == []
    # a correction no analysis reads: built once, same fingerprint, no run; then skipped again
    followup = next(p["followup"] for p in patients if p["followup"].vital_status == "alive")
    form_update(followup, data={"date_last_known_alive": followup.date_last_known_alive - timedelta(days=5)},
                user=coordinator_a, expected_version=followup.version)
    assert services.analysis_tick() is None and built == [1]
    assert services.analysis_tick() is None and built == [1]
    # a new day with no configured cut-off: the data are checked once (no date is capped differently)
    tomorrow = timezone.localdate() + timedelta(days=1)
    monkeypatch.setattr(services.timezone, "localdate", lambda: tomorrow)
    assert services.analysis_tick() is None and built == [1, 1]
    assert services.analysis_tick() is None and built == [1, 1]
    assert AnalysisRun.objects.get().pk == first.pk
    baseline = patients[0]["baseline"]
    form_update(baseline, data={"ecog_ps": 2}, user=coordinator_a, expected_version=baseline.version)
    second = services.analysis_tick()
    assert second is not None and built == [1, 1, 1] and second.source_stamp != first.source_stamp
    services.analysis_run_execute(second.pk)
    AnalysisDefinition.objects.filter(code="flow").update(title="Flow")  # a bulk update (no updated_at) shows too
    assert services.analysis_tick() is not None


def test_changed_settings_and_definitions_give_a_new_fingerprint(patients, few_definitions, data_manager):
    execute_tick()
    services.analysis_settings_update(user=data_manager, data={"ki67_cutoff": 60})
    assert services.analysis_tick() is not None
    services.analysis_run_execute(AnalysisRun.objects.latest("pk").pk)
    services.definition_update(AnalysisDefinition.objects.get(code="km-os-group"), user=data_manager,
                               data={"title": "OS by group"})
    assert services.analysis_tick() is not None


def test_failing_definition_is_recorded_and_the_others_still_run(patients, few_definitions, data_manager):
    services.definition_create(user=data_manager, data={
        "code": "cox-broken", "title": "Cox on a constant column", "method": "cox_multi", "endpoint": "os",
        "population": "p3", "covariates": [{"name": "eligible", "kind": "binary"}]})
    run = execute_tick()
    assert run.status == RunStatus.PARTIAL
    broken = AnalysisResult.objects.get(run=run, definition_code="cox-broken")
    assert broken.status == ResultStatus.FAILED and "constant" in broken.error and broken.result is None
    assert AnalysisResult.objects.get(run=run, definition_code="km-os-group").status == ResultStatus.SUCCEEDED
    assert "1 of" in run.error


def test_last_good_result_stays_visible_when_a_later_run_fails(patients, few_definitions, monkeypatch, data_manager):
    good = execute_tick()
    shown = latest_good_results()
    assert shown["km-os-group"].run_id == good.pk
    # the next run crashes as a whole (e.g. a bug or an out-of-memory in the compute step)
    services.analysis_settings_update(user=data_manager, data={"pfs_assessment_interval_days": 70})

    def boom(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(compute, "run_all", boom)
    failed = execute_tick()
    assert failed.status == RunStatus.FAILED and "MemoryError" in failed.error
    assert not AnalysisResult.objects.filter(run=failed).exists()
    assert latest_good_results()["km-os-group"].run_id == good.pk
    assert services.analysis_tick() is None  # not retried on the same inputs every 10 minutes
    # and a definition failing in a later run leaves its earlier result on show
    monkeypatch.undo()
    services.definition_update(AnalysisDefinition.objects.get(code="cox-multi-pfs-nec"), user=data_manager,
                               data={"covariates": [{"name": "eligible", "kind": "binary"}]})
    partial = execute_tick()
    assert partial.status == RunStatus.PARTIAL
    shown = latest_good_results()
    assert shown["cox-multi-pfs-nec"].run_id == good.pk
    assert shown["km-os-group"].run_id == partial.pk


def test_execute_is_idempotent_for_a_finished_run(patients, few_definitions):
    run = execute_tick()
    ids = sorted(AnalysisResult.objects.filter(run=run).values_list("pk", flat=True))
    again = services.analysis_run_execute(run.pk)
    assert again.status == run.status and again.attempts == 1
    assert sorted(AnalysisResult.objects.filter(run=run).values_list("pk", flat=True)) == ids


def test_a_superseded_attempt_does_not_write(patients, few_definitions):
    run = services.analysis_tick()
    stale_run, stale_attempt = services._start(run.pk)  # attempt 1 starts, then its worker "hangs"
    finished = services.analysis_run_execute(run.pk)  # the sweeper's re-dispatch: attempt 2 completes
    assert finished.attempts == 2 and finished.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    ids = sorted(AnalysisResult.objects.filter(run=run).values_list("pk", flat=True))
    outputs = compute.run_all(compute.frame(stale_run.frozen_columns()), stale_run.definitions_used,
                              stale_run.settings_used, figures=False)
    services._store(run.pk, stale_attempt, outputs, {})  # attempt 1 wakes up and tries to store
    assert sorted(AnalysisResult.objects.filter(run=run).values_list("pk", flat=True)) == ids


def test_a_run_that_keeps_dying_is_failed_after_max_attempts(patients, few_definitions):
    run = services.analysis_tick()
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, attempts=services.MAX_ATTEMPTS)
    result = services.analysis_run_execute(run.pk)
    assert result.status == RunStatus.FAILED and "gave up" in result.error


def test_sweep_redispatches_stale_queued_and_running_runs(django_capture_on_commit_callbacks):
    now = timezone.now()
    fresh = AnalysisRun.objects.create(trigger=RunTrigger.TICK, dispatched_at=now)
    lost = AnalysisRun.objects.create(trigger=RunTrigger.TICK, dispatched_at=now - timedelta(hours=1))
    never = AnalysisRun.objects.create(trigger=RunTrigger.MANUAL)
    dead = AnalysisRun.objects.create(trigger=RunTrigger.TICK, status=RunStatus.RUNNING, attempts=1,
                                      started_at=now - timedelta(hours=2), dispatched_at=now - timedelta(hours=2))
    busy = AnalysisRun.objects.create(trigger=RunTrigger.TICK, status=RunStatus.RUNNING, attempts=1,
                                      started_at=now, dispatched_at=now)
    done = AnalysisRun.objects.create(trigger=RunTrigger.TICK, status=RunStatus.SUCCEEDED,
                                      dispatched_at=now - timedelta(hours=3))
    with django_capture_on_commit_callbacks() as callbacks:
        ids = services.analysis_sweep()
    assert sorted(ids) == sorted([lost.pk, never.pk, dead.pk])
    assert len(callbacks) == 3
    assert fresh.pk not in ids and busy.pk not in ids and done.pk not in ids


def test_manual_recompute_is_for_data_managers_and_freezes_data_when_it_starts(patients, few_definitions,
                                                                               data_manager, statistician):
    with pytest.raises(PermissionDenied):
        services.analysis_request_recompute(user=statistician)
    run = services.analysis_request_recompute(user=data_manager)
    assert (run.status, run.trigger, run.requested_by, run.dataset) == ("queued", "manual", data_manager, None)
    assert services.analysis_request_recompute(user=data_manager).pk == run.pk  # one waiting request at a time
    assert services.analysis_tick() is None  # the waiting request will read the current data itself
    run = services.analysis_run_execute(run.pk)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    assert run.fingerprint == services.current_inputs()["fingerprint"]
    assert services.analysis_tick() is None


def test_definition_and_settings_writes_are_validated_and_for_data_managers(data_manager, statistician):
    data = {"code": "km-x", "title": "KM", "method": "km", "endpoint": "os", "population": "p3",
            "grouping_variable": "no_such_column"}
    with pytest.raises(PermissionDenied):
        services.definition_create(user=statistician, data=data)
    with pytest.raises(ValidationFailed) as err:
        services.definition_create(user=data_manager, data=data)
    assert err.value.field == "grouping_variable"
    with pytest.raises(ValidationFailed):
        services.definition_create(user=data_manager, data={**data, "grouping_variable": "group",
                                                            "covariates": [{"name": "ps_group", "kind": "categorical"}],
                                                            "method": "cox_multi"})
    with pytest.raises(ValidationFailed):
        services.analysis_settings_update(user=data_manager, data={"ki67_operator": "lt"})
    with pytest.raises(ValidationFailed):
        services.analysis_settings_update(user=data_manager, data={"min_cell_size": 0})
    updated = services.analysis_settings_update(user=data_manager, data={"data_cutoff_date": date(2023, 1, 1)})
    assert updated.as_config()["data_cutoff_date"] == "2023-01-01" and updated.updated_by == data_manager


def test_stored_results_never_show_cells_below_the_minimum(site_a, few_definitions, data_manager):
    # three NET G3 patients: every NET G3 count is a small cell at the default minimum of 5
    cohort(site_a, n_nec=7, n_net=3)
    run = execute_tick()
    results = {r.definition_code: r.result for r in AnalysisResult.objects.filter(run=run, status="succeeded")}
    km = {g["group"]: g for g in results["km-os-group"]["km"]["groups"]}
    assert km["NET_G3"] == {"group": "NET_G3", "suppressed": True, "n": None}
    assert km["NEC"]["n"] == 7 and km["NEC"]["suppressed"] is False
    assert all(v is None or v == 0 or v >= 5 for v in km["NEC"]["curve"]["n_at_risk"])
    assert results["flow"]["by_group"]["NET_G3"]["p3"] is None
    assert results["flow"]["by_group"]["NEC"]["p3"] == 7
    table = results["table1"]["table"]
    assert table["suppressed"] is True and table["min_cell_count"] == 5
    assert {g["group"]: g["n"] for g in table["groups"]} == {"NEC": 7, "NET_G3": None}
    rates = results["response-line1"]["rates"]["immediate_progression_treated"]
    net = next(g for g in rates["groups"] if g["group"] == "NET_G3")
    assert (net["count"], net["proportion"], net["lower"], net["n"]) == (None, None, None, None)
    _assert_no_small_counts(results, 5)
    # with a minimum of 1 nothing is blanked
    services.analysis_settings_update(user=data_manager, data={"min_cell_size": 1})
    run = execute_tick()
    km = AnalysisResult.objects.get(run=run, definition_code="km-os-group").result["km"]
    assert {g["group"]: g["n"] for g in km["groups"]} == {"NEC": 7, "NET_G3": 3}


COUNT_KEYS = {"n", "count", "events", "censored", "observed", "n_used", "n_events", "n_missing", "n_censored"}


def _assert_no_small_counts(value, minimum, key=None):
    """Every count anywhere in a stored result is 0, blank, or at least the minimum."""
    if isinstance(value, dict):
        for k, v in value.items():
            _assert_no_small_counts(v, minimum, k)
    elif isinstance(value, list):
        for v in value:
            _assert_no_small_counts(v, minimum, key)
    elif key in COUNT_KEYS and isinstance(value, int) and not isinstance(value, bool):
        assert value == 0 or value >= minimum, (key, value)
    elif key == "counts":
        pass


def test_flow_counts_follow_the_populations(site_a, few_definitions, data_manager):
    services.analysis_settings_update(user=data_manager, data={"min_cell_size": 1})
    analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "SD")])
    analysis_patient(site_a, final="NET_G3", regimen="captem")
    analysis_patient(site_a, final="MiNEN")
    analysis_patient(site_a, line1_start=None)
    analysis_patient(site_a, eligible=False)
    run = execute_tick()
    flow = AnalysisResult.objects.get(run=run, definition_code="flow").result
    assert flow["counts"] == {"registered": 5, "withdrawn": 0, "not_eligible": 1, "p0_eligible": 4,
                              "not_advanced": 0, "p1_advanced": 4, "p2_reviewed_hg_nen": 3,
                              "p3_palliative_chemotherapy": 2, "p4_response_evaluable": 1}
    assert flow["classification_p1"] == {"NEC": 2, "NET_G3": 1, "MiNEN": 1, "not_HG_NEN": 0, "not_reviewable": 0,
                                         "not_classified": 0}
    assert flow["by_group"]["NEC"] == {"p2": 2, "p3": 1, "untreated": 1, "p4": 1}
