"""Wiring of the ``modelling`` pipeline.

A train → evaluate template is instantiated per registered model
(:data:`ncf_recommender.models.registry.MODELS`) with ``namespace=<model>``:
the shared inputs and the family's shared parameter group keep their names,
``params:model`` and ``params:training_overrides`` resolve to
``<model>.model`` and ``<model>.training_overrides``, and the outputs are
renamed to the catalog's ``<model>_model``, ``<model>_training_history`` and
``<model>_metrics``. The family picks the training and evaluation nodes and
the shared group: ``training`` for the NCF family (which also reads
``feature_engineering``'s ``negative_sampler``), ``sequence_training`` for the
next-item models. A model that starts from others (NeuMF) also reads their
``<name>_model``. The baselines are evaluated in the same run and every entry
is combined into one ``ranking_metrics`` report with its plots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kedro.pipeline import Node, Pipeline, pipeline

from ncf_recommender.models.registry import CONTENT_INPUTS, FAMILY_PARAMETERS, Family
from ncf_recommender.models.registry import MODELS as REGISTRY
from ncf_recommender.pipelines.modelling.nodes import (
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
    DEFAULT_MODELS,  # noqa: F401 (re-exported: modelling.DEFAULT_MODELS)
    MODELS,
    NCF_MODELS,  # noqa: F401 (re-exported: modelling.NCF_MODELS)
    SEQUENCE_MODELS,  # noqa: F401 (re-exported: modelling.SEQUENCE_MODELS)
    selected_models,
    tuned_parameters_used,
)
from ncf_recommender.pipelines.modelling.sequence_nodes import (
    evaluate_sequence_model,
    train_sequence_model,
)
from ncf_recommender.pipelines.modelling.tuned import apply_tuned_node

_SPLITS = ["train_interactions", "val_interactions", "test_interactions"]
_SHARED_INPUTS = {*_SPLITS, "test_candidates", "user_mapping", "item_mapping"}
#: Each family's training and evaluation nodes, and its extra shared inputs.
_FAMILY_NODES: dict[Family, tuple[Callable, Callable, tuple[str, ...]]] = {
    "ncf": (train_ncf_model, evaluate_ncf_model, ("negative_sampler",)),
    "sequence": (train_sequence_model, evaluate_sequence_model, ()),
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


def extra_training_inputs(name: str) -> dict[str, str]:
    """Extra inputs of a model's training node: the models it starts from, and
    the item features of a content-aware model.

    Args:
        name: A registered model.

    Returns:
        ``{"pretrained_<source>": "<source>_model"}``, plus ``item_features``
        and ``item_feature_vocabulary`` for a model that reads content.
    """
    entry = REGISTRY[name]
    content = {dataset: dataset for dataset in CONTENT_INPUTS if entry.reads_content}
    return {f"pretrained_{s}": f"{s}_model" for s in entry.pretrained_from} | content


def model_template(
    family: Family, pretrained: dict[str, str] | None = None, *, tuned: bool = False
) -> Pipeline:
    """The un-namespaced train → describe → evaluate template of a family.

    Args:
        family: ``ncf`` or ``sequence``.
        pretrained: Extra keyword inputs of the training node (e.g.
            ``{"pretrained_gmf": "gmf_model"}``).
        tuned: Train from ``tuned_architecture``, ``tuned_training_overrides`` (and
            ``tuned_negative_sampler``), the outputs of the namespace's
            ``apply_tuned_parameters`` node, instead of the parameters.

    Returns:
        The template.
    """
    train, evaluate, extra_inputs = _FAMILY_NODES[family]
    group = FAMILY_PARAMETERS[family]
    train_inputs = {
        "train_interactions": "train_interactions",
        "val_interactions": "val_interactions",
        "user_mapping": "user_mapping",
        "item_mapping": "item_mapping",
        **{name: name for name in extra_inputs},
        "model": "params:model",
        group: f"params:{group}",
        "training_overrides": "params:training_overrides",
        **(pretrained or {}),
    }
    if tuned:
        train_inputs |= {
            "model": "tuned_architecture",
            "training_overrides": "tuned_training_overrides",
        }
        if "negative_sampler" in train_inputs:
            train_inputs["negative_sampler"] = "tuned_negative_sampler"
    return Pipeline(
        [
            Node(
                train,
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
                evaluate,
                inputs=_EVALUATION_INPUTS,
                outputs="metrics",
                name="evaluate_model",
            ),
        ]
    )


def model_pipeline(name: str) -> Pipeline:
    """The template instantiated for one registered model.

    Args:
        name: Model name: namespace, parameter group, tag and dataset prefix.

    Returns:
        The namespaced pipeline, tagged with ``name``.
    """
    entry = REGISTRY[name]
    training_extras = extra_training_inputs(name)
    extra = _FAMILY_NODES[entry.family][2]
    group = f"params:{entry.parameter_group}"
    template = model_template(
        entry.family, training_extras, tuned=tuned_parameters_used()
    )
    shared = _SHARED_INPUTS | set(extra) | set(training_extras.values())
    parameters = {group: group, "params:evaluation": "params:evaluation"}
    if tuned_parameters_used():  # modelling.use_tuned: see modelling/tuned.py
        template = Pipeline([apply_tuned_node(name)]) + template
        shared |= {f"{name}_tuned_parameters"}
        if entry.family == "ncf":
            parameters["params:negative_sampling"] = "params:negative_sampling"
    return pipeline(
        template,
        namespace=name,
        inputs=shared,
        outputs={
            "model": f"{name}_model",
            "training_history": f"{name}_training_history",
            "metrics": f"{name}_metrics",
            "model_info": f"{name}_model_info",
        },
        parameters=parameters,
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
