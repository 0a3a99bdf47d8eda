"""Registry patients for analysis tests, entered through the CRF services (tests/factories/crfs.py), plus the
central final classification the analyses read.

`analysis_patient()` takes a compact clinical story (dates, regimen, evaluations, vital status) and enters it
form by form exactly as a site would; derived values (eval numbers, flags, baseline labs) are the services'.
The final classification is written as the central-review workflow's end product (FinalClassification row),
because walking each test patient through shipment, blinded reads and adjudication would test pathology, not
analysis.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from registry.pathology.models import FinalClassification
from tests.factories.crfs import (
    BaselineFactory,
    EnrolmentFactory,
    FollowUpFactory,
    LabResultFactory,
    LocalPathologyFactory,
    ResponseEvaluationFactory,
    TreatmentLineFactory,
    TumourStagingFactory,
    data_entry_user,
)
from tests.factories.patients import PatientFactory

#: Default story: diagnosed 2022-01-10, line 1 (carboplatin-etoposide) from 2022-02-01, alive 2022-12-01.
DIAGNOSIS = date(2022, 1, 10)
LINE1_START = date(2022, 2, 1)


def classify(patient, final_diagnosis: str = "NEC_large", *, ki67: Decimal | None = Decimal("80"),
             source: str = "central", method: str = "single_reviewer") -> FinalClassification:
    """The patient's final classification as central review leaves it."""
    return FinalClassification.objects.create(
        patient=patient, final_diagnosis=final_diagnosis, final_ki67=ki67,
        ki67_source=source if ki67 is not None else "none", method=method, discordant_with_local=False,
        decided_at=timezone.now())


def analysis_patient(
    site,
    *,
    user=None,
    diagnosis: date = DIAGNOSIS,
    diagnosis_precision: str = "day",
    sex: str = "male",
    birth_year: int = 1955,
    ps: int | None = 1,
    extent: str = "metastatic",
    primary_site: str = "pancreas",
    local_ki67: Decimal | None = Decimal("70"),
    line1_start: date | None = LINE1_START,
    line1_start_precision: str = "day",
    regimen: str = "carbo_etop",
    intent: str = "palliative",
    evaluations: list[tuple[date, str]] = (),
    clinical_progression: date | None = None,
    alive_on: date | None = date(2022, 12, 1),
    died_on: date | None = None,
    death_precision: str = "day",
    alp: tuple[str, str] | None = ("150", "105"),
    final: str | None = "NEC_large",
    central_ki67: Decimal | None = Decimal("80"),
    eligible: bool = True,
) -> dict[str, Any]:
    """Enter one patient's forms through the services; returns {"patient": ..., form code: form}."""
    patient = PatientFactory(site=site)
    user = user or data_entry_user(site)
    forms: dict[str, Any] = {"patient": patient}
    extra = {} if eligible else {"histological_confirmation": False, "ineligibility_reason": "No histology"}
    forms["enrolment"] = EnrolmentFactory(
        patient=patient, user=user, date_of_diagnosis=diagnosis, date_of_diagnosis_precision=diagnosis_precision,
        registration_date=diagnosis + timedelta(days=3), consent_date=diagnosis + timedelta(days=2), **extra)
    forms["baseline"] = BaselineFactory(
        patient=patient, user=user, sex=sex, date_of_birth=date(birth_year, 1, 1), ecog_ps=ps,
        ecog_ps_missing_reason="" if ps is not None else "unknown", ps_assessment_date=diagnosis)
    sites = ["liver", "lymph_nodes_distant"] if extent == "metastatic" else []
    forms["tumour"] = TumourStagingFactory(patient=patient, user=user, primary_site=primary_site,
                                           disease_extent_at_diagnosis=extent, metastatic_sites=sites,
                                           advanced_disease_date=diagnosis if extent == "metastatic" else None)
    forms["pathology"] = LocalPathologyFactory(
        patient=patient, user=user, specimen_date=diagnosis, ki67_percent=local_ki67,
        ki67_percent_missing_reason="" if local_ki67 is not None else "not_done")
    if line1_start is not None:
        forms["treatment"] = TreatmentLineFactory(
            patient=patient, user=user, regimen=regimen, intent=intent, start_date=line1_start,
            start_date_precision=line1_start_precision, end_date=None, reason_stopped="ongoing",
            ecog_ps_at_start=None, clinical_progression=clinical_progression is not None,
            clinical_progression_date=clinical_progression)
        if alp is not None:
            forms["labs"] = LabResultFactory(patient=patient, user=user, sample_date=line1_start - timedelta(days=3),
                                             value=Decimal(alp[0]), uln=Decimal(alp[1]))
        forms["evaluations"] = [
            ResponseEvaluationFactory(line=forms["treatment"], user=user, eval_date=when, overall_response=response,
                                      new_lesions=response == "PD", progression_type="radiological"
                                      if response == "PD" else "")
            for when, response in evaluations]
    if died_on is not None:
        forms["followup"] = FollowUpFactory(
            patient=patient, user=user, visit_date=died_on, vital_status="dead", date_last_known_alive=None,
            date_of_death=died_on, date_of_death_precision=death_precision, cause_of_death="disease",
            ps_at_visit=None)
    elif alive_on is not None:
        forms["followup"] = FollowUpFactory(patient=patient, user=user, visit_date=alive_on, vital_status="alive",
                                            date_last_known_alive=alive_on)
    if final is not None:
        forms["final"] = classify(patient, final, ki67=central_ki67)
    return forms


_SITES = ("pancreas", "rectum", "stomach", "colon_right", "jejunum_ileum")
_RESPONSES = ("PD", "SD", "PR", "SD", "PD", "CR", "SD")


def cohort(site, *, n_nec: int = 8, n_net: int = 6, user=None) -> list[dict[str, Any]]:
    """A small deterministic NEC + NET G3 cohort with events, censoring and covariate variation in both groups."""
    patients = []
    for i in range(n_nec + n_net):
        nec = i < n_nec
        start = date(2018, 1, 8) + timedelta(days=9 * i)
        first = start + timedelta(days=49 + (i % 3) * 7)
        response = _RESPONSES[i % len(_RESPONSES)]
        evaluations = [(first, response)]
        if response != "PD":
            evaluations.append((first + timedelta(days=63), "PD" if i % 2 else "SD"))
        died = i % 3 != 2
        patients.append(analysis_patient(
            site, user=user, diagnosis=start - timedelta(days=21), sex="male" if i % 2 else "female",
            birth_year=1940 + (i * 7) % 35, ps=i % 4, primary_site=_SITES[i % len(_SITES)],
            line1_start=start, regimen="carbo_etop" if nec or i % 2 else "captem",
            evaluations=[] if i % 7 == 6 else evaluations,
            died_on=start + timedelta(days=150 + (41 * i) % 700 + (0 if nec else 200)) if died else None,
            alive_on=None if died else start + timedelta(days=400 + (10 * i) % 300),
            alp=("150", "105") if i % 2 == 0 else ("80", "105"),
            final="NEC_large" if nec else "NET_G3",
            central_ki67=Decimal(str(70 + i % 30)) if nec and i % 3 else Decimal(str(30 + i % 20))))
    return patients
