"""The quality dashboard sums completeness counts stored on each form row; these must always equal what
`incomplete_fields()` says, whatever path wrote the row, and the dashboard must equal the per-form rule."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from registry.crfs import services
from registry.crfs.catalogue import FAMILIES
from registry.crfs.models import FollowUp, FormStatus, ResponseEvaluation, TreatmentLine
from registry.queries.selectors import quality_dashboard
from tests.factories.crfs import FollowUpFactory, complete_casebook, days_ago

pytestmark = pytest.mark.django_db


def expected_counts(form) -> tuple[int, int]:
    """The dashboard's rule as it was computed before the counts were stored, straight from the form."""
    required = len(form.REQUIRED_ON_SUBMIT)
    missing = form.incomplete_fields()
    return (required + len([k for k in missing if k not in form.REQUIRED_ON_SUBMIT]),
            required - len([k for k in missing if k in form.REQUIRED_ON_SUBMIT]))


def stored(form) -> tuple[int, int]:
    return tuple(type(form).objects.filter(pk=form.pk).values_list("required_count", "required_filled").get())


def all_forms():
    for fam in FAMILIES:
        yield from fam.model.objects.all()


@pytest.fixture
def mixed_casebooks(site_a, site_b, coordinator_a, coordinator_b):
    """One complete case book and two with missing required and conditionally required values."""
    complete_casebook(site=site_a, user=coordinator_a)
    gaps = complete_casebook(site=site_a, user=coordinator_a)
    FollowUpFactory(patient=gaps["patient"], user=coordinator_a, date_last_known_alive=None, ps_at_visit=None)
    other = complete_casebook(site=site_b, user=coordinator_b)
    services.form_update(other["response"], data={"overall_response": "PD", "progression_type": ""},
                         user=coordinator_b, expected_version=other["response"].version)
    return gaps, other


def test_stored_counts_equal_incomplete_fields_after_service_saves(mixed_casebooks):
    forms = list(all_forms())
    assert len(forms) == 28
    for form in forms:
        assert stored(form) == expected_counts(form), form
    followup = FollowUp.objects.get(patient=mixed_casebooks[0]["patient"], date_last_known_alive=None)
    assert "date_last_known_alive" in followup.incomplete_fields()
    assert followup.required_count == len(FollowUp.REQUIRED_ON_SUBMIT) + 1
    assert followup.required_filled == len(FollowUp.REQUIRED_ON_SUBMIT)


def test_a_field_change_through_the_service_updates_the_counts(site_a, coordinator_a):
    form = FollowUpFactory(patient__site=site_a, user=coordinator_a, date_last_known_alive=None)
    before = stored(form)
    assert before[0] > before[1]
    form = services.form_update(form, data={"date_last_known_alive": days_ago(3)}, user=coordinator_a,
                                expected_version=form.version)
    assert stored(form) == expected_counts(form) == (before[0] - 1, before[1])
    assert stored(form)[0] == stored(form)[1]


def test_admin_workflow_action_keeps_the_counts(client, site_a, coordinator_a):
    from django.contrib.auth.models import Permission

    line = complete_casebook(site=site_a, user=coordinator_a)["treatment"]
    coordinator_a.is_staff = True
    coordinator_a.save()
    coordinator_a.user_permissions.add(Permission.objects.get(codename="view_treatmentline"))
    client.force_login(coordinator_a)
    client.post(reverse("admin:crfs_treatmentline_changelist"),
                {"action": "form_submit", "_selected_action": [line.pk]})
    line.refresh_from_db()
    assert line.status == FormStatus.SUBMITTED
    assert stored(line) == expected_counts(line) and line.required_count == line.required_filled > 0


def test_bulk_create_and_bulk_update_store_the_counts(site_a, coordinator_a):
    template = FollowUpFactory(patient__site=site_a, user=coordinator_a)
    copies = [FollowUp(patient=template.patient, visit_date=days_ago(n), vital_status="alive" if n < 22 else "",
                       date_last_known_alive=None if n == 21 else days_ago(n), source_of_vital_status="chart")
              for n in (20, 21, 22)]
    FollowUp.objects.bulk_create(copies)
    for copy in copies:
        assert stored(copy) == expected_counts(copy)
    assert [stored(c) for c in copies] == [(2, 2), (3, 2), (2, 1)]  # conditional and required gaps counted
    for copy in copies:
        copy.date_last_known_alive, copy.vital_status = days_ago(1), "alive"
    FollowUp.objects.bulk_update(copies, ["date_last_known_alive", "vital_status"])
    for copy in copies:
        assert stored(copy) == expected_counts(copy) and stored(copy)[0] == stored(copy)[1]


def test_data_migration_fills_counts_of_existing_rows(mixed_casebooks):
    for fam in FAMILIES:
        fam.model.objects.update(required_count=0, required_filled=0)
    migration = importlib.import_module("registry.crfs.migrations.0005_fill_form_completeness")
    with connection.schema_editor() as editor:
        migration.fill(apps, editor)
    for form in all_forms():
        assert stored(form) == expected_counts(form), form
    assert TreatmentLine.objects.filter(required_count__gt=0).count() == 3


def test_dashboard_equals_the_per_form_rule(mixed_casebooks, data_manager, django_assert_max_num_queries):
    with django_assert_max_num_queries(len(FAMILIES) + 4):
        rows = {(r.site_id, r.family): r for r in quality_dashboard(data_manager)}
    expected: dict = {}
    for fam in FAMILIES:
        for form in fam.model.objects.select_related("patient"):
            key = (form.patient.site_id, fam.code)
            forms, submitted, required, filled = expected.get(key, (0, 0, 0, 0))
            req, fil = expected_counts(form)
            expected[key] = (forms + 1, submitted + (form.status != FormStatus.DRAFT), required + req, filled + fil)
    assert expected
    for key, (forms, submitted, required, filled) in expected.items():
        row = rows[key]
        assert (row.forms, row.forms_submitted, row.required_fields, row.required_filled) == (
            forms, submitted, required, filled), key
    incomplete = [r for r in rows.values() if r.family == "response" and r.required_fields != r.required_filled]
    assert len(incomplete) == 1 and ResponseEvaluation.objects.filter(overall_response="PD").count() == 1
    totals = [r for r in rows.values() if r.family == ""]
    assert sum(r.forms for r in totals) == 28 and any(r.completeness_pct < 100 for r in totals)



def test_queryset_update_of_a_data_field_refreshes_the_counts(site_a, coordinator_a):
    form = FollowUpFactory(patient__site=site_a, user=coordinator_a)
    assert stored(form) == (2, 2)
    FollowUp.objects.filter(pk=form.pk).update(date_last_known_alive=None)  # e.g. a correction in the shell
    form.refresh_from_db()
    assert stored(form) == expected_counts(form) == (3, 2)
    FollowUp.objects.filter(pk=form.pk).update(vital_status="dead")
    form.refresh_from_db()
    assert stored(form) == expected_counts(form) == (2, 2)


def test_generator_copy_path_stores_the_counts(site_a):
    from bench.scale_data import insert_patients

    insert_patients(6, workers=1)
    forms = list(all_forms())
    assert len(forms) > 6 * 5
    for form in forms:
        assert stored(form) == expected_counts(form), form
    assert any(f.required_count > 0 for f in forms)
