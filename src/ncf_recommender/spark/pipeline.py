"""Wiring of the Spark pipelines: ``spark_data_processing`` and the full ``spark`` run.

``spark_data_processing`` mirrors ``data_processing`` (plus the candidate nodes
of ``feature_engineering``) node for node, on PySpark DataFrames. Its public
outputs are the catalogued tables under the transcoded names ``<table>@spark``
(``spark.SparkDataset``, parquet); the pandas side reads the same files as
``<table>@pandas``, which is the explicit handover that kedro-viz draws as one
dataset between the two engines.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.spark.nodes import (
    spark_apply_implicit_threshold,
    spark_clean_ratings,
    spark_encode_ids,
    spark_filter_k_core,
    spark_sample_test_candidates,
    spark_sample_val_candidates,
    spark_split_leave_last_two,
    spark_validate_schema,
)

#: Tag of every node that needs the SparkSession (the hook looks for it).
SPARK_TAG = "spark"
#: The catalogued tables the Spark engine hands over to pandas / Keras.
HANDOVER_TABLES = (
    "raw_ratings",
    "interactions",
    "user_mapping",
    "item_mapping",
    "train_interactions",
    "val_interactions",
    "test_interactions",
    "val_candidates",
    "test_candidates",
)
_SPLITS = [
    "train_interactions@spark",
    "val_interactions@spark",
    "test_interactions@spark",
]

#: Inputs of the candidate nodes: the splits by position, the rest by keyword.
_CANDIDATE_INPUTS = {
    "train_interactions": _SPLITS[0],
    "val_interactions": _SPLITS[1],
    "test_interactions": _SPLITS[2],
    "item_mapping": "item_mapping@spark",
    "params": "params:negative_sampling",
    "spark_params": "params:spark_candidates",
}


def create_pipeline(**kwargs) -> Pipeline:
    """Spark source → the catalogued tables of ``data_processing`` and the candidates."""
    return Pipeline(
        [
            Node(
                spark_validate_schema,
                inputs=["spark_source_ratings", "params:source"],
                outputs=[
                    "spark_parsed_ratings",
                    "raw_ratings@spark",
                    "spark_parse_report",
                ],
                name="spark_validate_schema",
            ),
            Node(
                spark_clean_ratings,
                inputs=[
                    "spark_parsed_ratings",
                    "spark_parse_report",
                    "params:source",
                ],
                outputs=["spark_cleaned_ratings", "spark_partial_cleaning_report"],
                name="spark_clean_ratings",
            ),
            Node(
                spark_apply_implicit_threshold,
                inputs=[
                    "spark_cleaned_ratings",
                    "spark_partial_cleaning_report",
                    "params:cleaning",
                ],
                outputs=["spark_implicit_ratings", "spark_thresholded_cleaning_report"],
                name="spark_apply_implicit_threshold",
            ),
            Node(
                spark_filter_k_core,
                inputs=[
                    "spark_implicit_ratings",
                    "spark_thresholded_cleaning_report",
                    "params:kcore",
                ],
                outputs=["spark_filtered_ratings", "cleaning_report"],
                name="spark_filter_k_core",
            ),
            Node(
                spark_encode_ids,
                inputs="spark_filtered_ratings",
                outputs=[
                    "interactions@spark",
                    "user_mapping@spark",
                    "item_mapping@spark",
                    "spark_interactions_with_source_row",
                ],
                name="spark_encode_ids",
            ),
            Node(
                spark_split_leave_last_two,
                inputs="spark_interactions_with_source_row",
                outputs=_SPLITS,
                name="spark_split_leave_last_two",
            ),
            Node(
                spark_sample_val_candidates,
                inputs=_CANDIDATE_INPUTS,
                outputs="val_candidates@spark",
                name="spark_sample_val_candidates",
            ),
            Node(
                spark_sample_test_candidates,
                inputs=_CANDIDATE_INPUTS,
                outputs="test_candidates@spark",
                name="spark_sample_test_candidates",
            ),
        ],
        tags=SPARK_TAG,
    )


def create_full_pipeline(downstream: Pipeline) -> Pipeline:
    """The whole run with the data steps on Spark.

    Args:
        downstream: The pandas/Keras pipelines that read the handover tables
            (training examples, modelling, recommendation, reporting); their
            free inputs among :data:`HANDOVER_TABLES` are renamed to
            ``<table>@pandas``.

    Returns:
        ``spark_data_processing`` followed by ``downstream``.
    """
    free = downstream.inputs()
    handover = {table: f"{table}@pandas" for table in HANDOVER_TABLES if table in free}
    return create_pipeline() + Pipeline(downstream, inputs=handover)
