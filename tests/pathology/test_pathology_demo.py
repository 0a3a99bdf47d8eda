"""The demo loader takes cases through the services to a mix of states, and is idempotent."""

import io
from collections import Counter

import pytest

from registry.pathology.demo import load_pathology_demo
from registry.pathology.models import CentralReview, FinalClassification, ReviewCase, Shipment
from registry.sites.demo import seed_sites_and_users
from registry.sites.models import Site
from tests.factories.pathology import submitted_specimen

pytestmark = pytest.mark.django_db


def test_demo_loader_mixes_states_and_is_idempotent():
    seed_sites_and_users()
    site = Site.objects.get(code="OUS")
    for i in range(10):
        diagnosis = ("NEC_large_cell", "NET_G3", "NEC_small_cell")[i % 3]
        submitted_specimen(site=site, diagnosis=diagnosis, ki67={"NET_G3": "30.0"}.get(diagnosis, "80.0"))
    out = io.StringIO()
    load_pathology_demo(out)
    statuses = Counter(ReviewCase.objects.values_list("status", flat=True))
    assert statuses == {"awaiting_material": 2, "ready": 1, "in_review": 1, "final": 5, "adjudication": 1}
    methods = Counter(FinalClassification.objects.values_list("method", flat=True))
    assert methods == {"single_reviewer": 4, "two_reviewers_agree": 1}
    snapshot = (Shipment.objects.count(), CentralReview.objects.count(), FinalClassification.objects.count())
    load_pathology_demo(out)
    assert Counter(ReviewCase.objects.values_list("status", flat=True)) == statuses
    assert (Shipment.objects.count(), CentralReview.objects.count(), FinalClassification.objects.count()) \
        == snapshot
    assert "Pathology demo:" in out.getvalue()
