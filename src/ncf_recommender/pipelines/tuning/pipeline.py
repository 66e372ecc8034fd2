"""Wiring of the ``tuning`` pipeline: one study node per model, on validation only.

``kedro run --pipeline tuning`` tunes the models of ``tuning.models`` (by
default the run's ``modelling.models``), each in its own node ``tune_<model>``
tagged with the model's name. A node reads the train and validation splits,
the id mappings, the model's configured parameters, the ``tuning`` group and
the study folder (``tuning_studies``); NCF models also read the catalogued
``negative_sampler``, a pretrained NeuMF the ``<source>_model`` it starts
from. No node reads ``test_interactions`` or ``test_candidates``. Each writes
the versioned ``<model>_tuned_parameters`` that ``modelling.use_tuned`` applies,
and ``plot_tuning_<model>`` draws Optuna's optimisation history and parameter
importances of the study (``<model>_tuning_history_plot``,
``<model>_tuning_importance_plot``).

The pipeline is not part of ``__default__``: a study is run on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from ncf_recommender.models.registry import CONTENT_INPUTS
from ncf_recommender.models.registry import MODELS as REGISTRY
from ncf_recommender.pipelines.tuning.nodes import plot_tuning_study, tuning_function
from ncf_recommender.pipelines.tuning.selection import tuned_models

#: Datasets a tuning run must never read (the test split and its candidates).
TEST_DATASETS = frozenset({"test_interactions", "test_candidates"})


def tuning_node(name: str) -> Node:
    """The study node of one registered model.

    Args:
        name: The model.

    Returns:
        ``tune_<name>``, writing ``<name>_tuned_parameters``.
    """
    entry = REGISTRY[name]
    inputs = {
        "train_interactions": "train_interactions",
        "val_interactions": "val_interactions",
        "user_mapping": "user_mapping",
        "item_mapping": "item_mapping",
        "model": f"params:{name}.model",
        "training": f"params:{entry.parameter_group}",
        "training_overrides": f"params:{name}.training_overrides",
        "tuning": "params:tuning",
        "tuning_studies": "tuning_studies",
        **{f"pretrained_{s}": f"{s}_model" for s in entry.pretrained_from},
        **{dataset: dataset for dataset in CONTENT_INPUTS if entry.reads_content},
    }
    if entry.family == "ncf":
        inputs["negative_sampler"] = "negative_sampler"
        inputs["negative_sampling"] = "params:negative_sampling"
    return Node(
        tuning_function(name),
        inputs=inputs,
        outputs=f"{name}_tuned_parameters",
        name=f"tune_{name}",
        tags=["tuning", name],
    )


def plot_node(name: str) -> Node:
    """Optuna's figures of one model's study (``<name>_tuning_*_plot``)."""
    return Node(
        plot_tuning_study,
        inputs=[f"{name}_tuned_parameters", "tuning_studies"],
        outputs=[f"{name}_tuning_history_plot", f"{name}_tuning_importance_plot"],
        name=f"plot_tuning_{name}",
        tags=["tuning", name],
    )


def create_pipeline(models: Sequence[str] | None = None, **kwargs) -> Pipeline:
    """One study node per model.

    Args:
        models: Models to tune; ``None``: the run's selection
            (:func:`~ncf_recommender.pipelines.tuning.selection.tuned_models`).
        **kwargs: Ignored (Kedro's ``find_pipelines`` passes none).

    Returns:
        The ``tuning`` pipeline.
    """
    chosen = tuned_models() if models is None else tuple(models)
    return Pipeline(
        [node for name in chosen for node in (tuning_node(name), plot_node(name))]
    )
