"""Audit completeness: every way the application writes data leaves an event row saying who (the user, or the
command or task that wrote) and why where a reason is required, and every registry model is in the trail.

Write paths and where each is proven (coverage = paths with a test / paths; the list is the contract):
web form, API, admin, management command, Celery task, bulk_create, raw SQL — here; bulk_update and
queryset.update/delete — tests/audit/test_audit_trail.py.
"""

import pghistory.models
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from registry.audit.models import TrackedUser
from registry.audit.tracking import audit_context
from registry.crfs import services
from registry.crfs.catalogue import family_of
from registry.crfs.models import Baseline, Drug, FormStatus
from registry.patients.models import Patient
from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db

#: Project models that are deliberately not tracked, each with the reason (anything else must be tracked).
NOT_TRACKED = {
    "analysis.AnalysisRun": "derived output: the row freezes its own inputs; recomputable from audited data",
    "analysis.AnalysisResult": "derived output of a run, written once in the run's final transaction",
    "analysis.AnalysisFigure": "derived output of a run (rendered image of a result)",
    "exports.ExportJob_sites": "auto-created M2M rows, written once with the (tracked) export job",
}
#: Django models whose writes are part of the trail (ICH E6(R3) 4.2.2(a): accounts and roles).
TRACKED_ELSEWHERE = {"auth.User": "audit.TrackedUser"}


def events_for(obj, label=None):
    rows = type(obj).pgh_event_model.objects.filter(pgh_obj_id=obj.pk).select_related("pgh_context").order_by("pgh_id")
    return rows.filter(pgh_label=label) if label else rows


def submitted_baseline(site, user):
    forms = complete_casebook(PatientFactory(site=site, enrolled_by=user), user=user)
    baseline = forms["baseline"]
    return services.form_submit(baseline, user=user, expected_version=baseline.version)


