"""Training of the next-item sequence models (SASRec-style, GRU4Rec-style).

Every position of every training window predicts the item that follows it
(see :func:`~ncf_recommender.models.sequences.training_windows`), so one
window of ``max_len`` items gives up to ``max_len`` examples. Losses:

* ``softmax``: cross-entropy over the whole catalogue (every item a negative);
  exact, but its time and memory grow with the catalogue (a batch holds
  ``batch_size x max_len x n_items`` logits).
* ``sampled_softmax``: cross-entropy over the positive and ``n_negatives``
  items drawn uniformly (with replacement) once per training window and shared
  by its positions; a negative equal to a position's target is masked out. For
  catalogues too large for the full softmax. Uniform sampling needs no log-Q
  correction (it is the same for every item).
* ``bce``: binary cross-entropy of the positive against each of the same
  sampled negatives (the original SASRec loss used one negative).
* ``auto``: ``softmax`` up to ``full_softmax_max_items`` items, else
  ``sampled_softmax``.

Training reads train interactions only. Validation ranks each validation item
among all items for the user's train history, masking the user's train items
(the protocol's validation metric), after every epoch; the best epoch's
weights are kept (early stopping on ``monitor``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sp
from keras import ops

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.sequences import (
    SequenceScorer,
    TrainingWindows,
    UserHistories,
    build_histories,
    training_windows,
)
from ncf_recommender.models.training import (
    ExamplesProgress,
    batched_dataset,
    check_decay,
    check_time_budget,
    learning_rate_schedule,
    seed_everything,
    stop_reason,
    warn_if_capped,
)
from ncf_recommender.progress import progress

logger = logging.getLogger(__name__)

LOSSES = ("softmax", "sampled_softmax", "bce", "auto")


@dataclass(frozen=True)
class SequenceTrainingParams:
    """Hyper-parameters of :func:`train_sequence_model`.

    The defaults are the setting chosen on MovieLens-100k validation NDCG@10
    for both SASRec and GRU4Rec (see ``benchmarks/bench_sequence_ml100k.py``):
    sampled softmax with 256 negatives beat the full softmax and BCE there, and
    a 12-epoch cosine decay from 1e-2 reached the best epoch fastest.

    Attributes:
        epochs: Maximum number of epochs.
        batch_size: Training windows per step.
        learning_rate: Adam learning rate (the peak, when decayed).
        decay_epochs: If set, the learning rate follows a cosine decay from
            ``learning_rate`` to ``decay_floor * learning_rate`` over this many
            epochs and stays there; ``None`` keeps it constant.
        decay_floor: Final fraction of the learning rate under decay.
        loss: ``softmax``, ``sampled_softmax``, ``bce`` or ``auto``.
        n_negatives: Negatives sampled per training window, shared by its
            positions (sampled losses).
        full_softmax_max_items: Largest catalogue ``auto`` trains with the full softmax.
        window_stride: Step between training windows (``None``: ``max_len``).
        patience: Epochs without a better validation ``monitor`` before stopping.
        monitor: Validation metric to maximise (a key of ``full_ranking_metrics``).
        clipnorm: Gradient-norm clipping (``None`` for none).
        weight_decay: Decoupled weight decay (AdamW) when positive.
        eval_batch_size: Users scored per validation batch.
        max_validation_users: If set, early stopping ranks a seeded sample of
            this many validation users each epoch (the same sample every
            epoch); ``None`` ranks all.
        jit_compile: Compile the training step with XLA (slower to start on CPU).
        max_train_seconds: Wall-clock budget, as in the NCF trainer's
            ``TrainingConfig``; ``None``: none.
        seed: Seed of Keras (weights, dropout) and of window shuffling and negatives.
    """

    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 1e-2
    decay_epochs: int | None = 12
    decay_floor: float = 0.0
    loss: str = "sampled_softmax"
    n_negatives: int = 256
    full_softmax_max_items: int = 50_000
    window_stride: int | None = None
    patience: int = 5
    monitor: str = "ndcg@10"
    clipnorm: float | None = 1.0
    weight_decay: float = 0.0
    eval_batch_size: int = 1024
    max_validation_users: int | None = None
    jit_compile: bool = False
    max_train_seconds: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        """Validate every field, naming the bad key."""
        positive = (
            "epochs",
            "batch_size",
            "n_negatives",
            "full_softmax_max_items",
            "eval_batch_size",
        )
        for key in positive:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"training.{key} must be a positive integer, got {value!r}"
                )
        check_decay(self.decay_epochs, self.decay_floor)
        check_time_budget(self.max_train_seconds)
        if self.max_validation_users is not None and self.max_validation_users < 1:
            raise ValueError(
                "training.max_validation_users must be positive or None, "
                f"got {self.max_validation_users!r}"
            )
        if self.window_stride is not None and self.window_stride < 1:
            raise ValueError(
                f"training.window_stride must be positive, got {self.window_stride!r}"
            )
        if self.patience < 0:
            raise ValueError(f"training.patience must be >= 0, got {self.patience!r}")
        if not self.learning_rate > 0:
            raise ValueError(
                f"training.learning_rate must be positive, got {self.learning_rate!r}"
            )
        if self.loss not in LOSSES:
            raise ValueError(
                f"training.loss must be one of {LOSSES}, got {self.loss!r}"
            )
        if self.clipnorm is not None and not self.clipnorm > 0:
            raise ValueError(
                f"training.clipnorm must be positive or None, got {self.clipnorm!r}"
            )
        if self.weight_decay < 0:
            raise ValueError(
                f"training.weight_decay must be >= 0, got {self.weight_decay!r}"
            )

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> SequenceTrainingParams:
        """Build from a parameters mapping (e.g. Kedro ``params:training``).

        Args:
            params: Field values; missing fields take their defaults.

        Returns:
            The validated parameters.

        Raises:
            ValueError: If a key is unknown or a value is invalid.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"unknown training parameter(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**params)

    def resolved_loss(self, n_items: int) -> str:
        """The loss actually used for a catalogue of ``n_items`` items."""
        if self.loss != "auto":
            return self.loss
        return (
            "softmax" if n_items <= self.full_softmax_max_items else "sampled_softmax"
        )


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


