"""The next-item sequence models' adapter of the training loop (SASRec, GRU4Rec).

Every position of every training window predicts the item that follows it
(see :func:`~ncf_recommender.models.sequences.training_windows`), so one
window of ``max_len`` items gives up to ``max_len`` examples. Losses:

* ``softmax``: cross-entropy over the whole catalogue (every item a negative);
  exact, but its time and memory grow with the catalogue.
* ``sampled_softmax``: cross-entropy over the positive and ``n_negatives``
  items drawn uniformly (with replacement) once per training window and shared
  by its positions; a negative equal to a position's target is masked out.
  Uniform sampling needs no log-Q correction.
* ``bce``: binary cross-entropy of the positive against each of the same
  sampled negatives (the original SASRec loss used one negative).
* ``auto``: ``softmax`` up to ``full_softmax_max_items`` items, else
  ``sampled_softmax``.

Training reads train interactions only. Validation ranks each validation item
among all items after the user's train history, the user's train items
removed (the protocol's validation metric).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sp
from keras import ops

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.layers import ITEM_EMBEDDING, SEQUENCE_OUTPUT
from ncf_recommender.models.sequences import (
    SequenceScorer,
    TrainingWindows,
    UserHistories,
    build_histories,
    training_windows,
)
from ncf_recommender.training.batches import ExamplesProgress, batched_dataset
from ncf_recommender.training.loop import (
    EpochStats,
    TrainingResult,
    fit,
    validation_sample,
)
from ncf_recommender.training.optimizers import build_optimizer
from ncf_recommender.training.params import SequenceTrainingParams
from ncf_recommender.training.schedules import learning_rate_schedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceValidation:
    """What validation ranks: each user's validation item after their train history.

    Attributes:
        users: ``(U,)`` users with a validation item.
        targets: ``(U,)`` their validation items.
        exclude: ``(n_users, n_items)`` sparse matrix of each user's train items.
        histories: Histories the model reads (train only), indexed by user.
    """

    users: np.ndarray
    targets: np.ndarray
    exclude: sp.csr_matrix
    histories: UserHistories


def sequence_validation(
    train: pd.DataFrame, val: pd.DataFrame, n_users: int, n_items: int
) -> tuple[UserHistories, SequenceValidation]:
    """Train histories and the validation set from the split's frames.

    Args:
        train: ``train_interactions`` (``user_idx``, ``item_idx``, ``timestamp``).
        val: ``val_interactions`` (one row per validated user).
        n_users: Number of users.
        n_items: Number of items.

    Returns:
        ``(train_histories, validation)``; the validation reads train histories
        and masks each user's train items.

    Raises:
        KeyError: If a column is missing.
        ValueError: If an index is out of range.
    """
    histories = build_histories(train, n_users)
    missing = [c for c in (USER_IDX, ITEM_IDX) if c not in val.columns]
    if missing:
        raise KeyError(f"val is missing column(s) {missing}; has {list(val.columns)}")
    exclude = interaction_matrix(
        train[USER_IDX].to_numpy(), train[ITEM_IDX].to_numpy(), n_users, n_items
    )
    validation = SequenceValidation(
        users=val[USER_IDX].to_numpy(),
        targets=val[ITEM_IDX].to_numpy(),
        exclude=exclude,
        histories=histories,
    )
    return histories, validation


class SampledLogits(keras.layers.Layer):
    """Logits of each position's target and of its sequence's sampled negatives.

    Used only inside the training graph of the sampled losses (never saved).
    ``hidden`` is ``(B, T, d)``; ``positives`` the target embeddings ``(B, T, d)``;
    ``negatives`` the embeddings of ``K`` items sampled once per sequence
    ``(B, K, d)``, shared by its positions. A negative that happens to be the
    position's own target (an accidental hit) gets a logit of ``-1e9``.
    """

    def call(
        self,
        hidden: Any,
        positives: Any,
        negatives: Any,
        target_ids: Any,
        negative_ids: Any,
    ) -> Any:
        """Return ``(B, T, 1 + K)`` logits, the target's first."""
        positive = ops.sum(hidden * positives, axis=-1, keepdims=True)
        negative = ops.matmul(hidden, ops.transpose(negatives, (0, 2, 1)))
        hit = ops.equal(
            ops.expand_dims(target_ids, -1), ops.expand_dims(negative_ids, 1)
        )
        negative = ops.where(hit, ops.cast(-1e9, negative.dtype), negative)
        return ops.concatenate([positive, negative], axis=-1)

    def compute_mask(self, *args: Any, **kwargs: Any) -> Any:
        """No mask: padding positions carry zero sample weight instead."""
        return None


