"""Wiring of the ``recommendation`` pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.modelling.selection import MODELS, selected_models
from ncf_recommender.pipelines.recommendation.nodes import (
    INFO_SUFFIX,
    generate_recommendations,
)

#: Model types whose trained models the pipeline can read (``<name>_model``).
MODEL_TYPES = MODELS


def create_pipeline(models: Sequence[str] | None = None, **kwargs) -> Pipeline:
    """Trained models + ``interactions`` → ``recommendations`` for every user.

    Args:
        models: Model types whose ``<name>_model`` the node reads; ``None``: the
            run's ``modelling.models`` (every model by default).
        **kwargs: Ignored.

    Returns:
        The ``recommendation`` pipeline.
    """
    inputs = {
        "ranking_metrics": "ranking_metrics",
        "interactions": "interactions",
        "user_mapping": "user_mapping",
        "item_mapping": "item_mapping",
        "params": "params:recommendation",
    }
    chosen = selected_models() if models is None else tuple(models)
    inputs.update({name: f"{name}_model" for name in chosen})
    # Each model's lineage record: the node refuses a model trained on other mappings.
    inputs.update({f"{name}{INFO_SUFFIX}": f"{name}_model_info" for name in chosen})
    return Pipeline(
        [
            Node(
                generate_recommendations,
                inputs=inputs,
                outputs=["recommendations", "recommendation_summary"],
                name="generate_recommendations",
            )
        ]
    )
