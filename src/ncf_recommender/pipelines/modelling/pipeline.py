"""Wiring of the ``modelling`` pipeline.

A train → evaluate template is instantiated per Keras model type with
``namespace=<model>``: the shared inputs and the shared parameter groups keep
their names, ``params:model`` and ``params:training_overrides`` resolve to
``<model>.model`` and ``<model>.training_overrides``, and the outputs are
renamed to the catalog's ``<model>_model``, ``<model>_training_history`` and
``<model>_metrics``. There are two templates with the same node names and
outputs: the NCF family (GMF, MLP-NCF, NeuMF; shared group ``training``) and
the next-item sequence models (SASRec, GRU4Rec; shared group
``sequence_training``). NeuMF additionally reads ``gmf_model`` and
``mlp_model`` for its pretraining. The baselines are evaluated in the same
run and every entry is combined into one ``ranking_metrics`` report with its
plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kedro.pipeline import Node, Pipeline, pipeline

from ncf_recommender.pipelines.modelling.nodes import (
    PRETRAINED_FROM,
    combine_ranking_metrics,
    describe_model,
    evaluate_als,
    evaluate_most_popular,
    evaluate_ncf_model,
    plot_learning_curves,
    plot_model_comparison,
    train_ncf_model,
)
from ncf_recommender.pipelines.modelling.selection import (
    BASELINES,
    MODELS,
    NCF_MODELS,  # noqa: F401 (re-exported: modelling.NCF_MODELS)
    SEQUENCE_MODELS,
    selected_models,
)
from ncf_recommender.pipelines.modelling.sequence_nodes import (
    evaluate_sequence_model,
    train_sequence_model,
)

#: Extra inputs of a model's training node: its pretrained models.
PRETRAINED_INPUTS: Mapping[str, Mapping[str, str]] = {
    "neumf": {f"pretrained_{name}": f"{name}_model" for name in PRETRAINED_FROM},
}
_SPLITS = ["train_interactions", "val_interactions", "test_interactions"]
_SHARED_INPUTS = {*_SPLITS, "test_candidates", "user_mapping", "item_mapping"}
_SHARED_PARAMS = {
    "params:training": "params:training",
    "params:evaluation": "params:evaluation",
}
_SHARED_SEQUENCE_PARAMS = {
    "params:sequence_training": "params:sequence_training",
    "params:evaluation": "params:evaluation",
}
_EVALUATION_INPUTS = [
    "model",
    "training_summary",
    *_SPLITS,
    "test_candidates",
    "user_mapping",
    "item_mapping",
    "params:evaluation",
]


def model_template(pretrained_inputs: Mapping[str, str] | None = None) -> Pipeline:
    """The train → evaluate template shared by every Keras model type.

    Args:
        pretrained_inputs: Extra keyword inputs of the training node (e.g.
            ``{"pretrained_gmf": "gmf_model"}``).

    Returns:
        The un-namespaced template.
    """
    train_inputs = {
        "train_interactions": "train_interactions",
        "val_interactions": "val_interactions",
        "user_mapping": "user_mapping",
        "item_mapping": "item_mapping",
        "model": "params:model",
        "training": "params:training",
        "training_overrides": "params:training_overrides",
        **(pretrained_inputs or {}),
    }
    return Pipeline(
        [
            Node(
                train_ncf_model,
                inputs=train_inputs,
                outputs=["model", "training_history", "training_summary"],
                name="train_model",
            ),
            Node(
                describe_model,
                inputs=["model", "user_mapping", "item_mapping"],
                outputs="model_info",
                name="describe_model",
            ),
            Node(
                evaluate_ncf_model,
                inputs=_EVALUATION_INPUTS,
                outputs="metrics",
                name="evaluate_model",
            ),
        ]
    )


def sequence_template() -> Pipeline:
    """The train → evaluate template shared by the next-item sequence models.

    Same node names, inputs and outputs as :func:`model_template`, except the
    shared training group, ``params:sequence_training``.

    Returns:
        The un-namespaced template.
    """
    return Pipeline(
        [
            Node(
                train_sequence_model,
                inputs={
                    "train_interactions": "train_interactions",
                    "val_interactions": "val_interactions",
                    "user_mapping": "user_mapping",
                    "item_mapping": "item_mapping",
                    "model": "params:model",
                    "sequence_training": "params:sequence_training",
                    "training_overrides": "params:training_overrides",
                },
                outputs=["model", "training_history", "training_summary"],
                name="train_model",
            ),
            Node(
                describe_model,
                inputs=["model", "user_mapping", "item_mapping"],
                outputs="model_info",
                name="describe_model",
            ),
            Node(
                evaluate_sequence_model,
                inputs=_EVALUATION_INPUTS,
                outputs="metrics",
                name="evaluate_model",
            ),
        ]
    )


def model_pipeline(name: str) -> Pipeline:
    """The template instantiated for one model type.

    Args:
        name: Model name: namespace, parameter group, tag and dataset prefix;
            a name in :data:`SEQUENCE_MODELS` gets :func:`sequence_template`.

    Returns:
        The namespaced pipeline, tagged with ``name``.
    """
    pretrained = PRETRAINED_INPUTS.get(name, {})
    sequence = name in SEQUENCE_MODELS
    return pipeline(
        sequence_template() if sequence else model_template(pretrained),
        namespace=name,
        inputs=_SHARED_INPUTS | set(pretrained.values()),
        outputs={
            "model": f"{name}_model",
            "training_history": f"{name}_training_history",
            "metrics": f"{name}_metrics",
            "model_info": f"{name}_model_info",
        },
        parameters=_SHARED_SEQUENCE_PARAMS if sequence else _SHARED_PARAMS,
        tags=name,
    )


def baselines_pipeline() -> Pipeline:
    """Most-popular and ALS evaluated under the same protocol.

    Returns:
        The pipeline, grouped under the ``baselines`` namespace.
    """
    evaluation_inputs = [*_SPLITS, "test_candidates", "user_mapping", "item_mapping"]
    return Pipeline(
        [
            Node(
                evaluate_most_popular,
                inputs=[*evaluation_inputs, "params:evaluation"],
                outputs="most_popular_metrics",
                name="evaluate_most_popular",
            ),
            Node(
                evaluate_als,
                inputs=[*evaluation_inputs, "params:baselines", "params:evaluation"],
                outputs="als_metrics",
                name="evaluate_als",
            ),
        ],
        namespace="baselines",
        prefix_datasets_with_namespace=False,
        tags="baselines",
    )


def report_pipeline(models: Sequence[str] = MODELS) -> Pipeline:
    """``ranking_metrics`` and its plots from every model's outputs.

    Args:
        models: The Keras models whose entries and histories are reported.

    Returns:
        The report pipeline.
    """
    entries = {name: f"{name}_metrics" for name in (*models, *BASELINES)}
    return Pipeline(
        [
            Node(
                combine_ranking_metrics,
                inputs=entries,
                outputs="ranking_metrics",
                name="combine_ranking_metrics",
            ),
            Node(
                plot_learning_curves,
                inputs={name: f"{name}_training_history" for name in models},
                outputs="learning_curves_plot",
                name="plot_learning_curves",
            ),
            Node(
                plot_model_comparison,
                inputs="ranking_metrics",
                outputs="model_comparison_plot",
                name="plot_model_comparison",
            ),
        ]
    )


def create_pipeline(models: Sequence[str] | None = None, **kwargs) -> Pipeline:
    """Train the selected Keras models; evaluate them and the baselines; report.

    Args:
        models: Keras models to train (a subset of :data:`MODELS`); ``None``:
            the run's ``modelling.models`` (:func:`selected_models`), by default
            GMF, MLP-NCF, NeuMF, SASRec and GRU4Rec.
        **kwargs: Ignored (Kedro's ``find_pipelines`` passes none).

    Returns:
        The ``modelling`` pipeline.
    """
    chosen = tuple(selected_models() if models is None else models)
    return (
        sum((model_pipeline(name) for name in chosen), Pipeline([]))
        + baselines_pipeline()
        + report_pipeline(chosen)
    )
