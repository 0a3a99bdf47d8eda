"""Figures drawn from stored estimator results: Kaplan-Meier curves with numbers at risk, and forest
plots of hazard ratios.

Inputs are the dicts that ``analysis.estimators`` returns, never fitted objects, so any stored run
can be re-rendered (the SVG of a figure is rendered that way on first request). Figures are built on
``matplotlib.figure.Figure`` with an Agg canvas and never touch ``pyplot``: pyplot keeps every figure
in a global registry, which leaks memory in a long-running Celery worker and is not thread-safe.

Speed: the layout is fixed in inches (no ``bbox_inches="tight"``, which draws every figure twice),
the numbers-at-risk table is plain text on an axis-less axes, and the curves are drawn from the
stored arrays; a run renders only the PNGs (about 0.1 s each).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from analysis.estimators import DAYS_PER_MONTH

ImageFormat = Literal["png", "svg"]
FORMATS = ("png", "svg")
_COLOURS = matplotlib.colormaps["tab10"].colors
_HR_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)
_SVG_SALT = "nen-registry"  # fixed SVG element ids, so the same result renders to the same bytes
_STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
          "svg.hashsalt": _SVG_SALT, "path.simplify": True}
# KM layout, inches
_KM_WIDTH, _KM_LEFT, _KM_RIGHT, _KM_AXES_H = 7.5, 1.45, 0.25, 3.6
_KM_XAXIS_H, _KM_TITLE_LINE = 0.55, 0.2
_ROW_H = 0.2


def km_plot(
    km_result: Mapping[str, Any],
    *,
    fmt: ImageFormat = "png",
    title: str | None = None,
    ylabel: str = "Survival probability",
    show_ci: bool = True,
    show_median: bool = True,
    show_censored: bool = True,
    show_at_risk: bool = True,
    dpi: int = 120,
) -> bytes:
    """Kaplan-Meier curves (x axis in months) from a ``kaplan_meier`` result, one per group, with
    optional CI bands, median lines, censoring ticks and a numbers-at-risk table under the axes."""
    _check_format(fmt)
    groups = list(km_result.get("groups") or [])
    if not groups:
        raise ValueError("the Kaplan-Meier result has no groups to plot")
    with matplotlib.rc_context(_STYLE):
        rows = len(groups) if show_at_risk else 0
        title_h = 0.15 + _KM_TITLE_LINE * (title.count("\n") + 1) if title else 0.1
        table_h = 0.3 + _ROW_H * rows + 0.05 if rows else 0.0
        height = title_h + _KM_AXES_H + _KM_XAXIS_H + table_h
        fig = Figure(figsize=(_KM_WIDTH, height))
        FigureCanvasAgg(fig)
        axes_w = (_KM_WIDTH - _KM_LEFT - _KM_RIGHT) / _KM_WIDTH
        bottom = (_KM_XAXIS_H + table_h) / height
        ax = fig.add_axes((_KM_LEFT / _KM_WIDTH, bottom, axes_w, _KM_AXES_H / height))

        x_max = 0.0
        for index, group in enumerate(groups):
            colour = _COLOURS[index % len(_COLOURS)]
            x_max = max(x_max, _draw_curve(ax, group, colour, show_ci, show_median, show_censored))
        at_risk_months = [row["time_days"] / DAYS_PER_MONTH for row in groups[0].get("at_risk", [])]
        if at_risk_months:
            x_max = max(x_max, max(at_risk_months))
        xlim = (0, x_max * 1.02 if x_max > 0 else 1)
        ax.set_xlim(*xlim)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ci_type = km_result.get("ci_type", "log-log")
        conf = km_result.get("conf_level", 0.95)
        note = f"shaded: {conf:.0%} CI, {ci_type}" if show_ci else f"CI type: {ci_type}"
        legend = ax.legend(loc="upper right", fontsize=8, frameon=False, title=note, title_fontsize=7)
        legend.get_title().set_color("0.35")
        if title:
            fig.text(0.5, 1 - 0.1 / height, title, ha="center", va="top", fontsize=10)
        if at_risk_months:
            ax.xaxis.set_major_locator(FixedLocator(at_risk_months))
            ax.xaxis.set_major_formatter(FixedFormatter([_fmt_number(m) for m in at_risk_months]))
        ax.set_xlabel("Time (months)", labelpad=2)
        if rows:
            table = fig.add_axes((_KM_LEFT / _KM_WIDTH, 0.05 / height, axes_w, (table_h - 0.05) / height))
            _draw_at_risk(table, groups, at_risk_months, xlim)
        return _render(fig, fmt, dpi)


def forest_plot(
    cox_result: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    fmt: ImageFormat = "png",
    title: str | None = None,
    dpi: int = 120,
) -> bytes:
    """Hazard ratios with 95% CIs on a log axis from a ``cox_model`` result (or the list that
    ``cox_univariable`` returns), with "HR (95% CI)" and p printed beside each row."""
    _check_format(fmt)
    models = [cox_result] if isinstance(cox_result, Mapping) else list(cox_result)
    terms = [term for model in models for term in model.get("terms", [])]
    if not terms:
        raise ValueError("the Cox result has no terms to plot")
    with matplotlib.rc_context(_STYLE):
        n = len(terms)
        width, top, bottom, row_h = 8.5, 0.4 if title else 0.1, 0.5, 0.3
        height = top + bottom + row_h * (n + 0.6)
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.32, bottom / height, 0.38, row_h * (n + 0.6) / height))
        y = np.arange(n)[::-1]
        text_x = blended_transform_factory(ax.transAxes, ax.transData)
        label_x = blended_transform_factory(fig.transFigure, ax.transData)
        finite: list[float] = []
        for row, term in zip(y, terms, strict=True):
            hr, lower, upper = term.get("hr"), term.get("hr_lower"), term.get("hr_upper")
            ax.text(0.02, row, _term_label(term), transform=label_x, va="center", fontsize=8)
            if _positive(hr) and _positive(lower) and _positive(upper):
                ax.plot([lower, upper], [row, row], color="0.2", linewidth=1.2)
                ax.plot([hr], [row], marker="s", color="C0", markersize=6)
                finite += [lower, upper]
                text = f"{hr:.2f} ({lower:.2f}-{upper:.2f})"
            else:
                text = "not estimable"
            ax.text(1.04, row, text, transform=text_x, va="center", fontsize=8)
            ax.text(1.42, row, _fmt_p(term.get("p")), transform=text_x, va="center", fontsize=8)
        ax.text(1.04, n - 0.3, "HR (95% CI)", transform=text_x, fontsize=8, weight="bold")
        ax.text(1.42, n - 0.3, "p", transform=text_x, fontsize=8, weight="bold")
        ax.axvline(1.0, color="0.5", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        low = min([*finite, 1.0]) / 1.25
        high = max([*finite, 1.0]) * 1.25
        ax.set_xlim(low, high)
        ticks = [v for v in _HR_TICKS if low <= v <= high]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([_fmt_tick(v) for v in ticks]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(-0.7, n - 0.1)
        ax.set_yticks([])
        ax.set_xlabel("Hazard ratio (log scale)")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        if title:
            fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=10)
        return _render(fig, fmt, dpi)


def _draw_curve(
    ax: Axes, group: Mapping[str, Any], colour: Any, show_ci: bool, show_median: bool, show_censored: bool
) -> float:
    curve = group["curve"]
    x = np.asarray(curve["time_days"], dtype=float) / DAYS_PER_MONTH
    surv = _as_float(curve["survival"])
    median = group.get("median") or {}
    estimate = median.get("estimate_days")
    legend = f"{group['group']} (n={_fmt_count(group.get('n'))}; median "
    legend += f"{estimate / DAYS_PER_MONTH:.1f} mo)" if estimate is not None else "not reached)"
    # the step curve starts at (0, 1), as every KM plot does
    x0, s0 = np.concatenate([[0.0], x]), np.concatenate([[1.0], surv])
    ax.step(x0, s0, where="post", color=colour, linewidth=1.6, label=legend)
    if show_ci:
        lower, upper = _as_float(curve["lower"]), _as_float(curve["upper"])
        ax.fill_between(x0, np.concatenate([[1.0], lower]), np.concatenate([[1.0], upper]), step="post",
                        color=colour, alpha=0.15, linewidth=0)
    if show_censored:
        censored = np.asarray([c or 0 for c in curve.get("n_censored", [0] * len(x))]) > 0
        ax.plot(x[censored], surv[censored], linestyle="none", marker="|", markersize=7, color=colour)
    if show_median and estimate is not None:
        months = estimate / DAYS_PER_MONTH
        ax.plot([0, months], [0.5, 0.5], linestyle=":", color="0.4", linewidth=0.9)
        ax.plot([months, months], [0, 0.5], linestyle=":", color=colour, linewidth=0.9)
    return float(x.max()) if len(x) else 0.0


def _draw_at_risk(ax: Axes, groups: Sequence[Mapping[str, Any]], at_risk_months: Sequence[float],
                  xlim: tuple[float, float]) -> None:
    """Numbers at risk drawn from the stored counts (lifelines' add_at_risk_counts needs fitters), as text
    on an axes without axis artists, aligned with the curves' x axis."""
    rows = len(groups)
    ax.set_axis_off()
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.6, rows + 0.2)
    label_x = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(-0.05, rows, "Number at risk", transform=label_x, ha="right", va="center", fontsize=8,
            weight="bold")
    for index, group in enumerate(groups):
        row = rows - 1 - index
        colour = _COLOURS[index % len(_COLOURS)]
        ax.text(-0.05, row, str(group["group"]), transform=label_x, ha="right", va="center", fontsize=8,
                color=colour)
        for entry, month in zip(group.get("at_risk", []), at_risk_months, strict=False):
            ax.text(month, row, _fmt_count(entry.get("n")), ha="center", va="center", fontsize=8, color=colour)


def _term_label(term: Mapping[str, Any]) -> str:
    label = str(term.get("label") or term.get("covariate") or term.get("term"))
    if term.get("level") is not None:
        return f"{label}: {term['level']} vs {term.get('reference')}"
    if term.get("positive") is not None:
        return f"{label} ({term['positive']})"
    if term.get("scale"):
        return f"{label} (per {_fmt_number(term['scale'])})"
    return label


def _render(fig: Figure, fmt: ImageFormat, dpi: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}; use one of {', '.join(FORMATS)}")


def _as_float(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _fmt_count(value: Any) -> str:
    return "-" if value is None else str(value)  # None: blanked by small-cell suppression


def _fmt_number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _fmt_tick(value: float) -> str:
    return f"{value:g}"


def _fmt_p(p: Any) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
