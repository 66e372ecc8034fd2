"""``data_processing``: validate, clean, k-core filter, encode and split the ratings."""

from ncf_recommender.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
