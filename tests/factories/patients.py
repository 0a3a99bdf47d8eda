"""Patients with real study ids (allocated through the per-site counter, as in production)."""

import factory
from django.db import transaction

from registry.patients.models import Patient
from registry.patients.services import study_id_allocate
from tests.factories.sites import SiteFactory, UserFactory


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    enrolled_by = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with transaction.atomic():
            number, study_id = study_id_allocate(site=kwargs["site"])
            return model_class.objects.create(study_id=study_id, sequence_number=number, **kwargs)
