"""Wiring of the ``reporting`` pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.reporting.nodes import (
    plot_cleaning_summary,
    plot_hit_rate_at_k,
    plot_interactions_over_time,
    plot_item_popularity,
    plot_ndcg_at_k,
    plot_rating_distribution,
    plot_user_activity,
)

#: Tag of the plots that need only the data_processing outputs.
DATA_PLOTS_TAG = "data_plots"
#: Tag of the plots that need ``ranking_metrics``.
MODEL_PLOTS_TAG = "model_plots"


def create_pipeline(**kwargs) -> Pipeline:
    """Plots of the data (raw vs cleaned) and of the models' metrics at K.

    The nodes are grouped under the ``reporting`` namespace, so kedro-viz
    collapses them into one box; dataset names keep their catalog names.
    """
    data_plots = Pipeline(
        [
            Node(
                plot_user_activity,
                inputs=["raw_ratings", "interactions", "cleaning_report"],
                outputs="user_activity_plot",
                name="plot_user_activity",
            ),
            Node(
                plot_item_popularity,
                inputs=["raw_ratings", "interactions", "cleaning_report"],
                outputs="item_popularity_plot",
                name="plot_item_popularity",
            ),
            Node(
                plot_interactions_over_time,
                inputs=["raw_ratings", "interactions", "params:reporting"],
                outputs="interactions_over_time_plot",
                name="plot_interactions_over_time",
            ),
            Node(
                plot_rating_distribution,
                inputs=["raw_ratings", "interactions"],
                outputs="rating_distribution_plot",
                name="plot_rating_distribution",
            ),
            Node(
                plot_cleaning_summary,
                inputs="cleaning_report",
                outputs="cleaning_summary_plot",
                name="plot_cleaning_summary",
            ),
        ],
        tags=DATA_PLOTS_TAG,
    )
    model_plots = Pipeline(
        [
            Node(
                plot_hit_rate_at_k,
                inputs=["ranking_metrics", "params:reporting"],
                outputs="hit_rate_at_k_plot",
                name="plot_hit_rate_at_k",
            ),
            Node(
                plot_ndcg_at_k,
                inputs=["ranking_metrics", "params:reporting"],
                outputs="ndcg_at_k_plot",
                name="plot_ndcg_at_k",
            ),
        ],
        tags=MODEL_PLOTS_TAG,
    )
    return Pipeline(
        [data_plots, model_plots],
        namespace="reporting",
        prefix_datasets_with_namespace=False,
    )
