"""Derived values (never typed in): eligible, age, site group, organ count, platinum flags, eval_number,
best response, lab ratios and baseline flags, and exact unit conversion on save."""

from decimal import Decimal

import pytest

from registry.crfs.models import Drug, LabResult, Regimen, ResponseEvaluation
from registry.crfs.services import form_update
from registry.crfs.validation.regimens import REGIMENS
from tests.factories.crfs import (
    EnrolmentFactory,
    LabResultFactory,
    ResponseEvaluationFactory,
    TreatmentLineFactory,
    TumourStagingFactory,
    complete_casebook,
    days_ago,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return complete_casebook(site=site_a, user=coordinator_a)


def test_regimens_seeded_from_code_list():
    assert set(Regimen.objects.values_list("code", flat=True)) == {r.code for r in REGIMENS}
    assert sorted(Regimen.objects.get(code="folfox").drugs.values_list("code", flat=True)) == [
        "fluorouracil", "folinic_acid", "oxaliplatin"]
    assert set(Drug.objects.filter(is_platinum=True).values_list("platinum_agent", flat=True)) == {
        "cisplatin", "carboplatin", "oxaliplatin"}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [({}, True), ({"histological_confirmation": False}, False), ({"digestive_primary_or_gi_cup": None}, None)],
)
def test_eligible_is_the_and_of_the_criteria(site_a, coordinator_a, criteria, expected):
    reason = {"ineligibility_reason": "No histology"} if expected is False else {}
    enrolment = EnrolmentFactory(patient__site=site_a, user=coordinator_a, **criteria, **reason)
    assert enrolment.eligible is expected


def test_age_at_diagnosis_from_partial_birth_date(casebook, coordinator_a):
    baseline = casebook["baseline"]
    baseline.refresh_from_db()
    born = baseline.date_of_birth.replace(month=7, day=1)  # year precision: 1 July imputed
    expected = Decimal((days_ago(200) - born).days) / Decimal("365.25")
    assert baseline.age_at_diagnosis == expected.quantize(Decimal("0.1"))
    # Changing the diagnosis date on F1 updates the age stored on F2.
    enrolment = form_update(casebook["enrolment"], data={"date_of_diagnosis": days_ago(565)}, user=coordinator_a,
                            expected_version=1)
    baseline.refresh_from_db()
    assert baseline.age_at_diagnosis == (expected - 1).quantize(Decimal("0.1"))
    assert enrolment.version == 2


@pytest.mark.parametrize(
    ("primary_site", "group"),
    [("pancreas", "pancreatobiliary"), ("rectum", "colorectal"), ("colon_right", "colorectal"),
     ("stomach", "oesophagus_stomach"), ("jejunum_ileum", "small_bowel"),
     ("unknown_primary_gi_pattern", "unknown"), ("anal_canal", "other"), ("appendix", "other")],
)
def test_primary_site_group(site_a, coordinator_a, primary_site, group):
    assert TumourStagingFactory(patient__site=site_a, user=coordinator_a,
                                primary_site=primary_site).primary_site_group == group


def test_anal_canal_group_is_configurable(site_a, coordinator_a, settings):
    settings.REGISTRY_ANAL_CANAL_IS_COLORECTAL = True
    assert TumourStagingFactory(patient__site=site_a, user=coordinator_a,
                                primary_site="anal_canal").primary_site_group == "colorectal"


def test_n_metastatic_organs_ignores_regional_nodes(site_a, coordinator_a):
    tumour = TumourStagingFactory(patient__site=site_a, user=coordinator_a,
                                  metastatic_sites=["liver", "lymph_nodes_regional", "bone", "liver"])
    assert tumour.n_metastatic_organs == 2


@pytest.mark.parametrize(
    ("regimen", "flags"),
    [("carbo_etop", (True, True, False)), ("cis_etop", (True, True, False)), ("folfox", (True, False, False)),
     ("captem", (False, False, True)), ("folfiri", (False, False, False)), ("other", (None, None, None))],
)
def test_platinum_flags_derived_from_components(casebook, coordinator_a, regimen, flags):
    extra = {"regimen_other_text": "Lurbinectedin"} if regimen == "other" else {}
    line = form_update(casebook["treatment"], data={"regimen": regimen, **extra}, user=coordinator_a,
                       expected_version=1)
    assert (line.contains_platinum_any, line.is_platinum_etoposide, line.is_temozolomide_based) == flags


