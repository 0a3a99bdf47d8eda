"""Agreement statistics equal the reference libraries' own numbers on a worked example."""

import numpy as np
import pandas as pd
import pingouin
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from registry.pathology import agreement

LOCAL = ["NEC", "NEC", "NET_G3", "NEC", "NET_G3", "MiNEN", "NEC", "NET_G3", "other", "NEC", "NET_G3", "NEC"]
CENTRAL = ["NEC", "NET_G3", "NET_G3", "NEC", "NEC", "MiNEN", "NEC", "NET_G3", "other", "NEC", "NET_G3", "NEC"]
KI67_LOCAL = [80.0, 25.0, 30.0, 60.0, 45.0, 70.0, 90.0, 22.0, 35.0, 55.0, 28.0, 66.0]
KI67_CENTRAL = [75.0, 30.0, 28.0, 66.0, 50.0, 60.0, 85.0, 19.0, 40.0, 52.0, 33.0, 70.0]


def test_reclassification_table_and_percent_agreement():
    table = agreement.reclassification_table(LOCAL, CENTRAL)
    expected = pd.crosstab(pd.Series(LOCAL), pd.Series(CENTRAL))
    assert (table.to_numpy() == expected.to_numpy()).all()
    assert list(table.index) == ["MiNEN", "NEC", "NET_G3", "other"]
    assert agreement.percent_agreement(LOCAL, CENTRAL) == pytest.approx(100 * 10 / 12)


def test_kappa_equals_sklearn_and_ci_equals_statsmodels():
    result = agreement.cohens_kappa(LOCAL, CENTRAL)
    assert result.kappa == pytest.approx(cohen_kappa_score(LOCAL, CENTRAL), abs=1e-12)
    reference = sm_kappa(pd.crosstab(pd.Series(LOCAL), pd.Series(CENTRAL)).to_numpy())
    assert result.ci_low == pytest.approx(max(-1.0, reference.kappa_low), abs=1e-12)
    assert result.ci_high == pytest.approx(min(1.0, reference.kappa_upp), abs=1e-12)
    assert result.n == 12


def test_kappa_undefined_cases():
    assert agreement.cohens_kappa(["NEC"] * 5, ["NEC"] * 5).kappa is None  # one category only
    assert agreement.cohens_kappa(["NEC", "NET_G3"], ["NEC", "NET_G3"]).kappa is None  # too few pairs


def test_bland_altman_equals_numpy():
    result = agreement.bland_altman(KI67_LOCAL, KI67_CENTRAL)
    diff = np.array(KI67_CENTRAL) - np.array(KI67_LOCAL)
    assert result.bias == pytest.approx(diff.mean())
    assert result.sd == pytest.approx(diff.std(ddof=1))
    assert result.loa_low == pytest.approx(diff.mean() - 1.96 * diff.std(ddof=1))
    assert result.loa_high == pytest.approx(diff.mean() + 1.96 * diff.std(ddof=1))


def test_icc_is_pingouin_icc_a1():
    result = agreement.icc(KI67_LOCAL, KI67_CENTRAL)
    n = len(KI67_LOCAL)
    data = pd.DataFrame({"target": list(range(n)) * 2, "rater": ["l"] * n + ["c"] * n,
                         "score": KI67_LOCAL + KI67_CENTRAL})
    table = pingouin.intraclass_corr(data=data, targets="target", raters="rater", ratings="score")
    row = table[table["Type"] == "ICC(A,1)"].iloc[0]
    assert result.icc == pytest.approx(row["ICC"], abs=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(row["CI95"]))
    assert "absolute agreement" in result.type and "ICC(A,1)" in result.type


def test_report_is_json_ready():
    import json

    report = agreement.agreement_report(list(zip(LOCAL, CENTRAL, strict=True)),
                                        list(zip(KI67_LOCAL, KI67_CENTRAL, strict=True)),
                                        list(zip(LOCAL, CENTRAL, strict=True)), [(1.0, 2.0)])
    json.dumps(report, allow_nan=False)
    assert report["category"]["kappa"]["kappa"] == pytest.approx(cohen_kappa_score(LOCAL, CENTRAL))
    assert report["reviewers"]["ki67"] == {"n": 1, "bland_altman": None, "icc": None}


def test_icc_undefined_without_residual_variance():
    assert agreement.icc([10.0, 20.0, 30.0], [15.0, 25.0, 35.0]) is None