def training_graph(model: keras.Model, loss: str, n_negatives: int) -> keras.Model:
    """A model sharing ``model``'s layers that scores every position of a window.

    ``softmax``: input the history, output ``(B, T, n_items)`` logits.
    Sampled losses: inputs the history, the target ids ``(B, T)`` and
    ``n_negatives`` sampled ids per sequence ``(B, K)`` (all ``item_idx + 1``),
    output ``(B, T, 1 + K)`` logits (see :class:`SampledLogits`).

    Args:
        model: A next-item model with the layers
            :data:`~ncf_recommender.models.layers.ITEM_EMBEDDING` and
            :data:`~ncf_recommender.models.layers.SEQUENCE_OUTPUT`.
        loss: The resolved loss.
        n_negatives: Sampled negatives per window.

    Returns:
        The training graph.

    Raises:
        ValueError: If the model lacks those layers.
    """
    names = {layer.name for layer in model.layers}
    if not {ITEM_EMBEDDING, SEQUENCE_OUTPUT} <= names:
        raise ValueError(
            f"model must have layers {ITEM_EMBEDDING!r} and {SEQUENCE_OUTPUT!r} "
            "(build it with build_sasrec or build_gru4rec)"
        )
    items = model.get_layer(ITEM_EMBEDDING)
    hidden = model.get_layer(SEQUENCE_OUTPUT).output
    if loss == "softmax":
        return keras.Model(
            model.inputs, items(hidden, reverse=True), name=f"{model.name}_train"
        )
    max_len = model.inputs[0].shape[1]
    targets = keras.Input(shape=(max_len,), dtype="int32", name="targets")
    negatives = keras.Input(shape=(n_negatives,), dtype="int32", name="negatives")
    logits = SampledLogits(name="sampled_logits")(
        hidden, items(targets), items(negatives), targets, negatives
    )
    return keras.Model(
        [*model.inputs, targets, negatives], logits, name=f"{model.name}_train"
    )


def _loss_function(loss: str) -> keras.losses.Loss:
    """The Keras loss; padding positions carry sample weight 0.

    Averaging over the real positions only keeps the reported loss (and the
    gradient scale that clipnorm sees) independent of how much of a window is
    padding.
    """
    reduction = "mean_with_sample_weight"
    if loss == "bce":
        return keras.losses.BinaryCrossentropy(from_logits=True, reduction=reduction)
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=reduction
    )


def _epoch_arrays(
    windows: TrainingWindows,
    order: np.ndarray,
    loss: str,
    n_items: int,
    n_negatives: int,
    *,
    rng: np.random.Generator,
) -> tuple[Any, np.ndarray]:
    """Model inputs and labels of one epoch (windows in ``order``) for the loss."""
    inputs, targets = windows.inputs[order], windows.targets[order]
    if loss == "softmax":
        return inputs, targets
    target_ids = np.where(windows.weights[order] > 0, targets + 1, 0).astype(np.int32)
    negatives = rng.integers(1, n_items + 1, (order.size, n_negatives), dtype=np.int32)
    x = [inputs, target_ids, negatives]
    if loss == "sampled_softmax":
        return x, np.zeros(targets.shape, dtype=np.int32)
    labels = np.zeros((*targets.shape, n_negatives + 1), dtype=np.float32)
    labels[..., 0] = 1.0
    return x, labels


def sample_validation(
    validation: SequenceValidation, params: SequenceTrainingParams
) -> SequenceValidation:
    """All validation users, or the seeded ``max_validation_users`` sample of them.

    Args:
        validation: The whole validation set.
        params: ``max_validation_users`` and ``seed``.

    Returns:
        ``validation`` itself, or a copy holding the sampled users and targets.
    """
    keep = validation_sample(validation.users.size, params)
    if keep is None:
        return validation
    return replace(
        validation, users=validation.users[keep], targets=validation.targets[keep]
    )


