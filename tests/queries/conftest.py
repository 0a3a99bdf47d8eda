"""A transactional test's database flush also empties the rows data migrations seeded (the regimen code list,
the beat schedule); put them back so the tests after it find the database as migrations left it."""

from importlib import import_module

import pytest
from django.apps import apps
from pytest_django.plugin import blocking_manager_key


def reseed() -> None:
    import_module("registry.crfs.migrations.0003_seed_regimens").seed(apps, None)
    import_module("registry.queries.migrations.0002_beat_schedule").seed(apps, None)


@pytest.fixture
def regimens(transactional_db):
    """The regimen list, which an earlier transactional test's flush may have emptied."""
    reseed()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if item.get_closest_marker("browser") or item.get_closest_marker("worker"):
        with item.config.stash[blocking_manager_key].unblock():
            reseed()
