"""Nodes of the ``reporting`` pipeline: thin adapters over :mod:`ncf_recommender.plots`."""

from __future__ import annotations

import logging
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from ncf_recommender import plots

logger = logging.getLogger(__name__)


class ReportingParams(BaseModel):
    """Parameters of the reporting plots (``reporting`` in ``parameters_reporting.yml``).

    Attributes:
        time_bin: Period of the interactions-over-time plot.
        scope: Which per-K curves to plot: ``full`` or ``sampled`` ranking.
        baselines: Models drawn dashed, as reference points, in the model plots.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_bin: plots.TimeBin = "month"
    scope: Literal["full", "sampled"] = "full"
    baselines: list[str] = Field(default_factory=lambda: ["most_popular", "als"])


def _kcore_minimum(report: dict[str, Any], key: str) -> int | None:
    value = report.get("kcore", {}).get(key)
    return int(value) if value is not None else None


def plot_user_activity(
    raw_ratings: pd.DataFrame,
    interactions: pd.DataFrame,
    cleaning_report: dict[str, Any],
) -> Figure:
    """User-activity long tail, before and after cleaning (log-log).

    Returns:
        The figure for ``user_activity_plot``.
    """
    minimum = _kcore_minimum(cleaning_report, "min_user_interactions")
    return plots.user_activity_figure(raw_ratings, interactions, minimum)


def plot_item_popularity(
    raw_ratings: pd.DataFrame,
    interactions: pd.DataFrame,
    cleaning_report: dict[str, Any],
) -> Figure:
    """Item-popularity long tail, before and after cleaning (log-log).

    Returns:
        The figure for ``item_popularity_plot``.
    """
    minimum = _kcore_minimum(cleaning_report, "min_item_interactions")
    return plots.item_popularity_figure(raw_ratings, interactions, minimum)


def plot_interactions_over_time(
    raw_ratings: pd.DataFrame, interactions: pd.DataFrame, params: ReportingParams
) -> Figure:
    """Interactions per period, before and after cleaning.

    Returns:
        The figure for ``interactions_over_time_plot``.
    """
    return plots.interactions_over_time_figure(
        raw_ratings, interactions, params.time_bin
    )


def plot_rating_distribution(
    raw_ratings: pd.DataFrame, interactions: pd.DataFrame
) -> Figure:
    """Share of each star rating, before and after cleaning.

    Returns:
        The figure for ``rating_distribution_plot``.
    """
    return plots.rating_distribution_figure(raw_ratings, interactions)


def plot_cleaning_summary(cleaning_report: dict[str, Any]) -> Figure:
    """Rows removed by each cleaning step.

    Returns:
        The figure for ``cleaning_summary_plot``.
    """
    return plots.cleaning_figure(cleaning_report)


def _plot_metric_at_k(
    ranking_metrics: dict[str, Any], metric: str, params: ReportingParams
) -> Figure:
    curves, missing = plots.metric_curves(ranking_metrics, metric, params.scope)
    if missing:
        logger.warning(
            "No per-K '%s' values for model(s) %s (expected under "
            "ranking_metrics['<model>']['%s']['curve']['%s']); they are left out of the plot",
            metric,
            missing,
            params.scope,
            metric,
        )
    return plots.metric_at_k_figure(curves, metric, params.scope, params.baselines)


def plot_hit_rate_at_k(
    ranking_metrics: dict[str, Any], params: ReportingParams
) -> Figure:
    """HR@K for K = 1 ... 20, one line per model and baseline.

    Models without per-K values in ``ranking_metrics`` are skipped with a warning.

    Returns:
        The figure for ``hit_rate_at_k_plot``.
    """
    return _plot_metric_at_k(ranking_metrics, "hr", params)


def plot_ndcg_at_k(ranking_metrics: dict[str, Any], params: ReportingParams) -> Figure:
    """NDCG@K for K = 1 ... 20, one line per model and baseline.

    Models without per-K values in ``ranking_metrics`` are skipped with a warning.

    Returns:
        The figure for ``ndcg_at_k_plot``.
    """
    return _plot_metric_at_k(ranking_metrics, "ndcg", params)