def _training_graph(model: keras.Model, loss: str, n_negatives: int) -> keras.Model:
    """A model sharing ``model``'s layers that scores every position of a window.

    ``softmax``: input the history, output ``(B, T, n_items)`` logits.
    Sampled losses: inputs the history, the target ids ``(B, T)`` and
    ``n_negatives`` sampled ids per sequence ``(B, K)`` (all ``item_idx + 1``),
    output ``(B, T, 1 + K)`` logits (see :class:`SampledLogits`).
    """
    items = model.get_layer("item_embedding")
    hidden = model.get_layer("sequence_output").output
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


def _compile(
    graph: keras.Model, loss: str, params: SequenceTrainingParams, steps_per_epoch: int
) -> None:
    """Compile the training graph with Adam/AdamW, the learning-rate schedule and the loss."""
    learning_rate = learning_rate_schedule(
        params.learning_rate, params.decay_epochs, params.decay_floor, steps_per_epoch
    )
    if params.weight_decay > 0:
        optimizer: keras.optimizers.Optimizer = keras.optimizers.AdamW(
            learning_rate, weight_decay=params.weight_decay, clipnorm=params.clipnorm
        )
    else:
        optimizer = keras.optimizers.Adam(learning_rate, clipnorm=params.clipnorm)
    # Padding positions carry sample weight 0; averaging over the real positions
    # only keeps the reported loss (and the gradient scale that clipnorm sees)
    # independent of how much of a window is padding.
    reduction = "mean_with_sample_weight"
    if loss == "bce":
        loss_fn: keras.losses.Loss = keras.losses.BinaryCrossentropy(
            from_logits=True, reduction=reduction
        )
    else:
        loss_fn = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction=reduction
        )
    graph.compile(optimizer=optimizer, loss=loss_fn, jit_compile=params.jit_compile)


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


def _validation_sample(
    validation: SequenceValidation, params: SequenceTrainingParams
) -> SequenceValidation:
    """All validation users, or the seeded ``max_validation_users`` sample of them."""
    limit = params.max_validation_users
    if limit is None or limit >= validation.users.size:
        return validation
    keep = np.sort(
        np.random.default_rng(params.seed).choice(
            validation.users.size, limit, replace=False
        )
    )
    return replace(
        validation, users=validation.users[keep], targets=validation.targets[keep]
    )


