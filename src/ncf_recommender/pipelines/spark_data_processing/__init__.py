"""``spark_data_processing``: ``data_processing`` and the evaluation candidates on Spark.

Wiring only; the Spark code lives in :mod:`ncf_recommender.spark`. Empty when
the ``spark`` extra (pyspark) is not installed.
"""

from __future__ import annotations

from importlib.util import find_spec

from kedro.pipeline import Pipeline


def create_pipeline(**kwargs) -> Pipeline:
    """The Spark data pipeline (see :mod:`ncf_recommender.spark.pipeline`)."""
    if find_spec("pyspark") is None:
        return Pipeline([])
    from ncf_recommender.spark.pipeline import create_pipeline as spark  # noqa: PLC0415

    return spark()


__all__ = ["create_pipeline"]
