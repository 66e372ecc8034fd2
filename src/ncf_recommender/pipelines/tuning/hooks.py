"""Hooks of tuning: build the pipelines with the run's tuning choices, and stop a
run that needs a tuning result (or a trained model) that does not exist yet."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.pipeline import Pipeline

from ncf_recommender.models.registry import MODELS
from ncf_recommender.pipelines.modelling.selection import (
    ModellingParams,
    use_tuned_parameters,
)
from ncf_recommender.pipelines.tuning.selection import select_tuned_models
from ncf_recommender.tuning.space import TuningParams

logger = logging.getLogger(__name__)

#: The module whose ``register_pipelines`` Kedro calls.
PIPELINE_REGISTRY = "ncf_recommender.pipeline_registry"
#: Suffix of each model's tuning result in the catalog.
TUNED_SUFFIX = "_tuned_parameters"


class MissingTunedParametersError(FileNotFoundError):
    """``modelling.use_tuned`` is set but a model has no tuning result yet."""


class TuningHooks:
    """``modelling.use_tuned`` and ``tuning.models`` shape the pipelines.

    Like :class:`~ncf_recommender.hooks.ModelSelectionHooks`, the choices are
    read from the run's parameters (configuration plus ``--params``) as soon
    as the context exists, and Kedro rebuilds its pipelines when they change.
    """

    def __init__(self) -> None:
        self._tuning: TuningParams | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Read ``modelling.use_tuned`` and ``tuning.models``.

        Args:
            context: The new Kedro context.
        """
        parameters = context.config_loader["parameters"]
        modelling = ModellingParams.model_validate(parameters.get("modelling") or {})
        tuning = TuningParams.model_validate(parameters.get("tuning") or {})
        self._tuning = tuning
        changed = use_tuned_parameters(modelling.use_tuned)
        changed = select_tuned_models(tuning.models) or changed
        if changed:
            pipelines.configure(PIPELINE_REGISTRY)

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Name the missing tuning result or pretrained model before any node runs.

        Raises:
            ValueError: If a model to tune has no ``tuning.spaces`` entry.
            MissingTunedParametersError: If the run reads a
                ``<model>_tuned_parameters`` that has no saved version, or
                tunes a pretrained NeuMF whose source models were never trained.
        """
        inputs = pipeline.inputs()
        missing = sorted(
            name
            for name in inputs
            if name.endswith(TUNED_SUFFIX) and not catalog.exists(name)
        )
        if missing:
            models = "+".join(name.removesuffix(TUNED_SUFFIX) for name in missing)
            raise MissingTunedParametersError(
                f"modelling.use_tuned is true but {', '.join(missing)} has no saved "
                f"version: run `kedro run --pipeline tuning --params "
                f"tuning.models={models}` first (same --env), or set "
                "modelling.use_tuned: false"
            )
        tuned = {
            node.name.removeprefix("tune_")
            for node in pipeline.nodes
            if "tuning" in node.tags
        }
        for name in sorted(tuned & set(MODELS)):
            if self._tuning is not None:
                self._tuning.space(name)  # no space: stop now, naming the model
            sources = [f"{s}_model" for s in MODELS[name].pretrained_from]
            absent = [s for s in sources if s in inputs and not catalog.exists(s)]
            if absent:
                raise MissingTunedParametersError(
                    f"tuning {name} starts from {', '.join(absent)}, which has no "
                    f"saved version: run `kedro run --pipeline modelling --params "
                    f"modelling.models={'+'.join(MODELS[name].pretrained_from)}` "
                    f"first, set {name}.model.pretrained: false, or leave {name} "
                    "out of tuning.models"
                )
