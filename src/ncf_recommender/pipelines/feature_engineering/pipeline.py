"""Wiring of the ``feature_engineering`` pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.feature_engineering.nodes import (
    build_negative_sampler,
    sample_test_candidates,
    sample_training_examples,
    sample_val_candidates,
)

_SPLITS = ["train_interactions", "val_interactions", "test_interactions"]


def create_pipeline(**kwargs) -> Pipeline:
    """Train split → ``negative_sampler`` (→ its ``training_examples`` preview);
    all splits → ``{val,test}_candidates``."""
    return Pipeline(
        [
            Node(
                build_negative_sampler,
                inputs=[
                    "train_interactions",
                    "item_mapping",
                    "params:negative_sampling",
                ],
                outputs="negative_sampler",
                name="build_negative_sampler",
            ),
            Node(
                sample_training_examples,
                inputs=["negative_sampler", "params:negative_sampling"],
                outputs="training_examples",
                name="sample_training_examples",
            ),
            Node(
                sample_val_candidates,
                inputs=[*_SPLITS, "item_mapping", "params:negative_sampling"],
                outputs="val_candidates",
                name="sample_val_candidates",
            ),
            Node(
                sample_test_candidates,
                inputs=[*_SPLITS, "item_mapping", "params:negative_sampling"],
                outputs="test_candidates",
                name="sample_test_candidates",
            ),
        ]
    )
