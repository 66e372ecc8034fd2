"""Which models a run trains: the ``modelling.models`` parameter.

Kedro builds pipelines before any node sees a parameter, so the selection is
read from the run's parameters (``conf`` plus ``--params``) by
:class:`~ncf_recommender.hooks.ModelSelectionHooks` right after the context is
created, and the ``modelling`` and ``recommendation`` pipelines are built from
:func:`selected_models`. The baselines (most popular, ALS) are always
evaluated: they are the reference every entry of ``ranking_metrics`` is read
against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ncf_recommender.models.registry import BASELINES, model_names, split_names
from ncf_recommender.models.registry import MODELS as MODEL_ENTRIES

#: The NCF family (user-item models; shared parameter group ``training``).
NCF_MODELS: tuple[str, ...] = model_names("ncf")
#: Next-item sequence models (shared parameter group ``sequence_training``).
SEQUENCE_MODELS: tuple[str, ...] = model_names("sequence")
#: Every Keras model, in dependency order (the registry's).
MODELS: tuple[str, ...] = model_names()
#: The models a run trains unless ``modelling.models`` says otherwise: all but
#: those that read item metadata (they need the ``item_metadata`` pipeline's
#: outputs, which not every data set has).
DEFAULT_MODELS: tuple[str, ...] = tuple(
    name for name in MODELS if not MODEL_ENTRIES[name].reads_content
)

_selection: tuple[str, ...] | None = None
_use_tuned = False


class ModellingParams(BaseModel):
    """The ``modelling`` parameter group.

    Attributes:
        models: Keras models the run trains, evaluates and may serve (any of
            :data:`MODELS`; baseline names are accepted and change nothing,
            the baselines always run). Order does not matter: they train in
            dependency order. A string ``"sasrec+gru"`` is accepted too, for
            ``kedro run --params modelling.models=sasrec+gru``.
        use_tuned: Train with the versioned ``tuned_parameters`` of the
            ``tuning`` pipeline applied over the configured parameters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: tuple[str, ...] = Field(default=DEFAULT_MODELS, min_length=1)
    use_tuned: bool = False

    @field_validator("models", mode="before")
    @classmethod
    def _split_string(cls, value: Any) -> Any:
        """Accept ``"sasrec+gru"`` (see :func:`~ncf_recommender.models.registry.split_names`)."""
        return split_names(value)

    @field_validator("models")
    @classmethod
    def _known_models(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        """Reject unknown or repeated names and a list without any Keras model."""
        unknown = [name for name in names if name not in (*MODELS, *BASELINES)]
        if unknown:
            raise ValueError(
                f"modelling.models: unknown model(s) {unknown}; choose from "
                f"{list(MODELS)} (baselines {list(BASELINES)} always run)"
            )
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"modelling.models: {repeated} listed more than once")
        if not any(name in MODELS for name in names):
            raise ValueError(
                f"modelling.models: name at least one of {list(MODELS)}, got {list(names)}"
            )
        return tuple(name for name in MODELS if name in names)


def models_from_parameters(parameters: Mapping[str, Any]) -> tuple[str, ...]:
    """The validated selection in a run's parameters.

    Args:
        parameters: The run's parameters (``modelling`` absent: every model).

    Returns:
        The selected Keras models, in dependency order.

    Raises:
        pydantic.ValidationError: If ``modelling`` is malformed or names an
            unknown model.
    """
    return ModellingParams.model_validate(parameters.get("modelling") or {}).models


def select_models(models: tuple[str, ...] | None) -> bool:
    """Set the models that the pipelines are built with.

    Args:
        models: Validated selection; ``None`` resets to :data:`DEFAULT_MODELS`.

    Returns:
        Whether the selection changed.
    """
    global _selection  # noqa: PLW0603 (one process-wide selection, as Kedro's pipelines)
    changed = (models or DEFAULT_MODELS) != selected_models()
    _selection = None if models is None else tuple(models)
    return changed


def selected_models() -> tuple[str, ...]:
    """The Keras models of the current run (:data:`DEFAULT_MODELS` unless selected)."""
    return DEFAULT_MODELS if _selection is None else _selection


def use_tuned_parameters(flag: bool) -> bool:
    """Set whether the modelling pipeline reads ``tuned_parameters``.

    Args:
        flag: The run's ``modelling.use_tuned``.

    Returns:
        Whether the setting changed.
    """
    global _use_tuned  # noqa: PLW0603 (process-wide, as the model selection)
    changed = flag != _use_tuned
    _use_tuned = bool(flag)
    return changed


def tuned_parameters_used() -> bool:
    """Whether the current run's models train with ``tuned_parameters``."""
    return _use_tuned
