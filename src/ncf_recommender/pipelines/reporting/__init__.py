"""The ``reporting`` pipeline: data and model plots for ``data/<env>/08_reporting``."""

from ncf_recommender.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
