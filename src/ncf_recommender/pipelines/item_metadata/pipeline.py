"""Wiring of the ``item_metadata`` pipeline.

``source_item_metadata`` (a reader of a real metadata file, or the generator's
metadata) → ``item_metadata`` + ``metadata_report`` → ``item_features`` (with
their ``item_feature_vocabulary``) and ``item_relations``. It reads the
``item_mapping`` of ``data_processing``, so it runs after it:
``kedro run --pipeline item_metadata``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.pipelines.item_metadata.nodes import (
    build_item_features,
    build_item_metadata,
    build_item_relations,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Metadata source → joined table and report → item features and relations."""
    return Pipeline(
        [
            Node(
                build_item_metadata,
                inputs=["source_item_metadata", "item_mapping"],
                outputs=["item_metadata", "metadata_report"],
                name="build_item_metadata",
            ),
            Node(
                build_item_features,
                inputs=["item_metadata", "item_mapping", "params:item_features"],
                outputs=["item_features", "item_feature_vocabulary"],
                name="build_item_features",
            ),
            Node(
                build_item_relations,
                inputs=["item_metadata", "item_mapping"],
                outputs="item_relations",
                name="build_item_relations",
            ),
        ]
    )
