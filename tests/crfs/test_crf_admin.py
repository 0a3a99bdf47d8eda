"""The admin shows case report forms read-only and scoped; workflow actions go through the services."""

import pytest
from django.urls import reverse

from registry.crfs.catalogue import FAMILIES
from registry.crfs.models import FormStatus, TreatmentLine
from tests.factories.crfs import complete_casebook
from tests.factories.sites import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return complete_casebook(site=site_a, user=coordinator_a)


def admin_url(model, view="changelist", *args):
    return reverse(f"admin:crfs_{model._meta.model_name}_{view}", args=args)


def test_superuser_sees_every_family_read_only(client, casebook):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    for fam in FAMILIES:
        assert client.get(admin_url(fam.model)).status_code == 200
    line = casebook["treatment"]
    page = client.get(admin_url(TreatmentLine, "change", line.pk))
    assert page.status_code == 200 and b'name="start_date"' not in page.content
    client.post(admin_url(TreatmentLine, "change", line.pk), {"line_number": 7})
    line.refresh_from_db()
    assert line.line_number == 1 and line.version == 1


def test_admin_actions_use_the_workflow(client, casebook, coordinator_a):
    coordinator_a.is_staff = True
    coordinator_a.save()
    from django.contrib.auth.models import Permission

    coordinator_a.user_permissions.add(Permission.objects.get(codename="view_treatmentline"))
    client.force_login(coordinator_a)
    line = casebook["treatment"]
    client.post(admin_url(TreatmentLine), {"action": "form_submit", "_selected_action": [line.pk]})
    line.refresh_from_db()
    assert line.status == FormStatus.SUBMITTED and line.submitted_by == coordinator_a
    # A coordinator may not lock: the service refuses and nothing changes.
    client.post(admin_url(TreatmentLine), {"action": "form_lock", "_selected_action": [line.pk]})
    line.refresh_from_db()
    assert line.status == FormStatus.SUBMITTED


def test_staff_of_another_site_sees_no_rows(client, casebook, coordinator_b):
    from django.contrib.auth.models import Permission

    coordinator_b.is_staff = True
    coordinator_b.save()
    coordinator_b.user_permissions.add(Permission.objects.get(codename="view_treatmentline"))
    client.force_login(coordinator_b)
    page = client.get(admin_url(TreatmentLine))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 0
    assert client.get(admin_url(TreatmentLine, "change", casebook["treatment"].pk)).status_code == 302
