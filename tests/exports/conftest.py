import pytest

from tests.factories.exports import cohort


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path):
    """Files under a private MEDIA_ROOT; messages (if any are sent) on a private queue."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORTS_QUEUE = "test-exports-unused"


@pytest.fixture
def two_sites(site_a, site_b, seeded_regimens):
    """Two patients at site A and one at site B, each with a complete case book and free text."""
    return {"a": cohort(site_a, 2), "b": cohort(site_b, 1)}


@pytest.fixture
def seeded_regimens(django_db_blocker):
    """Transactional tests flush the data migrations' rows; put the regimen code list back (upsert)."""
    import importlib

    from django.apps import apps

    importlib.import_module("registry.crfs.migrations.0003_seed_regimens").seed(apps, None)
