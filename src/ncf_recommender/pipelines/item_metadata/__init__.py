"""Product metadata: the ``item_metadata`` table, its report and the item features."""

from ncf_recommender.pipelines.item_metadata.pipeline import create_pipeline

__all__ = ["create_pipeline"]
