"""Wiring of the ``recommendation`` pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.recommendation.nodes import generate_recommendations

#: Model types whose trained models the pipeline reads (``<name>_model``).
MODEL_TYPES = ("gmf", "mlp", "neumf", "sasrec", "gru")


def create_pipeline(**kwargs) -> Pipeline:
    """Trained models + ``interactions`` → ``recommendations`` for every user."""
    inputs = {
        "ranking_metrics": "ranking_metrics",
        "interactions": "interactions",
        "user_mapping": "user_mapping",
        "item_mapping": "item_mapping",
        "params": "params:recommendation",
    }
    inputs.update({name: f"{name}_model" for name in MODEL_TYPES})
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
