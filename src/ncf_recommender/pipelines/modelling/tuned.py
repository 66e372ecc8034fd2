"""Training with the ``tuning`` pipeline's result: ``modelling.use_tuned``.

With ``modelling.use_tuned: true`` each model's namespace in ``modelling``
gets one more node, ``apply_tuned_parameters``, between the configuration and
the training node: it reads the latest ``<model>_tuned_parameters`` and
merges its best overrides into ``<model>.model``, ``<model>.training_overrides``
and (NCF) the sampling settings, before the training node's one validation.
Without the flag the pipeline is unchanged and never reads a tuned file.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from kedro.pipeline import Node
from pydantic import BaseModel

from ncf_recommender.models.registry import get_model
from ncf_recommender.pipelines.feature_engineering.nodes import build_negative_sampler
from ncf_recommender.pipelines.feature_engineering.params import (
    NegativeSamplingParams,
)
from ncf_recommender.training.sampling import NegativeSampler
from ncf_recommender.tuning.space import apply_overrides

logger = logging.getLogger(__name__)


def plain(value: Any, *, unset: bool = False) -> dict[str, Any]:
    """A parameter group as a plain mapping (validated objects or dicts)."""
    if isinstance(value, BaseModel):
        return dict(value.model_dump(exclude_unset=unset))
    return dict(value or {})


def bound(function: Callable[..., Any], name: str, label: str) -> Callable[..., Any]:
    """``function`` with its first argument (the model's name) fixed.

    The result keeps the other parameters' signature and type hints, so Kedro
    binds the node's inputs by name and validates the Pydantic-typed
    ``params:`` inputs at start-up.
    """

    def node_function(**inputs: Any) -> Any:
        return function(name, **inputs)

    signature = inspect.signature(function)
    node_function.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    hints = typing.get_type_hints(function)  # resolved in the function's module
    node_function.__annotations__ = {
        key: value for key, value in hints.items() if key != "name"
    }
    node_function.__name__ = node_function.__qualname__ = f"{label}_{name}"
    node_function.__doc__ = f"{function.__name__} for {name}."
    return node_function


def apply_tuned_parameters(
    name: str,
    *,
    tuned_parameters: Mapping[str, Any],
    model: Any,
    training_overrides: Any,
    negative_sampler: NegativeSampler | None = None,
    train_interactions: pd.DataFrame | None = None,
    item_mapping: pd.DataFrame | None = None,
    negative_sampling: Any = None,
) -> tuple[Any, ...]:
    """Model ``name``'s configured parameters with its tuned overrides on top.

    Args:
        name: The registered model.
        tuned_parameters: ``<name>_tuned_parameters`` (latest version).
        model: ``<name>.model``.
        training_overrides: ``<name>.training_overrides``.
        negative_sampler: The catalogued sampler (NCF family).
        train_interactions: Training split (NCF: a tuned sampling setting
            rebuilds the sampler from it).
        item_mapping: Id mapping of the items (NCF).
        negative_sampling: The ``negative_sampling`` group (NCF).

    Returns:
        The merged ``model`` and ``training_overrides`` mappings (validated by
        the training node) and, for the NCF family, the sampler to train with.

    Raises:
        ValueError: If the file was written for another model.
    """
    if tuned_parameters.get("model") != name:
        raise ValueError(
            f"{name}_tuned_parameters holds the tuning of "
            f"{tuned_parameters.get('model')!r}, not {name!r}"
        )
    sections = {
        "model": plain(model),
        "training_overrides": plain(training_overrides, unset=True),
    }
    ncf = get_model(name).family == "ncf"
    if ncf:
        sections["negative_sampling"] = plain(negative_sampling)
    merged = apply_overrides(tuned_parameters["best_overrides"], sections)
    sampler = negative_sampler
    if ncf and merged["negative_sampling"] != sections["negative_sampling"]:
        sampler = build_negative_sampler(
            train_interactions,
            item_mapping,
            NegativeSamplingParams.model_validate(merged["negative_sampling"]),
        )
    logger.info(
        "%s trains with its tuned parameters (study %s, validation %s %s): %s",
        name,
        tuned_parameters.get("study_name"),
        tuned_parameters.get("monitor"),
        tuned_parameters.get(f"best_val_{tuned_parameters.get('monitor')}"),
        tuned_parameters["best_overrides"],
    )
    if not ncf:
        return merged["model"], merged["training_overrides"]
    return merged["model"], merged["training_overrides"], sampler


def applying_function(name: str) -> Callable[..., tuple[Any, ...]]:
    """:func:`apply_tuned_parameters` bound to model ``name``, as a node function."""
    return bound(apply_tuned_parameters, name, "apply_tuned")


def apply_tuned_node(name: str) -> Node:
    """The un-namespaced node that gives ``name``'s training node its tuned inputs.

    Args:
        name: The registered model.

    Returns:
        ``apply_tuned_parameters``: reads ``<name>_tuned_parameters``,
        ``params:model``, ``params:training_overrides`` (and, NCF, the
        sampler, the train split, the item mapping and
        ``params:negative_sampling``); writes ``tuned_architecture``,
        ``tuned_training_overrides`` (and, NCF, ``tuned_negative_sampler``).
    """
    inputs = {
        "tuned_parameters": f"{name}_tuned_parameters",
        "model": "params:model",
        "training_overrides": "params:training_overrides",
    }
    outputs = ["tuned_architecture", "tuned_training_overrides"]
    if get_model(name).family == "ncf":
        outputs.append("tuned_negative_sampler")
        inputs |= {
            "negative_sampler": "negative_sampler",
            "train_interactions": "train_interactions",
            "item_mapping": "item_mapping",
            "negative_sampling": "params:negative_sampling",
        }
    return Node(
        applying_function(name),
        inputs=inputs,
        outputs=outputs,
        name="apply_tuned_parameters",
    )
