"""Case report forms built through the services, so derived values and findings are what production stores.

By default the factories describe one coherent patient: a pancreatic large-cell NEC with liver and distant
nodal metastases, diagnosed ~200 days ago, one palliative carboplatin-etoposide line with a partial response
and a recent follow-up visit. `complete_casebook()` enters all of it and passes every hard edit check.
Pass `user=` to act as a particular person; otherwise a coordinator of the patient's site enters the data.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from registry.crfs import services
from registry.crfs.models import (
    Baseline,
    Enrolment,
    FollowUp,
    LabResult,
    LocalPathology,
    OtherTreatment,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)
from registry.sites.models import Role
from tests.factories.patients import PatientFactory
from tests.factories.sites import member


def days_ago(n: int):
    return timezone.localdate() - timedelta(days=n)


#: The default patient's timeline, in days before today.
DIAGNOSIS, REGISTRATION, LINE1_START, LINE1_END, EVALUATION, VISIT = 200, 195, 180, 100, 130, 10


def data_entry_user(site):
    """A site coordinator at `site` (one per site, reused)."""
    username = f"coordinator_{site.code.lower()}"
    from django.contrib.auth import get_user_model

    existing = get_user_model().objects.filter(username=username).first()
    return existing or member(Role.SITE_COORDINATOR, site, username)


class FormFactory(factory.Factory):
    """Creates a form with `registry.crfs.services.form_create`; every other keyword is form data."""

    class Meta:
        abstract = True

    patient = factory.SubFactory(PatientFactory)
    #: The catalogue code the form is created under (underscore: not a declaration).
    _family_code = ""

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("user", None)
        return model_class(**kwargs)

    @classmethod
    def _create(cls, model_class, *args, patient, user=None, **data):
        user = user or data_entry_user(patient.site)
        return services.form_create(patient=patient, family_code=cls._family_code, data=data, user=user)


class EnrolmentFactory(FormFactory):
    _family_code = "enrolment"

    class Meta:
        model = Enrolment

    registration_date = factory.LazyFunction(lambda: days_ago(REGISTRATION))
    consent_obtained = "yes"
    consent_date = factory.LazyFunction(lambda: days_ago(REGISTRATION + 1))
    age_at_registration_ge_18 = True
    histological_confirmation = True
    ki67_gt_20_or_mitoses_gt_20 = True
    digestive_primary_or_gi_cup = True
    date_of_diagnosis = factory.LazyFunction(lambda: days_ago(DIAGNOSIS))
    registration_timing = "prospective_at_diagnosis"


class BaselineFactory(FormFactory):
    _family_code = "baseline"

    class Meta:
        model = Baseline

    sex = "male"
    date_of_birth = factory.LazyFunction(lambda: days_ago(DIAGNOSIS).replace(year=days_ago(DIAGNOSIS).year - 64,
                                                                              month=1, day=1))
    date_of_birth_precision = "year"
    ecog_ps = 1
    ps_assessment_date = factory.LazyFunction(lambda: days_ago(REGISTRATION))
    ps_source = "ecog_who"
    weight_kg = Decimal("74.0")
    height_cm = Decimal("178.0")


class TumourStagingFactory(FormFactory):
    _family_code = "tumour"

    class Meta:
        model = TumourStaging

    primary_site = "pancreas"
    disease_extent_at_diagnosis = "metastatic"
    advanced_disease_date = factory.LazyFunction(lambda: days_ago(DIAGNOSIS))
    metastatic_sites = factory.LazyFunction(lambda: ["liver", "lymph_nodes_distant"])
    resection_of_primary = "none"


class LocalPathologyFactory(FormFactory):
    _family_code = "pathology"

    class Meta:
        model = LocalPathology

    specimen_date = factory.LazyFunction(lambda: days_ago(DIAGNOSIS))
    is_diagnostic = True
    specimen_site = "liver_metastasis"
    specimen_type = "core_biopsy"
    classification_edition = "WHO2019"
    local_diagnosis = "NEC_large_cell"
    differentiation = "poor"
    cell_type = "large_cell"
    ki67_percent = Decimal("80.0")
    ki67_method = "manual_count"
    chromogranin_a_ihc = "positive"
    synaptophysin_ihc = "positive"


class TreatmentLineFactory(FormFactory):
    _family_code = "treatment"

    class Meta:
        model = TreatmentLine

    line_number = 1
    intent = "palliative"
    regimen = "carbo_etop"
    etoposide_route = "iv"
    start_date = factory.LazyFunction(lambda: days_ago(LINE1_START))
    end_date = factory.LazyFunction(lambda: days_ago(LINE1_END))
    n_cycles = 4
    reason_stopped = "completed_planned"
    ecog_ps_at_start = 1


class LabResultFactory(FormFactory):
    _family_code = "labs"

    class Meta:
        model = LabResult

    timepoint = "baseline_line1"
    analyte = "alp"
    sample_date = factory.LazyFunction(lambda: days_ago(LINE1_START + 3))
    value = Decimal("150")
    unit = "U/L"
    lln = Decimal("35")
    uln = Decimal("105")


class ResponseEvaluationFactory(FormFactory):
    """Needs `line=` (a TreatmentLine of the same patient); the patient is taken from it."""

    _family_code = "response"

    class Meta:
        model = ResponseEvaluation

    patient = factory.LazyAttribute(lambda o: o.line.patient)
    eval_date = factory.LazyFunction(lambda: days_ago(EVALUATION))
    method = "ct"
    criteria = "recist_1_1"
    new_lesions = False
    overall_response = "PR"


class OtherTreatmentFactory(FormFactory):
    _family_code = "other_treatment"

    class Meta:
        model = OtherTreatment

    type = "radiotherapy"
    date = factory.LazyFunction(lambda: days_ago(LINE1_END - 10))
    intent = "palliative"


class SystemicTreatmentStatusFactory(FormFactory):
    _family_code = "treatment_status"

    class Meta:
        model = SystemicTreatmentStatus

    received_palliative_systemic = "yes"


class FollowUpFactory(FormFactory):
    _family_code = "followup"

    class Meta:
        model = FollowUp

    visit_date = factory.LazyFunction(lambda: days_ago(VISIT))
    vital_status = "alive"
    date_last_known_alive = factory.LazyFunction(lambda: days_ago(VISIT))
    ps_at_visit = 1
    source_of_vital_status = "chart"


def complete_casebook(patient=None, *, user=None, **patient_kwargs):
    """Enter the default patient's every form (all drafts) and return {catalogue code: form}."""
    patient = patient or PatientFactory(**patient_kwargs)
    user = user or data_entry_user(patient.site)
    forms = {"patient": patient}
    forms["enrolment"] = EnrolmentFactory(patient=patient, user=user)
    forms["baseline"] = BaselineFactory(patient=patient, user=user)
    forms["tumour"] = TumourStagingFactory(patient=patient, user=user)
    forms["pathology"] = LocalPathologyFactory(patient=patient, user=user)
    forms["treatment_status"] = SystemicTreatmentStatusFactory(patient=patient, user=user)
    forms["treatment"] = TreatmentLineFactory(patient=patient, user=user)
    forms["labs"] = LabResultFactory(patient=patient, user=user)
    forms["response"] = ResponseEvaluationFactory(line=forms["treatment"], user=user)
    forms["followup"] = FollowUpFactory(patient=patient, user=user)
    return forms


def form_data(factory_class, **overrides):
    """The factory's (valid) field values as the plain mapping a service takes, e.g. for patient_enrol."""
    data = factory.build(dict, FACTORY_CLASS=factory_class, patient=None, **overrides)
    data.pop("patient", None)
    data.pop("user", None)
    return data
