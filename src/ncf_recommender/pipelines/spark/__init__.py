"""``spark``: the whole run with the data steps on Spark, the rest on pandas / Keras.

``spark_data_processing`` writes the catalogued tables; the negative sampler,
modelling, recommendation and reporting read them back as parquet (the
``<table>@pandas`` handover). Empty when pyspark is not installed.
"""

from __future__ import annotations

from importlib.util import find_spec

from kedro.pipeline import Pipeline

from ncf_recommender.pipelines import (
    feature_engineering,
    modelling,
    recommendation,
    reporting,
)


def create_pipeline(**kwargs) -> Pipeline:
    """``spark_data_processing`` followed by the pandas / Keras pipelines."""
    if find_spec("pyspark") is None:
        return Pipeline([])
    from ncf_recommender.spark.pipeline import create_full_pipeline  # noqa: PLC0415

    downstream = (
        feature_engineering.create_pipeline().only_nodes(
            "build_negative_sampler", "sample_training_examples"
        )
        + modelling.create_pipeline()
        + recommendation.create_pipeline()
        + reporting.create_pipeline()
    )
    return create_full_pipeline(downstream)


__all__ = ["create_pipeline"]