def test_bevacizumab_combo_takes_flags_from_its_backbone(casebook, coordinator_a):
    line = form_update(casebook["treatment"], user=coordinator_a, expected_version=1,
                       data={"regimen": "bevacizumab_combo", "backbone_regimen": "folfox"})
    assert (line.contains_platinum_any, line.is_platinum_etoposide) == (True, False)


def test_eval_number_follows_dates_and_line_outcome(casebook, coordinator_a):
    line = casebook["treatment"]
    later = ResponseEvaluationFactory(line=line, user=coordinator_a, eval_date=days_ago(105),
                                      overall_response="PD", progression_type="radiological")
    earlier = ResponseEvaluationFactory(line=line, user=coordinator_a, eval_date=days_ago(160),
                                        overall_response="SD")
    numbers = dict(ResponseEvaluation.objects.filter(line=line).values_list("pk", "eval_number"))
    assert numbers == {earlier.pk: 1, casebook["response"].pk: 2, later.pk: 3}
    assert earlier.eval_number == 1
    line.refresh_from_db()
    assert (line.best_response, line.date_progression) == ("PR", days_ago(105))


def test_lab_ratio_and_baseline_flag(casebook, coordinator_a):
    lab = casebook["labs"]
    assert (lab.value_x_uln, lab.above_uln) == (Decimal("1.4286"), True)
    lab.refresh_from_db()
    assert lab.is_baseline is True
    # A later sample inside the −30/+3 day window becomes the baseline instead.
    newer = LabResultFactory(patient=casebook["patient"], user=coordinator_a, sample_date=days_ago(178),
                             value=Decimal("90"))
    lab.refresh_from_db()
    assert (newer.is_baseline, lab.is_baseline) == (True, False)
    assert newer.above_uln is False
    # Outside the window: never baseline.
    late = LabResultFactory(patient=casebook["patient"], user=coordinator_a, sample_date=days_ago(170),
                            timepoint="on_treatment")
    assert late.is_baseline is False


def test_exact_unit_conversions_keep_what_the_lab_reported(casebook, coordinator_a):
    patient = casebook["patient"]
    alp = LabResultFactory(patient=patient, user=coordinator_a, timepoint="diagnosis", sample_date=days_ago(199),
                           value=Decimal("2.5"), unit="µkat/L", lln=Decimal("0.6"), uln=Decimal("1.75"))
    assert (alp.value, alp.unit, alp.lln, alp.uln) == (Decimal("150"), "U/L", Decimal("36"), Decimal("105"))
    assert (alp.entered_value, alp.entered_unit) == (Decimal("2.5"), "µkat/L")
    hb = LabResultFactory(patient=patient, user=coordinator_a, analyte="haemoglobin", timepoint="diagnosis",
                          sample_date=days_ago(199), value=Decimal("8.0"), unit="mmol/L", lln=Decimal("8.3"),
                          uln=Decimal("10.5"))
    assert (hb.value, hb.unit) == (Decimal("12.888"), "g/dL")
    hb_gl = LabResultFactory(patient=patient, user=coordinator_a, analyte="haemoglobin", timepoint="diagnosis",
                             sample_date=days_ago(199), value=Decimal("128"), unit="g/l", lln=Decimal("134"),
                             uln=Decimal("170"))
    assert (hb_gl.value, hb_gl.unit, hb_gl.entered_unit) == (Decimal("12.8"), "g/dL", "g/l")
    stored = LabResult.objects.get(pk=hb_gl.pk)
    assert stored.value == Decimal("12.8") and stored.entered_value == Decimal("128")


def test_chromogranin_a_is_never_converted(casebook, coordinator_a):
    cga = LabResultFactory(patient=casebook["patient"], user=coordinator_a, analyte="cga", timepoint="diagnosis",
                           sample_date=days_ago(199), value=Decimal("4.2"), unit="nmol/L", lln=None,
                           uln=Decimal("3.0"), assay_name="Kryptor")
    assert (cga.value, cga.unit, cga.above_uln) == (Decimal("4.2"), "nmol/L", True)


def test_second_line_lab_is_baseline_for_its_own_line(casebook, coordinator_a):
    line2 = TreatmentLineFactory(patient=casebook["patient"], user=coordinator_a, line_number=2,
                                 regimen="folfiri", start_date=days_ago(90), end_date=None, reason_stopped="",
                                 etoposide_route="")
    lab = LabResultFactory(patient=casebook["patient"], user=coordinator_a, timepoint="baseline_line_n",
                           line=line2, sample_date=days_ago(95))
    assert lab.is_baseline is True
    casebook["labs"].refresh_from_db()
    assert casebook["labs"].is_baseline is True
