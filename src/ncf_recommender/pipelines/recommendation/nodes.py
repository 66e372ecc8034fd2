"""Nodes of the ``recommendation`` pipeline: thin adapters over :mod:`ncf_recommender.serving`."""

from __future__ import annotations

from typing import Any

import pandas as pd

# Importing ncf_recommender.models.layers registers the sequence models' custom
# layers, so the catalog can load ``sasrec_model`` and ``gru_model`` (``.keras``,
# safe mode) before the node runs.
import ncf_recommender.models.layers  # noqa: F401
from ncf_recommender.lineage import check_lineage
from ncf_recommender.serving import (
    RecommendationSettings,
    batch_recommendations,
)

#: Suffix of the keyword inputs that carry a model's lineage record (``gmf_info``).
INFO_SUFFIX = "_info"


def generate_recommendations(
    ranking_metrics: dict[str, Any],
    interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    params: RecommendationSettings,
    **models_and_infos: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Top-N unseen items for every user with the chosen model.

    Args:
        ranking_metrics: The run's ``ranking_metrics`` (chooses the model when
            ``recommendation.model`` is ``auto``).
        interactions: All interactions; every one of them is excluded.
        user_mapping: ``user_id`` / ``user_idx``.
        item_mapping: ``item_id`` / ``item_idx``.
        params: The ``recommendation`` parameters.
        **models_and_infos: Trained models by model type (``gmf``, ``mlp``,
            ``neumf``, ``sasrec``, ``gru``), and each one's lineage record
            (``<model>_info``, see :mod:`ncf_recommender.lineage`). Sequence
            models read each user's full history in ``interactions`` (train,
            validation, test) in split order.

    Returns:
        ``recommendations`` (user_id, rank, item_id, score) and
        ``recommendation_summary``.

    Raises:
        LineageError: If a model was trained with other id mappings than these.
    """
    models = {}
    for name, value in models_and_infos.items():
        if name.endswith(INFO_SUFFIX):
            model = name.removesuffix(INFO_SUFFIX)
            check_lineage(
                value, user_mapping, item_mapping, model=f"{model}_model", version=None
            )
        else:
            models[name] = value
    return batch_recommendations(
        models,
        ranking_metrics,
        interactions,
        user_mapping,
        item_mapping,
        settings=params,
    )