def test_web_form_save_records_user_url_and_the_reason_for_change(client, site_a, coordinator_a):
    from tests.crfs.web.test_web_forms import post_data

    baseline = submitted_baseline(site_a, coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("crfs:form", args=[baseline.patient_id, family_of(baseline).code, baseline.pk])
    response = client.post(url, post_data(baseline, weight_kg="71", reason="Weighed again at visit",
                                          action="draft"))
    assert response.status_code == 302
    event = events_for(baseline, "update").last()
    assert float(event.weight_kg) == 71.0
    meta = event.pgh_context.metadata
    assert (meta["user"], meta["reason"], meta["url"]) == (coordinator_a.pk, "Weighed again at visit", url)
    assert meta["action"] == "baseline.update"


def test_api_patch_records_user_and_reason_and_refuses_a_change_without_one(api_client, site_a, coordinator_a):
    baseline = submitted_baseline(site_a, coordinator_a)
    client = api_client(coordinator_a)
    url = f"/api/v1/patients/{baseline.patient_id}/baseline/"
    before = events_for(baseline).count()
    refused = client.patch(url, {"weight_kg": 70}, format="json", HTTP_IF_MATCH=f'"{baseline.version}"')
    assert refused.status_code == 400
    assert events_for(baseline).count() == before  # no reason → no write → no event
    done = client.patch(url, {"weight_kg": 70}, format="json", HTTP_IF_MATCH=f'"{baseline.version}"',
                        HTTP_X_CHANGE_REASON="Source document corrected")
    assert done.status_code == 200, done.content
    meta = events_for(baseline, "update").last().pgh_context.metadata
    assert (meta["user"], meta["reason"], meta["method"]) == (coordinator_a.pk, "Source document corrected",
                                                              "PATCH")


def test_admin_action_records_the_administrator(client, site_a, coordinator_a):
    from tests.factories.sites import UserFactory

    forms = complete_casebook(PatientFactory(site=site_a, enrolled_by=coordinator_a), user=coordinator_a)
    baseline = forms["baseline"]
    admin = UserFactory(username="root_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/crfs/baseline/", {"action": "form_submit", "_selected_action": [baseline.pk]})
    assert response.status_code == 302
    assert Baseline.objects.get(pk=baseline.pk).status == FormStatus.SUBMITTED
    meta = events_for(baseline, "update").last().pgh_context.metadata
    assert meta["user"] == admin.pk and meta["url"] == "/admin/crfs/baseline/"


def test_admin_change_of_reference_data_records_the_administrator(client):
    from tests.factories.sites import UserFactory

    drug = Drug.objects.order_by("pk").first()
    admin = UserFactory(username="root_admin2", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/crfs/drug/{drug.pk}/change/")
    form = page.context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()
            if name in form.fields and not isinstance(value, bool)}
    data.update({name: "on" for name, value in form.initial.items() if value is True and name in form.fields})
    data["name"] = f"{drug.name} (renamed)"
    response = client.post(f"/admin/crfs/drug/{drug.pk}/change/", data, HTTP_X_CHANGE_REASON="INN spelling")
    assert response.status_code == 302, page.context["adminform"].form.errors
    meta = events_for(drug, "update").last().pgh_context.metadata
    assert (meta["user"], meta["reason"]) == (admin.pk, "INN spelling")


def test_management_command_writes_carry_the_command_name():
    call_command("generate_cohort", patients=1, seed=7, stdout=open("/dev/null", "w"))  # noqa: SIM115
    patient = Patient.objects.get()
    meta = events_for(patient, "insert").get().pgh_context.metadata
    assert meta["command"] == "generate_cohort"


def test_celery_task_writes_carry_the_task_name_and_id(site_a, data_manager, settings, tmp_path):
    from registry.exports import services as exports
    from registry.exports.tasks import build

    settings.MEDIA_ROOT = tmp_path
    complete_casebook(PatientFactory(site=site_a))
    job = exports.export_job_create(user=data_manager, shape="wide", fmt="csv")
    result = build.apply(args=[job.pk], task_id="audit-task-1")
    assert result.get() == "succeeded"
    metas = [e.pgh_context.metadata for e in events_for(job, "update") if e.pgh_context_id]
    by_task = [m for m in metas if m.get("task") == "exports.build"]
    assert by_task and {m["task_id"] for m in by_task} == {"audit-task-1"}


def test_bulk_create_leaves_one_event_per_row_with_the_context(data_manager):
    with audit_context(user=data_manager.pk, reason="new agents in the study drug list"):
        drugs = Drug.objects.bulk_create([Drug(code=f"bulk{i}", name=f"Bulk drug {i}") for i in range(4)])
    events = Drug.pgh_event_model.objects.filter(pgh_obj_id__in=[d.pk for d in drugs], pgh_label="insert")
    assert events.count() == 4
    assert {(e.pgh_context.metadata["user"], e.pgh_context.metadata["reason"]) for e in events} == {
        (data_manager.pk, "new agents in the study drug list")}


def test_raw_sql_on_clinical_data_is_audited_with_the_old_value_recoverable(site_a, coordinator_a, data_manager):
    baseline = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["baseline"]
    old = baseline.weight_kg
    table = Baseline._meta.db_table
    with audit_context(user=data_manager.pk, reason="database repair"), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET weight_kg = 99 WHERE id = %s", [baseline.pk])  # noqa: S608
    rows = list(events_for(baseline))
    assert float(rows[-2].weight_kg) == float(old) and float(rows[-1].weight_kg) == 99.0
    assert rows[-1].pgh_context.metadata == {"user": data_manager.pk, "reason": "database repair"}


def test_every_project_model_is_tracked_or_exempt_with_a_reason():
    """Coverage of the trail over the schema: a new model cannot be added without being audited."""
    project = [app for app in apps.get_app_configs() if app.name.startswith("registry.") or app.name == "analysis"]
    untracked, tracked = [], []
    for app in project:
        for model in app.get_models(include_auto_created=True):
            if issubclass(model, pghistory.models.Event) or model._meta.proxy:
                continue
            label = model._meta.label
            if label in NOT_TRACKED:
                continue
            proxies = [m for m in apps.get_models() if m._meta.proxy and m._meta.concrete_model is model
                       and hasattr(m, "pgh_event_model")]
            (tracked if hasattr(model, "pgh_event_model") or proxies else untracked).append(label)
    assert untracked == []
    assert {"analysis.AnalysisDefinition", "analysis.AnalysisSettings", "patients.Patient", "crfs.Baseline",
            "queries.DataQuery", "pathology.CentralReview", "exports.ExportJob"} <= set(tracked)
    for label, proxy in TRACKED_ELSEWHERE.items():
        assert apps.get_model(proxy)._meta.concrete_model is apps.get_model(label)
        assert hasattr(apps.get_model(proxy), "pgh_event_model")


def test_every_audit_event_table_refuses_update_and_delete():
    """Each event table carries the append-only trigger (so tampering fails on every table, not just one)."""
    tables = sorted({m._meta.db_table for m in apps.get_models()
                     if issubclass(m, pghistory.models.Event) and not m._meta.proxy})
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "WHERE t.tgname LIKE 'pgtrigger_append_only%%' AND NOT t.tgisinternal")
        guarded = {row[0] for row in cursor.fetchall()}
    assert tables and [t for t in tables if t not in guarded] == []


def test_djangos_user_commands_write_under_the_command_name(monkeypatch):
    call_command("createsuperuser", username="ops", email="ops@example.org", interactive=False,
                 stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = TrackedUser.objects.get(username="ops")
    meta = events_for(user, "insert").get().pgh_context.metadata
    assert meta["command"] == "createsuperuser"

    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a long new password 4 ops")
    call_command("changepassword", "ops", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user.refresh_from_db()
    assert user.check_password("a long new password 4 ops")
    event = events_for(user, "password_change").get()
    assert (event.pgh_context.metadata["command"], event.pgh_context.metadata["username"]) == ("changepassword", "ops")
    assert not hasattr(event, "password")  # that it changed is recorded, never the hash
