"""EC25 (central vs local discordance) and EC26 (outcome population needs a final HG-NEN classification)."""

from decimal import Decimal

from registry.crfs.validation import Severity
from tests.crfs.casebooks import assert_fires, assert_silent, clean_casebook, findings

# EC25 ------------------------------------------------------------------------------------------------------


def test_ec25_central_ki67_25_points_below_local_is_a_warning():
    cb = clean_casebook()
    cb.central_reviews[0]["ki67_central_percent"] = Decimal(45)  # local 70; also crosses 55
    f = assert_fires(
        cb, "EC25", Severity.WARNING, form="central_review", field="ki67_central_percent", row="R1"
    )
    assert "20 percentage points" in f.message and "55 %" in f.message


def test_ec25_ki67_crossing_55_by_two_points_is_a_warning():
    cb = clean_casebook()
    cb.specimens[0]["ki67_percent"] = Decimal(54)
    cb.central_reviews[0]["ki67_central_percent"] = Decimal(56)
    f = assert_fires(
        cb, "EC25", Severity.WARNING, form="central_review", field="ki67_central_percent", row="R1"
    )
    assert "55 %" in f.message and "percentage points" not in f.message


def test_ec25_central_nec_for_a_local_net_g3_crosses_the_boundary():
    cb = clean_casebook()
    cb.specimens[0].update(local_diagnosis="NET_G3", differentiation="well", cell_type=None)
    assert_fires(cb, "EC25", Severity.WARNING, form="central_review", field="central_diagnosis", row="R1")


def test_ec25_ki67_difference_just_under_20_points_on_one_side_of_55_is_concordant():
    cb = clean_casebook()
    cb.specimens[0]["ki67_percent"] = Decimal("75.0")
    cb.central_reviews[0]["ki67_central_percent"] = Decimal("55.1")
    assert_silent(cb, "EC25")


def test_ec25_ki67_of_exactly_55_centrally_is_high_like_a_local_70():
    cb = clean_casebook()
    cb.central_reviews[0]["ki67_central_percent"] = Decimal(55)
    assert_silent(cb, "EC25")


def test_ec25_an_unsubmitted_review_is_not_compared_so_the_reviewer_stays_blinded():
    cb = clean_casebook()
    cb.central_reviews[0].update(
        ki67_central_percent=Decimal(25), central_diagnosis="NET_G3", submitted=False
    )
    assert findings(cb, "EC25") == []


def test_ec25_nec_subtype_change_is_not_a_net_nec_crossing():
    cb = clean_casebook()
    cb.central_reviews[0].update(central_diagnosis="NEC_small_cell", cell_type="small_cell")
    assert_silent(cb, "EC25")


# EC26 ------------------------------------------------------------------------------------------------------


def test_ec26_outcome_patient_classified_not_hg_nen_is_an_error():
    cb = clean_casebook()
    cb.final_classification["final_diagnosis"] = "not_HG_NEN"
    assert_fires(cb, "EC26", Severity.ERROR, form="final_classification", field="final_diagnosis")


def test_ec26_outcome_patient_not_reviewable_is_an_error():
    cb = clean_casebook()
    cb.final_classification["final_diagnosis"] = "not_reviewable"
    assert_fires(cb, "EC26", Severity.ERROR, form="final_classification", field="final_diagnosis")


def test_ec26_outcome_patient_with_pending_review_shows_awaiting_central_review():
    cb = clean_casebook(final_classification=None)
    f = assert_fires(cb, "EC26", Severity.INFO, form="final_classification", field="final_diagnosis")
    assert "awaiting central review" in f.message


def test_ec26_patient_outside_the_outcome_population_is_not_checked():
    cb = clean_casebook(in_outcome_population=False)
    cb.final_classification["final_diagnosis"] = "not_HG_NEN"
    assert_silent(cb, "EC26")


def test_ec26_outcome_patient_classified_net_g3_is_accepted():
    cb = clean_casebook()
    cb.final_classification["final_diagnosis"] = "NET_G3"
    assert_silent(cb, "EC26")
