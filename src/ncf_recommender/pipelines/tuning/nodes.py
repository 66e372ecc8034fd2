"""Nodes of the ``tuning`` pipeline, and the node that applies its result in ``modelling``.

A trial trains through the modelling pipeline's own training nodes
(:func:`~ncf_recommender.pipelines.modelling.nodes.train_ncf_model`,
:func:`~ncf_recommender.pipelines.modelling.sequence_nodes.train_sequence_model`)
with the trial's path overrides merged into the configured ``<model>.model``,
``<model>.training_overrides`` and ``negative_sampling`` before their one
validation, so a tuned setting trains in ``modelling`` exactly as it did in
its trial. Only train and validation data reach these nodes.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import pandas as pd

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.models.registry import get_model
from ncf_recommender.pipelines.feature_engineering.nodes import build_negative_sampler
from ncf_recommender.pipelines.feature_engineering.params import (
    NegativeSamplingParams,
)
from ncf_recommender.pipelines.modelling.nodes import train_ncf_model
from ncf_recommender.pipelines.modelling.sequence_nodes import train_sequence_model
from ncf_recommender.pipelines.modelling.tuned import bound, plain
from ncf_recommender.training.sampling import NegativeSampler
from ncf_recommender.tuning.space import (
    TuningParams,
    apply_overrides,
    configured_values,
)
from ncf_recommender.tuning.study import (
    CUT_BY_BUDGET,
    fingerprint,
    run_study,
    study_figures,
    study_name,
)

logger = logging.getLogger(__name__)

#: Written into every ``<model>_tuned_parameters``.
SEEDS_NOTE = (
    "tuned on the validation split with the training seeds in 'seeds'; report "
    "test figures from other seeds"
)


class _Samplers:
    """The catalogued sampler, or one rebuilt for a trial's sampling settings."""

    def __init__(
        self,
        catalogued: NegativeSampler,
        configured: dict[str, Any],
        train_interactions: pd.DataFrame,
        item_mapping: pd.DataFrame,
    ) -> None:
        self.catalogued, self.configured = catalogued, configured
        self.train, self.items = train_interactions, item_mapping
        self.built: dict[str, NegativeSampler] = {}

    def get(self, settings: dict[str, Any]) -> NegativeSampler:
        if settings == self.configured:
            return self.catalogued
        key = repr(sorted(settings.items()))
        if key not in self.built:
            self.built = {  # keep one rebuilt sampler at a time
                key: build_negative_sampler(
                    self.train,
                    self.items,
                    NegativeSamplingParams.model_validate(settings),
                )
            }
        return self.built[key]


def _trainer(
    name: str, data: dict[str, Any], sections: dict[str, dict[str, Any]], group: Any
) -> Callable[[dict[str, Any], int, float | None], Mapping[str, Any]]:
    """``train(overrides, seed, seconds_left) -> summary`` for model ``name``."""
    family = get_model(name).family
    merged_group = {**plain(group), **sections["training_overrides"]}
    samplers = (
        _Samplers(
            data["negative_sampler"],
            data["catalogued_sampling"],  # the settings the catalogued one has
            data["train_interactions"],
            data["item_mapping"],
        )
        if family == "ncf"
        else None
    )

    def train(
        overrides: dict[str, Any], seed: int, left: float | None
    ) -> Mapping[str, Any]:
        trial = apply_overrides(overrides, sections)
        training_overrides = {**trial["training_overrides"], "seed": seed}
        cap = {**merged_group, **training_overrides}.get("max_train_seconds")
        budget_binds = left is not None and (cap is None or left < cap)
        if budget_binds:
            training_overrides["max_train_seconds"] = left
        keras.backend.clear_session()
        gc.collect()
        shared = (
            data["train_interactions"],
            data["val_interactions"],
            data["user_mapping"],
            data["item_mapping"],
        )
        if family == "ncf":
            _, _, summary = train_ncf_model(
                *shared,
                samplers.get(trial["negative_sampling"]),
                trial["model"],
                group,
                training_overrides,
                data.get("pretrained_gmf"),
                data.get("pretrained_mlp"),
            )
        else:
            _, _, summary = train_sequence_model(
                *shared,
                trial["model"],
                group,
                training_overrides,
                data.get("item_features"),
                data.get("item_feature_vocabulary"),
            )
        cut = budget_binds and summary.get("stop_reason") == "time_budget"
        return {**summary, CUT_BY_BUDGET: cut}

    return train


