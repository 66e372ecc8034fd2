"""Project hooks: fail early, and clearly, when a real data file is missing; build
the pipelines with the run's model selection (``modelling.models``)."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.pipeline import Pipeline

from ncf_recommender.pipelines.modelling.selection import (
    models_from_parameters,
    select_models,
)

logger = logging.getLogger(__name__)

SOURCE_DATASET = "source_ratings"
SPARK_SOURCE_DATASET = "spark_source_ratings"
METADATA_SOURCE_DATASET = "source_item_metadata"


class MissingSourceError(FileNotFoundError):
    """The environment's source file is not where the catalog expects it."""


class SourceFileHooks:
    """Checks the source file before a run that reads it, instead of a deep traceback."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Raise :class:`MissingSourceError` if a source the run reads is absent.

        The sources are ``source_ratings``, ``spark_source_ratings`` for the
        Spark pipelines, and ``source_item_metadata`` for ``item_metadata``.
        """
        for name in (SOURCE_DATASET, SPARK_SOURCE_DATASET, METADATA_SOURCE_DATASET):
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


#: The module whose ``register_pipelines`` Kedro calls (``settings`` lives beside it).
PIPELINE_REGISTRY = "ncf_recommender.pipeline_registry"


class ModelSelectionHooks:
    """Builds the pipelines with the models that ``modelling.models`` selects.

    Kedro registers pipelines without parameters; this hook reads the run's
    parameters (configuration plus ``--params``) as soon as the context exists,
    validates the selection (an unknown model name stops the run here, naming
    it) and makes Kedro rebuild its pipelines when the selection changed.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Select the run's models from its parameters.

        Args:
            context: The new Kedro context.
        """
        parameters = context.config_loader["parameters"]
        models = models_from_parameters(parameters)
        if select_models(models):
            logger.info("modelling.models: training %s", ", ".join(models))
            # Forget pipelines built for another selection (e.g. an earlier
            # session in the same process); they are rebuilt on next access.
            pipelines.configure(PIPELINE_REGISTRY)