def validate(
    model: keras.Model, validation: SequenceValidation, batch_size: int = 1024
) -> dict[str, float | int]:
    """Full-ranking validation metrics (HR/NDCG@5/10/20, MRR) of a sequence model.

    Args:
        model: The next-item model.
        validation: Validation users, items, exclusions and histories.
        batch_size: Users per scoring batch.

    Returns:
        The metrics of :func:`ncf_recommender.evaluation.full_ranking_metrics`.
    """
    scorer = SequenceScorer(model, validation.histories, batch_size=batch_size)
    return full_ranking_metrics(
        scorer,
        validation.users,
        validation.targets,
        validation.exclude,
        batch_size=batch_size,
    )


class SequenceAdapter:
    """Per-epoch hooks of the next-item models (see :class:`~ncf_recommender.training.loop.FamilyAdapter`)."""

    unit = "windows"
    validate_initial = False

    def __init__(
        self,
        train_histories: UserHistories,
        validation: SequenceValidation,
        params: SequenceTrainingParams,
    ) -> None:
        """Hold the data and the parameters of one training run.

        Args:
            train_histories: Per-user train histories in split order.
            validation: See :class:`SequenceValidation` (histories = train only).
            params: The validated ``sequence_training`` group (with overrides).
        """
        self.train_histories = train_histories
        self.validation = validation
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        self.loss = ""
        self.n_items = 0
        self.graph: keras.Model | None = None
        self.windows: TrainingWindows | None = None

    def prepare(self, model: keras.Model) -> int:
        """Cut the training windows, build and compile the training graph.

        Returns:
            Training windows per epoch.

        Raises:
            ValueError: If the model lacks the expected layers or there is
                nothing to train on.
        """
        params = self.params
        self.n_items = int(model.outputs[0].shape[-1])
        max_len = int(model.inputs[0].shape[1])
        self.loss = params.resolved_loss(self.n_items)
        self.validation = sample_validation(self.validation, params)
        self.windows = training_windows(
            self.train_histories, max_len, params.window_stride
        )
        n_windows = int(self.windows.inputs.shape[0])
        if n_windows == 0:
            raise ValueError(
                "no training windows: every train history has fewer than 2 items"
            )
        self.graph = training_graph(model, self.loss, params.n_negatives)
        rate = learning_rate_schedule(
            params.learning_rate,
            params.decay_epochs,
            params.decay_floor,
            -(-n_windows // params.batch_size),
        )
        optimizer = build_optimizer(
            "keras_adam",
            rate,
            clipnorm=params.clipnorm,
            weight_decay=params.weight_decay,
        )
        self.graph.compile(
            optimizer=optimizer,
            loss=_loss_function(self.loss),
            jit_compile=params.jit_compile,
        )
        logger.info(
            "Training %s: %d windows of %d, loss %s, %d items, up to %d epochs",
            model.name,
            n_windows,
            max_len,
            self.loss,
            self.n_items,
            params.epochs,
        )
        return n_windows

    def train_epoch(
        self, model: keras.Model, epoch: int, advance: Callable[[float], None]
    ) -> EpochStats:
        """One pass over the windows in a fresh order, with fresh negatives."""
        windows, params = self.windows, self.params
        n_windows = int(windows.inputs.shape[0])
        order = self.rng.permutation(n_windows)
        x, y = _epoch_arrays(
            windows, order, self.loss, self.n_items, params.n_negatives, rng=self.rng
        )
        inputs = tuple(x) if isinstance(x, list) else x
        dataset = batched_dataset(
            (inputs, y, windows.weights[order]), params.batch_size
        )
        fitted = self.graph.fit(
            dataset,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[ExamplesProgress(advance, params.batch_size, n_windows)],
        )
        return EpochStats(float(fitted.history["loss"][-1]), n_windows)

    def validate(self, model: keras.Model) -> dict[str, Any]:
        """HR/NDCG@5/10/20 and MRR of the validation sample, full ranking."""
        return validate(model, self.validation, self.params.eval_batch_size)


def train_sequence(
    model: keras.Model,
    train_histories: UserHistories,
    validation: SequenceValidation,
    params: SequenceTrainingParams,
) -> TrainingResult:
    """Train a next-item model with early stopping on validation.

    Args:
        model: Built by ``build_sasrec`` or ``build_gru4rec`` (seeded by the
            caller); trained in place.
        train_histories: Per-user train histories in split order.
        validation: See :class:`SequenceValidation` (histories = train only).
        params: The validated ``sequence_training`` group (with overrides).

    Returns:
        The :class:`~ncf_recommender.training.loop.TrainingResult`.
    """
    return fit(SequenceAdapter(train_histories, validation, params), model, params)
