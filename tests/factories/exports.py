"""Export releases, REDCap API tokens and a small two-site cohort with free text and dates to de-identify."""

import factory

from registry.exports.models import ExportRelease, RedcapToken
from tests.factories.crfs import OtherTreatmentFactory, complete_casebook
from tests.factories.patients import PatientFactory
from tests.factories.sites import UserFactory


class ExportReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExportRelease

    name = factory.Sequence(lambda n: f"release-{n}")
    description = "Test release"


class RedcapTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RedcapToken

    user = factory.SubFactory(UserFactory)
    label = "test"


def cohort(site, n: int = 2, *, details: str = "Palliative radiotherapy to the spine, Dr Hansen"):
    """`n` patients at `site`, each with a complete case book and a free-text other treatment."""
    patients = []
    for _ in range(n):
        forms = complete_casebook(PatientFactory(site=site))
        OtherTreatmentFactory(patient=forms["patient"], details=details)
        patients.append(forms["patient"])
    return patients
