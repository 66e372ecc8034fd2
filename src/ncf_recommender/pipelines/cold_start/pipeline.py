"""Wiring of the ``cold_start`` pipeline (on request: ``kedro run --pipeline cold_start``).

``data_processing`` and ``item_metadata`` outputs → ``hold_out_items`` (the
``cold_*`` splits and ``new_items``) → each model of :data:`COLD_START_MODELS`
trained on the cold split by the modelling pipeline's training node and
evaluated per group → the metadata baselines → ``cold_start_metrics`` and
``cold_warm_plot``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from ncf_recommender.models.registry import CONTENT_INPUTS, MODELS
from ncf_recommender.pipelines.cold_start.nodes import (
    combine_cold_start_metrics,
    evaluate_cold_start_baselines,
    evaluate_cold_start_model,
    hold_out_items,
    plot_cold_warm,
)
from ncf_recommender.pipelines.modelling.sequence_nodes import train_sequence_model

#: The id-only reference and every content-aware model of the registry.
COLD_START_MODELS: tuple[str, ...] = (
    "sasrec",
    *(name for name, entry in MODELS.items() if entry.reads_content),
)
_COLD_SPLITS = {
    "cold_train_interactions": "cold_train_interactions",
    "cold_val_interactions": "cold_val_interactions",
}


def _model_nodes(name: str) -> list[Node]:
    """Train ``name`` on the cold split, then evaluate it per group."""
    entry = MODELS[name]
    content = {dataset: dataset for dataset in CONTENT_INPUTS if entry.reads_content}
    prefix = f"cold_start_{name}"
    return [
        Node(
            train_sequence_model,
            inputs={
                "train_interactions": "cold_train_interactions",
                "val_interactions": "cold_val_interactions",
                "user_mapping": "user_mapping",
                "item_mapping": "item_mapping",
                "model": f"params:{name}.model",
                "sequence_training": "params:sequence_training",
                "training_overrides": f"params:{name}.training_overrides",
                **content,
            },
            outputs=[
                f"{prefix}_model",
                f"{prefix}_training_history",
                f"{prefix}_summary",
            ],
            name=f"cold_start.train_{name}",
        ),
        Node(
            evaluate_cold_start_model,
            inputs={
                "model": f"{prefix}_model",
                "training_summary": f"{prefix}_summary",
                **_COLD_SPLITS,
                "train_interactions": "train_interactions",
                "val_interactions": "val_interactions",
                "test_interactions": "test_interactions",
                "new_items": "new_items",
                "user_mapping": "user_mapping",
            },
            outputs=f"{prefix}_metrics",
            name=f"cold_start.evaluate_{name}",
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    """The cold-item protocol: held-out items, models, baselines, report and plot."""
    nodes = [
        Node(
            hold_out_items,
            inputs=[
                "train_interactions",
                "val_interactions",
                "test_interactions",
                "item_mapping",
                "params:cold_start",
            ],
            outputs=["cold_train_interactions", "cold_val_interactions", "new_items"],
            name="cold_start.hold_out_items",
        ),
        Node(
            evaluate_cold_start_baselines,
            inputs=[
                "cold_train_interactions",
                "train_interactions",
                "val_interactions",
                "test_interactions",
                "new_items",
                "user_mapping",
                "item_mapping",
                "item_metadata",
                *CONTENT_INPUTS,
            ],
            outputs="cold_start_baseline_metrics",
            name="cold_start.evaluate_baselines",
        ),
        *(node for name in COLD_START_MODELS for node in _model_nodes(name)),
        Node(
            combine_cold_start_metrics,
            inputs={
                "new_items": "new_items",
                "cold_start": "params:cold_start",
                "baselines": "cold_start_baseline_metrics",
                **{name: f"cold_start_{name}_metrics" for name in COLD_START_MODELS},
            },
            outputs="cold_start_metrics",
            name="cold_start.combine_metrics",
        ),
        Node(
            plot_cold_warm,
            inputs="cold_start_metrics",
            outputs="cold_warm_plot",
            name="cold_start.plot_cold_warm",
        ),
    ]
    return Pipeline(nodes, tags="cold_start")
