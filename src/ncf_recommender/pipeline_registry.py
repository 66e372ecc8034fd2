"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: Pipelines that run the data steps on Spark: they produce the same datasets as
#: ``data_processing``, so they are run on their own, never inside ``__default__``.
SPARK_PIPELINES = ("spark", "spark_data_processing")
#: Pipelines run only on request, never inside ``__default__``: the Spark ones,
#: ``tuning`` (hyper-parameter studies), ``item_metadata`` (product metadata
#: to item features, until a model of ``__default__`` reads them) and
#: ``cold_start`` (the cold-item protocol, which reads them).
ON_REQUEST_PIPELINES = (*SPARK_PIPELINES, "tuning", "item_metadata", "cold_start")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipe for name, pipe in pipelines.items() if name not in ON_REQUEST_PIPELINES),
        start=Pipeline([]),
    )
    return pipelines
