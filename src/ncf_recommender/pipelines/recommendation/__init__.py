"""Batch Top-N recommendations for every user (``recommendations``)."""

from ncf_recommender.pipelines.recommendation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
