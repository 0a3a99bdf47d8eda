"""Fixtures for the CRF web pages: a site-A patient with a full case book, and logged-in clients."""

import pytest

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
