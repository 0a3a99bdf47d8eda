"""Shared fixtures: the personas every endpoint test uses (member, member of another site, outsider),
plus study-wide roles, and API clients authenticated by token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.sites.models import Country, Role
from tests.factories.sites import SiteFactory, UserFactory, member


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """API throttle counters live in the cache; each test starts with none (the limits are tested on their own)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def site_a(db):
    return SiteFactory(code="OUS", name="Oslo University Hospital", country=Country.NORWAY)


@pytest.fixture
def site_b(db):
    return SiteFactory(code="AUH", name="Aarhus University Hospital", country=Country.DENMARK)


@pytest.fixture
def coordinator_a(site_a):
    return member(Role.SITE_COORDINATOR, site_a, "coord_a")


@pytest.fixture
def investigator_a(site_a):
    return member(Role.SITE_INVESTIGATOR, site_a, "inv_a")


@pytest.fixture
def coordinator_b(site_b):
    return member(Role.SITE_COORDINATOR, site_b, "coord_b")


@pytest.fixture
def monitor_a(site_a):
    return member(Role.MONITOR, site_a, "monitor_a")


@pytest.fixture
def data_manager(db):
    return member(Role.DATA_MANAGER, None, "dm")


@pytest.fixture
def pathologist(db):
    return member(Role.CENTRAL_PATHOLOGIST, None, "patho1")


@pytest.fixture
def pathologist_2(db):
    return member(Role.CENTRAL_PATHOLOGIST, None, "patho2")


@pytest.fixture
def statistician(db):
    return member(Role.STATISTICIAN, None, "stat")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def api_client():
    """Returns a function: api_client(user) -> APIClient authenticated with the user's token."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def _reseed_data_migrations() -> None:
    """Re-run every project data migration's idempotent `seed` (regimens, analysis definitions, beat rows)."""
    from importlib import import_module

    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    local = {app.label for app in apps.get_app_configs()
             if app.name.startswith("registry.") or app.name == "analysis"}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (label, _name), migration in sorted(loader.disk_migrations.items()):
        if label in local:
            module = import_module(migration.__module__)
            if hasattr(module, "seed"):
                module.seed(apps, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends with a flush that also empties tables seeded by data migrations; put them
    back so every later test finds the database as the migrations left it."""
    yield
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or \
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
    # After the last test the test database is already gone (session teardown): nothing to re-seed.
    if transactional and nextitem is not None:
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            _reseed_data_migrations()


@pytest.fixture
def regimens(transactional_db):
    """Data-migration seeds (regimen list, ...) for a transactional test that may follow another's flush."""
    _reseed_data_migrations()
