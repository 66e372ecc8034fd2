"""Nodes of the ``modelling`` pipeline for the next-item sequence models.

Thin adapters over :mod:`ncf_recommender.training.sequence` (training) and
:mod:`ncf_recommender.models.sequences` (histories, scorer), shaped like the
NCF nodes so both families share ``ranking_metrics``, the plots and the
catalog's conventions.

Protocol: the models train on ``train_interactions`` only, as per-user
sequences in the split's order (timestamp, ties in input order). At
validation (early stopping) a user's history is their train items; at test it
is train + the validation item, which happened before the test item. The
models are never trained on validation.

Importing this module imports :mod:`ncf_recommender.models.layers`, which
registers the custom layers for Keras serialisation: any Kedro run that loads
the project's pipelines can therefore load ``sasrec_model`` and ``gru_model``
with ``safe_mode: true``.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import pandas as pd

import ncf_recommender.models.layers  # noqa: F401 (registers the custom layers)
from ncf_recommender.constants import ITEM_IDX
from ncf_recommender.evaluation import table_indices
from ncf_recommender.models.content import calibrate_on_validation, item_content
from ncf_recommender.models.registry import build_model
from ncf_recommender.models.sequences import (
    SequenceScorer,
    build_histories,
    extend_histories,
)
from ncf_recommender.models.specs import ContentSASRecParams
from ncf_recommender.pipelines.modelling.nodes import (
    _entry,
    _sizes,
    _typed,
    _with_training,
    training_outputs,
)
from ncf_recommender.pipelines.modelling.params import (
    EvaluationParams,
    SequenceModelParams,
    SequenceTrainingOverrides,
    SequenceTrainingParams,
)
from ncf_recommender.training.loop import seed_everything
from ncf_recommender.training.sequence import sequence_validation, train_sequence

logger = logging.getLogger(__name__)

#: What the model read at validation and at test (``protocol_note`` of an entry).
PROTOCOL_NOTE = (
    "validation: history = train; test: history = train + validation item; "
    "never trained on validation"
)
#: Why ``accuracy`` and ``log_loss`` are null for a sequence model (``note``).
BINARY_NOTE = (
    "accuracy and log_loss are null: the scores are logits of a softmax over "
    "the whole catalogue (which item comes next), not per-pair interaction "
    "probabilities, so thresholding them at 0.5 would mean nothing"
)


def train_sequence_model(  # noqa: PLR0917 (Kedro node: one argument per input)
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    model: SequenceModelParams,
    sequence_training: SequenceTrainingParams,
    training_overrides: SequenceTrainingOverrides,
    item_features: pd.DataFrame | None = None,
    item_feature_vocabulary: pd.DataFrame | None = None,
) -> tuple[keras.Model, pd.DataFrame, dict[str, Any]]:
    """Build and train one next-item model with early stopping on validation.

    The training sequences are each user's train items in the split's order
    (:func:`~ncf_recommender.models.sequences.build_histories`); validation
    ranks each validation item among all items after the user's train
    history, train items removed. Validation is never trained on.

    Args:
        train_interactions: Training split (``user_idx``, ``item_idx``, ``timestamp``).
        val_interactions: Validation split (one held-out item per user).
        user_mapping: ``user_id`` ↔ ``user_idx``; its length is the user count.
        item_mapping: ``item_id`` ↔ ``item_idx``; its length is the item count.
        model: The namespace's architecture.
        sequence_training: Shared sequence-training settings.
        training_overrides: The namespace's changes to ``sequence_training``.
        item_features: The ``item_metadata`` pipeline's item features (a
            content-aware model only).
        item_feature_vocabulary: Their vocabulary (a content-aware model only).

    Returns:
        The model at its best epoch, the per-epoch history (``epoch``,
        ``loss``, ``val_*``, seconds, ``selected``), and a summary with the
        NCF summary's keys (``best_epoch``, ``epochs_run``, ``val_ndcg@10``,
        ``val_hr@10``, ``train_seconds``: wall seconds of the whole loop,
        validation included; ``seconds_to_best``: to the end of the best
        epoch's validation). A content-aware model's summary adds
        ``new_items``: how its new items are scored, chosen on validation
        (:func:`~ncf_recommender.models.content.calibrate_on_validation`).
    """
    spec = _typed(model, SequenceModelParams).root
    params = _typed(sequence_training, SequenceTrainingParams).with_overrides(
        training_overrides
    )
    n_users, n_items = _sizes(user_mapping, item_mapping)
    train_histories, validation = sequence_validation(
        train_interactions, val_interactions, n_users, n_items
    )
    content = (
        _content_inputs(
            spec, train_interactions, item_features, item_feature_vocabulary, n_items
        )
        if isinstance(spec, ContentSASRecParams)
        else {}
    )
    seed_everything(params.seed)
    network = build_model(spec, n_users=n_users, n_items=n_items, **content)
    logger.info(
        "Training %s (%d parameters) on %d interactions, %d users, %d items",
        network.name,
        network.count_params(),
        train_histories.items.size,
        n_users,
        n_items,
    )
    result = train_sequence(network, train_histories, validation, params)
    model_out, history, summary = training_outputs(result, spec)
    if content:
        summary["new_items"] = calibrate_on_validation(
            model_out,
            validation,
            share=spec.new_item_share,
            warm_tolerance=spec.warm_tolerance,
            seed=params.seed,
        )
        logger.info("%s scores new items with %s", model_out.name, summary["new_items"])
    return model_out, history, summary


def _content_inputs(
    spec: ContentSASRecParams,
    train_interactions: pd.DataFrame,
    item_features: pd.DataFrame | None,
    item_feature_vocabulary: pd.DataFrame | None,
    n_items: int,
) -> dict[str, Any]:
    """The content and warm flags a content-aware model's builder reads."""
    if item_features is None or item_feature_vocabulary is None:
        raise ValueError(
            "content_sasrec reads item_features and item_feature_vocabulary: run "
            "`kedro run --pipeline item_metadata` after data_processing"
        )
    warm = np.bincount(train_interactions[ITEM_IDX].to_numpy(), minlength=n_items) > 0
    content = item_content(
        item_features, item_feature_vocabulary, n_items, spec.min_feature_items
    )
    return {"content": content, "warm": warm}


