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


class MissingSourceError(FileNotFoundError):
    """The environment's source file is not where the catalog expects it."""


class SourceFileHooks:
    """Checks the source file before a run that reads it, instead of a deep traceback."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Raise :class:`MissingSourceError` if ``source_ratings`` is needed and absent."""
        if SOURCE_DATASET not in pipeline.inputs() or SOURCE_DATASET not in catalog:
            return
        if catalog.exists(SOURCE_DATASET):
            return
        dataset = catalog.get(SOURCE_DATASET)
        described = getattr(dataset, "_describe", dict)()
        filepath = described.get("filepath", "the configured path")
        how_to_get = (
            (getattr(dataset, "metadata", None) or {})
            .get("ncf_recommender", {})
            .get("how_to_get")
        )
        env = run_params.get("env") or "base"
        raise MissingSourceError(
            f"Source data file not found: {filepath} (dataset '{SOURCE_DATASET}', "
            f"environment '{env}'). "
            + (how_to_get or "Put the file there or point the catalog entry at it.")
        )


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
