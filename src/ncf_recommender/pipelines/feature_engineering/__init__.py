"""``feature_engineering`` pipeline: training negatives and evaluation candidates."""

from __future__ import annotations

from ncf_recommender.pipelines.feature_engineering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
