"""The ``tuning`` pipeline: Optuna studies on validation, one per model."""

from ncf_recommender.pipelines.tuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
