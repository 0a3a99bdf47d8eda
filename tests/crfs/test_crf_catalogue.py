"""The catalogue is the single list of form families; every family is scoped, audited and checkable."""

import pytest

from registry.crfs.catalogue import BY_CODE, FAMILIES, family, family_of
from registry.crfs.models import ResponseEvaluation
from registry.crfs.validation import FORMS


def test_codes_are_unique_and_map_to_validation_families():
    assert len(BY_CODE) == len(FAMILIES)
    assert {f.check_form for f in FAMILIES} <= set(FORMS)
    assert family("response").parent == "treatment" and family("response").parent_field == "line"
    assert family_of(ResponseEvaluation) is family("response")


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.code)
def test_every_family_is_site_scoped_and_audited(fam):
    assert fam.model.objects.all().site_field == "patient__site"
    assert hasattr(fam.model, "pgh_event_model")
    assert set(fam.model.REQUIRED_ON_SUBMIT) <= set(fam.model.data_fields())
    assert not set(fam.model.DERIVED_FIELDS) & set(fam.model.data_fields())
