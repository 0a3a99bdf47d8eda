"""Figures render from stored estimator dicts to PNG and SVG bytes without leaking pyplot figures."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.estimators import cox_model, cox_univariable, kaplan_meier
from analysis.plots import forest_plot, km_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 150
    df = pd.DataFrame(
        {
            "group": rng.choice(["NEC", "NET G3", "MiNEN"], n),
            "age": rng.normal(64, 10, n).round(),
            "ps": rng.choice(["0", "1", "2"], n),
            "male": rng.integers(0, 2, n),
        }
    )
    hazard = np.exp(0.6 * (df.group == "NEC") + 0.4 * (df.ps != "0"))
    event_time = np.ceil(rng.exponential(300 / hazard))
    censor_time = np.ceil(rng.uniform(100, 900, n))
    df["duration_days"] = np.minimum(event_time, censor_time)
    df["event"] = (event_time <= censor_time).astype(int)
    return df


@pytest.fixture(scope="module")
def model(cohort) -> dict:
    return cox_model(
        cohort,
        covariates=[
            {"name": "age", "kind": "continuous", "scale": 10, "label": "Age"},
            {"name": "ps", "kind": "categorical", "reference": "0", "label": "ECOG PS"},
            {"name": "male", "kind": "binary", "label": "Male"},
        ],
    )


@pytest.fixture(autouse=True)
def no_figure_leak():
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == []


def stored(result: dict) -> dict:
    """What comes back from a JSONField: plots must work from that, not from live objects."""
    return json.loads(json.dumps(result, allow_nan=False))


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000


def assert_svg(data: bytes) -> ET.Element:
    root = ET.fromstring(data)  # noqa: S314 - our own matplotlib output, not untrusted input
    assert root.tag.endswith("svg")
    return root


def svg_text(data: bytes) -> str:
    return data.decode("utf-8")


@pytest.mark.parametrize("group_col", [None, "group"])
def test_km_plot_renders_png_and_svg_for_one_and_several_groups(cohort, group_col):
    result = stored(kaplan_meier(cohort, group_col=group_col))
    assert_png(km_plot(result, title="Overall survival"))
    svg = km_plot(result, fmt="svg")
    assert_svg(svg)
    text = svg_text(svg)
    assert "Number at risk" in text
    assert "log-log" in text  # the CI type is labelled on the figure
    for group in result["groups"]:
        assert group["group"] in text


def test_km_plot_options_and_not_reached_median(cohort):
    df = cohort.assign(event=np.where(cohort.index < 10, cohort.event, 0))
    result = stored(kaplan_meier(df, group_col="group"))
    assert not any(g["median"]["reached"] for g in result["groups"])
    svg = km_plot(result, fmt="svg", show_ci=False, show_median=True, show_censored=False, show_at_risk=False)
    assert "not reached" in svg_text(svg)
    assert "Number at risk" not in svg_text(svg)


def test_km_plot_shows_suppressed_counts_as_dashes(cohort):
    result = stored(kaplan_meier(cohort, group_col="group"))
    blanked = copy.deepcopy(result)
    for group in blanked["groups"]:
        for entry in group["at_risk"]:
            if entry["n"] < 5:
                entry["n"] = None
        group["n"] = None
    assert_png(km_plot(blanked))
    assert_svg(km_plot(blanked, fmt="svg"))


def test_svg_output_is_deterministic(cohort, model):
    result = stored(kaplan_meier(cohort, group_col="group"))
    assert km_plot(result, fmt="svg") == km_plot(result, fmt="svg")
    assert forest_plot(model, fmt="svg") == forest_plot(model, fmt="svg")


def test_forest_plot_renders_multivariable_and_univariable_results(cohort, model):
    assert_png(forest_plot(stored(model), title="Multivariable OS"))
    svg = forest_plot(stored(model), fmt="svg")
    assert_svg(svg)
    text = svg_text(svg)
    assert "HR (95% CI)" in text
    assert "ECOG PS: 1 vs 0" in text
    assert "Age (per 10)" in text
    univariable = cox_univariable(
        cohort, covariates=[{"name": "age", "kind": "continuous"}, {"name": "male", "kind": "binary"}]
    )
    assert_png(forest_plot(stored(univariable)))


def test_forest_plot_marks_terms_without_an_estimate(model):
    broken = stored(model)
    broken["terms"][0].update(hr=None, hr_lower=None, hr_upper=None, p=None)
    assert "not estimable" in svg_text(forest_plot(broken, fmt="svg"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: km_plot({"groups": []}), "no groups"),
        (lambda: forest_plot({"terms": []}), "no terms"),
        (lambda: km_plot({"groups": [{}]}, fmt="pdf"), "unsupported image format"),
    ],
)
def test_plots_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
