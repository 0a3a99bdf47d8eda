"""Pure statistical core of the analysis app (no Django imports anywhere in this package).

Inputs are pandas DataFrames with integer-day durations and 0/1 events; outputs are plain
JSON-serialisable dicts and lists so a run's results can be stored in a JSONField and re-rendered
(plots.py draws from these dicts, not from fitted objects).
"""

from ._common import DAYS_PER_MONTH, days_to_months, months_to_days
from .concordance import concordance
from .cox import FIT_OPTIONS, CovariateSpec, cox_model, cox_univariable, parse_covariates
from .km import DEFAULT_LANDMARK_DAYS, kaplan_meier, median_follow_up, r_quantile_time
from .logrank import logrank
from .proportions import proportion_ci, response_rates
from .suppression import suppress_count, suppress_counts, suppress_table_one
from .table_one import TableVariable, table_one
from .zph import cox_zph

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_LANDMARK_DAYS",
    "FIT_OPTIONS",
    "CovariateSpec",
    "TableVariable",
    "concordance",
    "cox_model",
    "cox_univariable",
    "cox_zph",
    "days_to_months",
    "kaplan_meier",
    "logrank",
    "median_follow_up",
    "months_to_days",
    "parse_covariates",
    "proportion_ci",
    "r_quantile_time",
    "response_rates",
    "suppress_count",
    "suppress_counts",
    "suppress_table_one",
    "table_one",
]
