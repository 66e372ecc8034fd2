"""Wiring of the ``data_processing`` pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.data_processing.nodes import (
    apply_implicit_threshold,
    check_minimum_data,
    clean_ratings,
    encode_ids,
    filter_k_core,
    split_leave_last_two,
    validate_schema,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Source ratings → ``raw_ratings`` → ``interactions`` → leave-last-two split."""
    return Pipeline(
        [
            Node(
                validate_schema,
                inputs=["source_ratings", "params:source"],
                outputs=["raw_ratings", "parse_report"],
                name="validate_schema",
            ),
            Node(
                clean_ratings,
                inputs=["raw_ratings", "parse_report", "params:source"],
                outputs=["cleaned_ratings", "partial_cleaning_report"],
                name="clean_ratings",
            ),
            Node(
                apply_implicit_threshold,
                inputs=[
                    "cleaned_ratings",
                    "partial_cleaning_report",
                    "params:cleaning",
                ],
                outputs=["implicit_ratings", "thresholded_cleaning_report"],
                name="apply_implicit_threshold",
            ),
            Node(
                filter_k_core,
                inputs=[
                    "implicit_ratings",
                    "thresholded_cleaning_report",
                    "params:kcore",
                ],
                outputs=["filtered_ratings", "cleaning_report"],
                name="filter_k_core",
            ),
            Node(
                check_minimum_data,
                inputs=["filtered_ratings", "cleaning_report", "params:minimum_data"],
                outputs="trainable_ratings",
                name="check_minimum_data",
            ),
            Node(
                encode_ids,
                inputs="trainable_ratings",
                outputs=["interactions", "user_mapping", "item_mapping"],
                name="encode_ids",
            ),
            Node(
                split_leave_last_two,
                inputs="interactions",
                outputs=["train_interactions", "val_interactions", "test_interactions"],
                name="split_leave_last_two",
            ),
        ]
    )
