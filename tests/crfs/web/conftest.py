"""Fixtures for the CRF web pages: a site-A patient with a full case book, and logged-in clients."""

from importlib import import_module

import pytest
from django.apps import apps
from pytest_django.plugin import blocking_manager_key

from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory


@pytest.fixture
def casebook(site_a, coordinator_a):
    """A site-A patient with every form entered (drafts) by coordinator_a; {catalogue code: form}."""
    return complete_casebook(PatientFactory(site=site_a, enrolled_by=coordinator_a), user=coordinator_a)


@pytest.fixture
def login(client):
    """login(user) -> the test client signed in as `user`."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def _seed_regimens() -> None:
    import_module("registry.crfs.migrations.0003_seed_regimens").seed(apps, None)


@pytest.fixture
def regimens(transactional_db):
    """The regimen code list, which an earlier transactional test's flush may have emptied."""
    _seed_regimens()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A browser test's database flush also empties the regimen list that a data migration seeded; put it
    back so the tests after it find the database as migrations left it."""
    yield
    if item.get_closest_marker("browser"):
        with item.config.stash[blocking_manager_key].unblock():
            _seed_regimens()