def train_sequence_model(
    model: keras.Model,
    train_histories: UserHistories,
    validation: SequenceValidation,
    params: SequenceTrainingParams,
) -> tuple[keras.Model, pd.DataFrame]:
    """Train a next-item model with early stopping on validation.

    Args:
        model: Built by ``build_sasrec`` or ``build_gru4rec``; trained in place.
        train_histories: Per-user train histories in split order.
        validation: See :class:`SequenceValidation` (histories = train only).
        params: Hyper-parameters.

    Returns:
        ``(model, history)``: the model holding the best epoch's weights, and
        one row per epoch with ``epoch``, ``loss``, the validation metrics
        (``val_hr@10``, ``val_ndcg@10``, ...), ``train_seconds`` (wall),
        ``train_cpu_seconds`` (process CPU, all threads) and ``eval_seconds``
        of that epoch, ``elapsed_seconds`` (wall seconds from the start of the
        first epoch to the end of this epoch's validation), and ``best`` and
        its alias ``selected`` (True on the best epoch; ``selected`` is the
        NCF trainer's name for it).

    Raises:
        ValueError: If the model lacks the expected layers, there is nothing to
            train on, or ``monitor`` is not a validation metric.
    """
    names = {layer.name for layer in model.layers}
    if not {"item_embedding", "sequence_output"} <= names:
        raise ValueError(
            "model must have layers 'item_embedding' and 'sequence_output' "
            "(build it with build_sasrec or build_gru4rec)"
        )
    n_items = int(model.outputs[0].shape[-1])
    max_len = int(model.inputs[0].shape[1])
    loss = params.resolved_loss(n_items)
    seed_everything(params.seed)  # Keras, NumPy, Python seeds and TF op determinism
    validation = _validation_sample(validation, params)
    rng = np.random.default_rng(params.seed)
    windows = training_windows(train_histories, max_len, params.window_stride)
    n_windows = windows.inputs.shape[0]
    if n_windows == 0:
        raise ValueError(
            "no training windows: every train history has fewer than 2 items"
        )
    graph = _training_graph(model, loss, params.n_negatives)
    _compile(graph, loss, params, steps_per_epoch=-(-n_windows // params.batch_size))
    logger.info(
        "Training %s: %d windows of %d, loss %s, %d items, up to %d epochs",
        model.name,
        n_windows,
        max_len,
        loss,
        n_items,
        params.epochs,
    )
    rows: list[dict[str, Any]] = []
    best_value, best_weights, best_epoch, waited = -math.inf, model.get_weights(), 0, 0
    loop_start = time.perf_counter()
    reason: str | None = None
    for epoch in range(1, params.epochs + 1):
        order = rng.permutation(n_windows)
        x, y = _epoch_arrays(
            windows,
            order,
            loss,
            n_items,
            params.n_negatives,
            rng=rng,
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        inputs = tuple(x) if isinstance(x, list) else x
        dataset = batched_dataset(
            (inputs, y, windows.weights[order]), params.batch_size
        )
        with progress(
            f"{model.name} epoch {epoch}/{params.epochs}", n_windows, unit="windows"
        ) as advance:
            fitted = graph.fit(
                dataset,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[ExamplesProgress(advance, params.batch_size, n_windows)],
            )
        train_seconds = time.perf_counter() - start
        train_cpu_seconds = time.process_time() - cpu_start
        start = time.perf_counter()
        metrics = validate(model, validation, params.eval_batch_size)
        eval_seconds = time.perf_counter() - start
        if params.monitor not in metrics:
            raise ValueError(
                f"training.monitor {params.monitor!r} is not one of {sorted(metrics)}"
            )
        value = float(metrics[params.monitor])
        improved = value > best_value
        if improved:
            best_value, best_weights, best_epoch, waited = (
                value,
                model.get_weights(),
                epoch,
                0,
            )
        else:
            waited += 1
        rows.append(
            {
                "epoch": epoch,
                "loss": float(fitted.history["loss"][-1]),
                **{f"val_{k}": v for k, v in metrics.items() if k != "users"},
                "train_seconds": train_seconds,
                "train_cpu_seconds": train_cpu_seconds,
                "eval_seconds": eval_seconds,
                "elapsed_seconds": time.perf_counter() - loop_start,
            }
        )
        logger.info(
            "epoch %d: loss %.4f, val %s %.4f%s (train %.1f s wall / %.1f s CPU, eval %.1f s)",
            epoch,
            rows[-1]["loss"],
            params.monitor,
            value,
            " *" if improved else "",
            train_seconds,
            train_cpu_seconds,
            eval_seconds,
        )
        reason = stop_reason(
            epoch=epoch,
            epochs=params.epochs,
            patience_reached=not improved and waited >= params.patience,
            elapsed=time.perf_counter() - loop_start,
            budget=params.max_train_seconds,
        )
        if reason is not None:
            break
    stopped_at_cap = warn_if_capped(model.name, reason or "epochs")
    model.set_weights(best_weights)
    history = pd.DataFrame(rows)
    # Read by the node's summary (not a column: the catalogued history keeps its shape).
    history.attrs["stopped_at_cap"] = stopped_at_cap
    history.attrs["stop_reason"] = reason or "epochs"
    history["best"] = history["epoch"].eq(best_epoch)
    # The NCF trainer's name for the kept epoch, so both families plot together.
    history["selected"] = history["best"]
    logger.info("Best epoch %d, val %s %.4f", best_epoch, params.monitor, best_value)
    return model, history


def params_dict(params: SequenceTrainingParams) -> dict[str, Any]:
    """The parameters as a plain dict (for logging and reports)."""
    return asdict(params)