def evaluate_sequence_model(  # noqa: PLR0917 (Kedro node: one argument per input)
    model: keras.Model,
    training_summary: dict[str, Any],
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    test_candidates: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    evaluation: EvaluationParams,
) -> dict[str, Any]:
    """One sequence model's ``ranking_metrics`` entry (test metrics under the protocol).

    At test each user's history is train + the validation item; the
    ``validation`` block re-ranks the validation item after the train history
    only, as during training. Full and sampled ranking, coverage and novelty
    come from the same code as every other model
    (:func:`~ncf_recommender.evaluation.evaluate_scorer`).

    Args:
        model: The trained model (as reloaded from the catalog).
        training_summary: Output of :func:`train_sequence_model`.
        train_interactions: Training split.
        val_interactions: Validation split.
        test_interactions: Test split.
        test_candidates: The 99 stored negatives per test user.
        user_mapping: Id mapping of the users.
        item_mapping: Id mapping of the items.
        evaluation: Evaluation settings.

    Returns:
        The NCF entry's keys (``accuracy`` and ``log_loss`` null, see
        ``note``) plus ``note`` and ``protocol_note``.

    Raises:
        ValueError: If the model scores a different number of items than
            ``item_mapping`` holds.
    """
    evaluation = _typed(evaluation, EvaluationParams)
    n_users, n_items = _sizes(user_mapping, item_mapping)
    model_items = int(model.outputs[0].shape[-1])
    if model_items != n_items:
        raise ValueError(
            f"{model.name} scores {model_items} items but item_mapping has {n_items}; "
            "was it trained on other data?"
        )
    train_histories = build_histories(train_interactions, n_users)
    val_users, val_items = table_indices(val_interactions, "val_interactions")
    test_histories = extend_histories(train_histories, val_users, val_items)
    entry = _entry(
        SequenceScorer(model, test_histories),
        train_interactions,
        val_interactions,
        test_interactions,
        test_candidates,
        n_users,
        evaluation,
        validation_scorer=SequenceScorer(model, train_histories),
    )
    entry["note"] = BINARY_NOTE
    entry["protocol_note"] = PROTOCOL_NOTE
    return _with_training(entry, training_summary, model.name)
