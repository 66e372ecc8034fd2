"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: Pipelines that run the data steps on Spark: they produce the same datasets as
#: ``data_processing``, so they are run on their own, never inside ``__default__``.
SPARK_PIPELINES = ("spark", "spark_data_processing")
#: Pipelines run on their own until a model of ``__default__`` reads their outputs:
#: ``item_metadata`` turns product metadata into item features.
STANDALONE_PIPELINES = ("item_metadata",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (
            pipe
            for name, pipe in pipelines.items()
            if name not in SPARK_PIPELINES + STANDALONE_PIPELINES
        ),
        start=Pipeline([]),
    )
    return pipelines
