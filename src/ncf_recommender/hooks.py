"""Project hooks: fail early, and clearly, when a real data file is missing."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

logger = logging.getLogger(__name__)

SOURCE_DATASET = "source_ratings"
SPARK_SOURCE_DATASET = "spark_source_ratings"


class MissingSourceError(FileNotFoundError):
    """The environment's source file is not where the catalog expects it."""


class SourceFileHooks:
    """Checks the source file before a run that reads it, instead of a deep traceback."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Raise :class:`MissingSourceError` if a source the run reads is absent.

        The source is ``source_ratings``, or ``spark_source_ratings`` for the
        Spark pipelines.
        """
        for name in (SOURCE_DATASET, SPARK_SOURCE_DATASET):
            if name in pipeline.inputs() and name in catalog:
                _check_source(name, run_params, catalog)


def _check_source(name: str, run_params: dict[str, Any], catalog: Any) -> None:
    if catalog.exists(name):
        return
    dataset = catalog.get(name)
    described = getattr(dataset, "_describe", dict)()
    filepath = described.get("filepath", "the configured path")
    how_to_get = (
        (getattr(dataset, "metadata", None) or {})
        .get("ncf_recommender", {})
        .get("how_to_get")
    )
    env = run_params.get("env") or "base"
    raise MissingSourceError(
        f"Source data file not found: {filepath} (dataset '{name}', "
        f"environment '{env}'). "
        + (how_to_get or "Put the file there or point the catalog entry at it.")
    )


#: Tag of the nodes that run on Spark (``ncf_recommender.spark.pipeline.SPARK_TAG``).
SPARK_NODE_TAG = "spark"
#: Key of the Spark settings in the config loader (``conf/<env>/spark.yml``).
SPARK_CONFIG_KEY = "spark"


class SparkHooks:
    """Starts the SparkSession from ``conf/<env>/spark.yml`` when a run needs it.

    The session is created only for a pipeline with Spark nodes (``--pipeline
    spark`` or ``spark_data_processing``); pandas runs never start a JVM. A
    session this hook started is stopped when the run ends or fails; one that
    was already active (a notebook, a test fixture) is reused and left running.
    """

    def __init__(self) -> None:
        self._config_loader: Any = None
        self._started: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Keep the config loader for :meth:`before_pipeline_run`."""
        self._config_loader = context.config_loader

    @hook_impl(tryfirst=True)  # before any hook that touches a Spark dataset
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Start the SparkSession if ``pipeline`` has Spark nodes."""
        if not any(SPARK_NODE_TAG in node.tags for node in pipeline.nodes):
            return
        from pyspark.sql import SparkSession  # noqa: PLC0415 (optional extra)

        from ncf_recommender.spark.session import start_session  # noqa: PLC0415

        active = SparkSession.getActiveSession()
        settings = dict(self._config_loader[SPARK_CONFIG_KEY] or {})
        session = start_session(settings, app_name="ncf-recommender")
        self._started = None if active is not None else session
        logger.info(
            "Spark session on %s (Spark %s)",
            session.sparkContext.master,
            session.version,
        )

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Stop the session this hook started."""
        self._stop()

    @hook_impl
    def on_pipeline_error(self) -> None:
        """Stop the session this hook started, also when the run fails."""
        self._stop()

    def _stop(self) -> None:
        if self._started is not None:
            self._started.stop()
            self._started = None