def tune_model(
    name: str,
    *,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    model: Any,
    training: Any,
    training_overrides: Any,
    tuning: TuningParams,
    tuning_studies: Path,
    negative_sampler: NegativeSampler | None = None,
    negative_sampling: Any = None,
    pretrained_gmf: keras.Model | None = None,
    pretrained_mlp: keras.Model | None = None,
    item_features: pd.DataFrame | None = None,
    item_feature_vocabulary: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Run (or resume) model ``name``'s study on validation; its tuned parameters.

    Args:
        name: The registered model.
        train_interactions: Training split.
        val_interactions: Validation split (the objective's only data).
        user_mapping: Id mapping of the users.
        item_mapping: Id mapping of the items.
        model: ``<name>.model``.
        training: The family's shared group (``training`` / ``sequence_training``).
        training_overrides: ``<name>.training_overrides``.
        tuning: The ``tuning`` group.
        tuning_studies: Folder of the SQLite studies (``<name>.db``).
        negative_sampler: The catalogued sampler (NCF family).
        negative_sampling: The ``negative_sampling`` group (NCF family).
        pretrained_gmf: Trained GMF a pretrained NeuMF starts from.
        pretrained_mlp: Trained MLP-NCF a pretrained NeuMF starts from.

    Returns:
        ``<name>_tuned_parameters``: the best trial's overrides, its and the
        configured setting's validation value, trial counts, seeds, storage.

    Raises:
        ValueError: If the space is missing or no trial completed.
    """
    params = (
        tuning
        if isinstance(tuning, TuningParams)
        else TuningParams.model_validate(tuning)
    )
    space = params.space(name)
    sections = {
        "model": plain(model),
        "training_overrides": plain(training_overrides, unset=True),
    }
    if get_model(name).family == "ncf":
        sections["negative_sampling"] = plain(negative_sampling)
    effective = {
        **sections,
        "training_overrides": {**plain(training), **sections["training_overrides"]},
    }
    monitor = effective["training_overrides"].get("monitor", "ndcg@10")
    data_print = fingerprint(
        [
            train_interactions[[USER_IDX, ITEM_IDX]],
            val_interactions[[USER_IDX, ITEM_IDX]],
            user_mapping,
            item_mapping,
        ]
    )
    config_print = fingerprint(
        {
            "effective": effective,
            "space": {path: entry.model_dump() for path, entry in space.items()},
            "fixed": params.fixed.get(name, {}),
            "seeds": params.seeds,
        }
    )
    data = {
        "train_interactions": train_interactions,
        "val_interactions": val_interactions,
        "user_mapping": user_mapping,
        "item_mapping": item_mapping,
        "negative_sampler": negative_sampler,
        "catalogued_sampling": sections.get("negative_sampling"),
        "pretrained_gmf": pretrained_gmf,
        "pretrained_mlp": pretrained_mlp,
        "item_features": item_features,
        "item_feature_vocabulary": item_feature_vocabulary,
    }
    result = run_study(
        name=name,
        params=params,
        # Every trial: the configuration, then tuning.fixed, then its own values.
        train=_trainer(
            name, data, apply_overrides(params.fixed.get(name, {}), sections), training
        ),
        monitor=monitor,
        storage_file=Path(tuning_studies) / f"{name}.db",
        study=study_name(name, data_print, config_print),
        defaults=configured_values(list(space), effective),
    )
    logger.info(
        "%s: best validation %s %.5f (configured setting %s) after %s trials: %s",
        name,
        monitor,
        result[f"best_val_{monitor}"],
        result[f"configured_val_{monitor}"],
        result["trials"],
        result["best_overrides"],
    )
    return {"model": name, **result, "note": SEEDS_NOTE}


def plot_tuning_study(
    tuned_parameters: Mapping[str, Any], tuning_studies: Path
) -> tuple[Any, Any]:
    """Optuna's optimisation history and parameter importances of a model's study.

    Args:
        tuned_parameters: The ``<model>_tuned_parameters`` just written.
        tuning_studies: Folder of the SQLite studies.

    Returns:
        ``<model>_tuning_history_plot`` and ``<model>_tuning_importance_plot``.
    """
    storage = Path(tuning_studies) / f"{tuned_parameters['model']}.db"
    return study_figures(storage, tuned_parameters["study_name"])


def tuning_function(name: str) -> Callable[..., dict[str, Any]]:
    """:func:`tune_model` bound to model ``name``, as a Kedro node function."""
    return bound(tune_model, name, "tune")
