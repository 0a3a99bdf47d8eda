"""The demo loader leaves open, answered and closed queries (manual and automatic), and re-running it
changes nothing."""

import io

import pytest

from registry.queries.demo import load_queries_demo
from registry.queries.models import DataQuery, QueryOrigin, QueryStatus
from registry.sites.demo import seed_sites_and_users
from registry.sites.models import Site
from tests.factories.crfs import complete_casebook
from tests.factories.queries import casebook_with_warning

pytestmark = pytest.mark.django_db


def test_demo_queries_idempotent():
    seed_sites_and_users()
    ous = Site.objects.get(code="OUS")
    from django.contrib.auth import get_user_model

    coordinator = get_user_model().objects.get(username="coordinator.ous")
    for _ in range(3):
        casebook_with_warning(ous, coordinator)
    complete_casebook(site=ous, user=coordinator)
    out = io.StringIO()
    load_queries_demo(out)
    assert "Queries:" in out.getvalue()
    manual = DataQuery.objects.filter(origin=QueryOrigin.MANUAL)
    assert sorted(manual.values_list("status", flat=True)) == ["answered", "closed", "open"]
    auto = DataQuery.objects.filter(origin=QueryOrigin.AUTO)
    assert auto.filter(status=QueryStatus.OPEN).exists()
    assert auto.filter(status=QueryStatus.ANSWERED).exists() and auto.filter(status=QueryStatus.CLOSED).exists()
    before = sorted(DataQuery.objects.values_list("pk", "status"))
    load_queries_demo(io.StringIO())
    assert sorted(DataQuery.objects.values_list("pk", "status")) == before
