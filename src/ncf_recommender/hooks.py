"""Project hooks: fail early, and clearly, when a real data file is missing."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

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
