"""Training loop for the Keras NCF models, with early stopping on validation.

Each epoch draws fresh negatives from the training sampler, shuffles the
examples with a seed, feeds them through ``tf.data`` to ``model.fit`` (Adam or
SGD, binary cross-entropy, ``steps_per_execution`` steps per graph call), then
ranks every validation user's held-out item among all items, the user's train
items removed (the protocol's validation metric). Epoch 0 is the model before
training, so a pretrained NeuMF can keep its initial weights when fine-tuning
does not help.

The epoch kept is the one with the best *smoothed* validation NDCG@10 (a
centred moving average over ``smoothing`` epochs), which is less prone than the
raw maximum to picking a lucky spike; training stops when the smoothed value has
not improved for ``patience`` epochs, and the model is restored to the weights
of the kept epoch.

Determinism: :func:`seed_everything` seeds Python, numpy and TensorFlow and
turns on TensorFlow op determinism. On the same machine, thread count and
library versions, two runs with the same seed then give bit-identical weights,
losses and metrics. Across machines, CPU instruction sets or thread counts the
float summation order may differ, so results agree only to float tolerance.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.scorers import KerasScorer
from ncf_recommender.progress import progress
from ncf_recommender.sampling import NegativeSampler

logger = logging.getLogger(__name__)

#: The validation metric that selects the epoch.
SELECTION_METRIC = "val_ndcg@10"
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "val_ndcg@10",
    "val_hr@10",
    "val_ndcg@10_smoothed",
    "seconds",
    "eval_seconds",
    "elapsed_seconds",
    "examples",
    "examples_per_second",
    "selected",
)


@dataclass(frozen=True)
class TrainingConfig:
    """How a model is trained.

    Attributes:
        epochs: Maximum number of training epochs.
        batch_size: Examples per gradient step.
        learning_rate: Optimiser step size (the peak, when decayed).
        decay_epochs: If set, the learning rate follows a cosine decay from
            ``learning_rate`` to ``decay_floor * learning_rate`` over this many
            epochs' worth of steps and stays there; ``None`` keeps it constant.
        decay_floor: Final fraction of the learning rate under decay.
        optimizer: ``adam`` (:class:`FusedAdam`, Keras' Adam on TensorFlow's
            fused kernel); ``lazy_adam`` (:class:`LazyAdam`, sparse row
            updates for large embedding tables); or ``sgd`` (plain SGD, as He
            et al. fine-tune NeuMF).
        negatives_per_positive: Negatives drawn per training positive each epoch.
        sampling_strategy: Negative sampling strategy of the sampler.
        sampling_exponent: Popularity exponent of popularity-based sampling.
        patience: Epochs without improvement of the smoothed validation
            NDCG@10 before stopping.
        smoothing: Odd window (epochs) of the centred moving average used to
            pick the epoch; 1 picks the raw best epoch.
        steps_per_execution: Training steps per compiled graph call.
        eval_batch_size: Users scored per validation batch (``None``: automatic).
        max_validation_users: Rank only this many validation users (a seeded
            sample) per epoch; ``None`` uses all of them.
        validation_max_pairs: For models that run a network on every (user,
            item) pair (MLP-NCF, NeuMF), rank at most this many pairs per
            validation: the sample is capped at ``validation_max_pairs //
            n_items`` users; ``None``: no cap.
        max_train_seconds: Wall-clock budget: no new epoch starts once training
            and validation have taken this long; ``None``: no budget. Stopping
            on it, like reaching ``epochs`` before ``patience`` says stop, is
            recorded as ``stopped_at_cap`` with a warning.
        seed: Seed of the initialisation, negatives, shuffling and dropout.
    """

    epochs: int = 30
    batch_size: int = 1024
    learning_rate: float = 1e-3
    decay_epochs: int | None = None
    decay_floor: float = 0.0
    optimizer: Literal["adam", "lazy_adam", "sgd"] = "adam"
    negatives_per_positive: int = 4
    sampling_strategy: str = "uniform"
    sampling_exponent: float = 0.75
    patience: int = 5
    smoothing: int = 1
    steps_per_execution: int = 50
    eval_batch_size: int | None = None
    max_validation_users: int | None = None
    validation_max_pairs: int | None = None
    max_train_seconds: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        """Reject impossible values, naming the field.

        Raises:
            ValueError: If a value is out of range.
        """
        for name in ("epochs", "batch_size", "negatives_per_positive", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"training.{name} must be >= 1, got {getattr(self, name)!r}"
                )
        if self.steps_per_execution < 1:
            raise ValueError(
                f"training.steps_per_execution must be >= 1, got {self.steps_per_execution!r}"
            )
        if self.smoothing < 1 or self.smoothing % 2 == 0:
            raise ValueError(
                f"training.smoothing must be odd and >= 1, got {self.smoothing!r}"
            )
        if not self.learning_rate > 0:
            raise ValueError(
                f"training.learning_rate must be positive, got {self.learning_rate!r}"
            )
        check_decay(self.decay_epochs, self.decay_floor)
        check_time_budget(self.max_train_seconds)
        if self.validation_max_pairs is not None and self.validation_max_pairs < 1:
            raise ValueError(
                "training.validation_max_pairs must be >= 1 or null, "
                f"got {self.validation_max_pairs!r}"
            )
        if self.optimizer not in ("adam", "lazy_adam", "sgd"):
            raise ValueError(
                "training.optimizer must be 'adam', 'lazy_adam' or 'sgd', "
                f"got {self.optimizer!r}"
            )


@dataclass
class TrainingResult:
    """Outcome of :func:`train_model`.

    Attributes:
        model: The model, restored to the weights of the selected epoch.
        history: One row per epoch (0 = before training), columns
            :data:`HISTORY_COLUMNS`.
        best_epoch: The selected epoch.
        train_seconds: Wall-clock seconds of the whole loop (training and
            per-epoch validation).
        seconds_to_best: Wall-clock seconds until the end of the selected epoch.
    """

    model: keras.Model
    history: pd.DataFrame
    best_epoch: int
    train_seconds: float
    seconds_to_best: float
    summary: dict[str, float | int] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow ops deterministic.

    Call it before building the model, so the initial weights depend on the
    seed only. Op determinism is process-wide and costs little on CPU.

    Args:
        seed: The seed.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam, each variable updated by TensorFlow's fused Adam kernel.

    Keras 3 writes the Adam update as about a dozen separate element-wise ops
    per variable, each a full pass over the variable and its two moment
    tables. On the small tables of MovieLens-100k a GMF step is bound by those
    passes rather than by the model: TensorFlow's ``ResourceApplyAdam`` kernel
    does the same update (same formula, same bias correction, ``epsilon``
    outside the square root) in one pass. ``benchmarks/bench_training.py``
    prints the ratio against ``keras.optimizers.Adam``. AMSGrad, and backends
    other than TensorFlow, fall back to Keras' own update.

    One difference: when a batch looks up an embedding row more than once,
    Keras' Adam squares each slice of the sparse gradient before adding them
    up (its second moment sees ``sum(g_k ** 2)``); here, as in Adam as
    published, the row's summed gradient is squared. Elsewhere the two agree
    to float rounding (``tests/models/test_training.py``).
    """

    def update_step(
        self,
        gradient: tf.Tensor | tf.IndexedSlices,
        variable: keras.Variable,
        learning_rate: float,
    ) -> None:
        """Apply one Adam step with the fused kernel.

        Args:
            gradient: The gradient (an embedding's sparse gradient is made
                dense, as Keras' Adam does).
            variable: The variable to update.
            learning_rate: Current learning rate.
        """
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            super().update_step(gradient, variable, learning_rate)
            return
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.convert_to_tensor(tf.cast(gradient, dtype)),
        )


class LazyAdam(keras.optimizers.Adam):
    """Adam that updates only the embedding rows a batch looks up.

    Keras' Adam turns an embedding's sparse gradient into a dense one, so every
    step reads and writes the whole user and item tables (and their two moment
    tables): at Amazon scale that, not the model, bounds the step rate. Here a
    sparse gradient updates the first and second moments and the weights of the
    looked-up rows only ("lazy" Adam: the moments of the other rows are not
    decayed that step). Dense gradients get the ordinary Adam update. On the
    first step both are identical.
    """

    def update_step(
        self,
        gradient: tf.Tensor | tf.IndexedSlices,
        variable: keras.Variable,
        learning_rate: float,
    ) -> None:
        """Apply one Adam step; sparse gradients touch only their rows.

        Args:
            gradient: The gradient (``tf.IndexedSlices`` for embedding tables).
            variable: The variable to update.
            learning_rate: Current learning rate.
        """
        if not isinstance(gradient, tf.IndexedSlices):
            super().update_step(gradient, variable, learning_rate)
            return
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        alpha = (
            tf.cast(learning_rate, dtype)
            * tf.sqrt(1.0 - tf.pow(beta_2, step))
            / (1.0 - tf.pow(beta_1, step))
        )
        rows, position = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(
            tf.cast(gradient.values, dtype), position, tf.shape(rows)[0]
        )
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = beta_1 * tf.gather(m.value, rows) + (1.0 - beta_1) * values
        v_rows = beta_2 * tf.gather(v.value, rows) + (1.0 - beta_2) * tf.square(values)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        step_rows = alpha * m_rows / (tf.sqrt(v_rows) + tf.cast(self.epsilon, dtype))
        self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))


def check_time_budget(max_train_seconds: float | None) -> None:
    """Reject a non-positive wall-clock budget, naming the key.

    Args:
        max_train_seconds: The budget, or ``None`` for none.

    Raises:
        ValueError: If it is not positive.
    """
    if max_train_seconds is not None and not max_train_seconds > 0:
        raise ValueError(
            f"training.max_train_seconds must be positive or null, got {max_train_seconds!r}"
        )


def stop_reason(
    *,
    epoch: int,
    epochs: int,
    patience_reached: bool,
    elapsed: float,
    budget: float | None,
) -> str | None:
    """Why training stops after ``epoch``, or ``None`` to go on.

    Shared by the NCF and the sequence trainers.

    Args:
        epoch: The epoch just finished (1-based).
        epochs: The epoch cap.
        patience_reached: Whether the patience rule says stop.
        elapsed: Wall seconds of training and validation so far.
        budget: ``max_train_seconds`` (``None``: none).

    Returns:
        ``"patience"`` (validation stopped improving), ``"epochs"`` (cap
        reached first), ``"time_budget"``, or ``None``.
    """
    if patience_reached:
        return "patience"
    if epoch >= epochs:
        return "epochs"
    if budget is not None and elapsed >= budget:
        return "time_budget"
    return None


def warn_if_capped(name: str, reason: str) -> bool:
    """Log a warning when training ended on a cap rather than on validation.

    Args:
        name: Model name.
        reason: The :func:`stop_reason`.

    Returns:
        ``stopped_at_cap``: whether validation was still improving (by the
        patience rule) when training ended.
    """
    if reason == "patience":
        return False
    cap = (
        "epoch cap (epochs)"
        if reason == "epochs"
        else "time budget (max_train_seconds)"
    )
    logger.warning(
        "%s stopped at its %s while validation was still improving (patience not "
        "reached): raise the cap; its ranking_metrics entry records stopped_at_cap",
        name,
        cap,
    )
    return True


def check_decay(decay_epochs: int | None, decay_floor: float) -> None:
    """Reject an impossible learning-rate decay, naming the key.

    Args:
        decay_epochs: Epochs the cosine decay spans, or ``None`` for none.
        decay_floor: Final fraction of the learning rate.

    Raises:
        ValueError: If ``decay_epochs`` is below 1 or ``decay_floor`` outside [0, 1].
    """
    if decay_epochs is not None and decay_epochs < 1:
        raise ValueError(
            f"training.decay_epochs must be >= 1 or null, got {decay_epochs!r}"
        )
    if not 0.0 <= decay_floor <= 1.0:
        raise ValueError(
            f"training.decay_floor must lie in [0, 1], got {decay_floor!r}"
        )


def learning_rate_schedule(
    learning_rate: float,
    decay_epochs: int | None,
    decay_floor: float,
    steps_per_epoch: int,
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """A constant rate, or Keras' cosine decay over ``decay_epochs`` epochs.

    Args:
        learning_rate: The rate (the peak of the decay).
        decay_epochs: Epochs the decay spans; ``None`` for a constant rate.
        decay_floor: Final fraction of ``learning_rate``.
        steps_per_epoch: Optimiser steps per epoch.

    Returns:
        What a Keras optimiser takes as ``learning_rate``.
    """
    if decay_epochs is None:
        return learning_rate
    return keras.optimizers.schedules.CosineDecay(
        learning_rate,
        decay_steps=decay_epochs * max(1, steps_per_epoch),
        alpha=decay_floor,
    )


def _optimizer(
    config: TrainingConfig, steps_per_epoch: int
) -> keras.optimizers.Optimizer:
    """The configured optimiser, with the configured learning-rate schedule."""
    rate = learning_rate_schedule(
        config.learning_rate, config.decay_epochs, config.decay_floor, steps_per_epoch
    )
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate)
    if config.optimizer == "lazy_adam":
        return LazyAdam(learning_rate=rate)
    return FusedAdam(learning_rate=rate)


def _static_pipeline_options() -> tf.data.Options:
    """tf.data options with the autotuning model switched off.

    With autotuning on, the end of every ``fit`` waits for the autotuner's
    background thread, whose sleep doubles up to 5.12 s: on ml-100k a third of
    the GMF epochs took exactly 5.12 s instead of about 3 s
    (``benchmarks/bench_training.py --autotune`` shows the difference). The
    pipelines here are in-memory slices of whole batches with nothing to tune.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


#: Options of every in-memory training dataset (see ``_static_pipeline_options``).
STATIC_PIPELINE = _static_pipeline_options()


def epoch_dataset(
    sampler: NegativeSampler, epoch: int, config: TrainingConfig
) -> tuple[tf.data.Dataset, int]:
    """This epoch's examples (fresh negatives), shuffled with the seed, batched.

    The arrays are cut into batches with numpy and the dataset yields whole
    batches: slicing element by element and re-batching in ``tf.data`` cost
    more than the GMF training step itself.

    Args:
        sampler: The training sampler (its ``examples(epoch, seed)``).
        epoch: Epoch number (1-based in :func:`train_model`).
        config: Training settings (``seed``, ``batch_size``).

    Returns:
        The dataset of ``({"user_idx", "item_idx"}, label)`` batches and the
        number of examples in it.
    """
    users, items, labels = sampler.examples(epoch, config.seed)
    # A stream of its own: the sampler draws from default_rng([seed, epoch]).
    order = np.random.default_rng([config.seed, epoch, 1]).permutation(labels.size)
    structure = (
        {
            USER_IDX: users[order].astype(np.int32, copy=False),
            ITEM_IDX: items[order].astype(np.int32, copy=False),
        },
        labels[order].astype(np.float32, copy=False),
    )
    return batched_dataset(structure, config.batch_size), int(labels.size)


def batched_dataset(structure: Any, batch_size: int) -> tf.data.Dataset:
    """A dataset of whole batches cut from in-memory arrays with numpy.

    Slicing element by element and re-batching in ``tf.data`` cost more than
    a GMF training step, so every array is reshaped to ``(batches, batch_size,
    ...)`` and the dataset yields one batch per element; a last, shorter batch
    holds the remainder. Autotuning is off (:data:`STATIC_PIPELINE`).

    Args:
        structure: A nest (tuples, lists, dicts) of arrays sharing their first
            dimension, as ``model.fit`` takes ``(x, y)`` or ``(x, y, weights)``.
        batch_size: Rows per batch.

    Returns:
        The dataset, in row order.
    """
    flat = tf.nest.flatten(structure)
    rows = int(flat[0].shape[0])
    full = rows - rows % batch_size

    def batches(part: slice, size: int) -> tf.data.Dataset:
        pieces = [array[part].reshape(-1, size, *array.shape[1:]) for array in flat]
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.pack_sequence_as(structure, pieces)
        )

    parts = [(slice(0, full), batch_size)] if full else []
    if full < rows:
        parts.append((slice(full, rows), rows - full))
    dataset = batches(*parts[0])
    for part in parts[1:]:
        dataset = dataset.concatenate(batches(*part))
    return dataset.prefetch(2).with_options(STATIC_PIPELINE)


class ExamplesProgress(keras.callbacks.Callback):
    """Feeds ``model.fit``'s progress (examples done) to a :func:`progress` step."""

    def __init__(
        self, advance: Callable[[float], None], batch_size: int, total: int
    ) -> None:
        """Track one epoch.

        Args:
            advance: The step's ``advance`` callable.
            batch_size: Examples (or windows) per training step.
            total: Examples in the epoch.
        """
        super().__init__()
        self.advance = advance
        self.batch_size = batch_size
        self.total = total
        self.done = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Report the examples of the steps run so far (``batch`` is 0-based)."""
        done = min((batch + 1) * self.batch_size, self.total)
        self.advance(done - self.done)
        self.done = done


class _Selector:
    """Tracks the epoch with the best centred moving average of a metric."""

    def __init__(self, smoothing: int) -> None:
        self.half = smoothing // 2
        self.values: list[float] = []
        self.smoothed: list[float] = []
        self.snapshots: deque[list[np.ndarray]] = deque(maxlen=self.half + 1)
        self.best_value = -math.inf
        self.best_epoch = -1
        self.best_weights: list[np.ndarray] | None = None

    def _window_mean(self, epoch: int) -> float:
        low = max(0, epoch - self.half)
        high = min(len(self.values), epoch + self.half + 1)
        return float(np.mean(self.values[low:high]))

    def _finalise(self, epoch: int, weights: list[np.ndarray]) -> None:
        value = self._window_mean(epoch)
        self.smoothed.append(value)
        if value > self.best_value:
            self.best_value, self.best_epoch, self.best_weights = value, epoch, weights

    def add(self, value: float, weights: list[np.ndarray]) -> None:
        """Record the metric and weights of the next epoch."""
        self.values.append(value)
        self.snapshots.append(weights)
        ready = len(self.values) - 1 - self.half
        if ready >= 0:
            self._finalise(ready, self.snapshots[0])

    def close(self) -> None:
        """Finalise the last epochs, whose windows are cut off at the end."""
        pending = len(self.values) - len(self.smoothed)
        if pending > 0:
            for weights in list(self.snapshots)[-pending:]:
                self._finalise(len(self.smoothed), weights)

    def epochs_since_best(self) -> int:
        """Finalised epochs after the best one."""
        return len(self.smoothed) - 1 - self.best_epoch


def _validation_subset(
    users: np.ndarray,
    items: np.ndarray,
    config: TrainingConfig,
    pairwise_items: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All validation rows, or a seeded sample of ``max_validation_users``.

    ``pairwise_items``: the catalogue size of a model that runs a network on
    every (user, item) pair; its sample is further capped at
    ``validation_max_pairs // pairwise_items`` users.
    """
    limit = config.max_validation_users
    if pairwise_items and config.validation_max_pairs is not None:
        cap = max(1, config.validation_max_pairs // pairwise_items)
        limit = cap if limit is None else min(limit, cap)
    if limit is None or limit >= users.size:
        return users, items
    keep = np.sort(
        np.random.default_rng(config.seed).choice(users.size, limit, replace=False)
    )
    return users[keep], items[keep]


def train_model(  # noqa: PLR0917 (positional order used by notebooks and nodes)
    model: keras.Model,
    train_users: np.ndarray,
    train_items: np.ndarray,
    val_users: np.ndarray,
    val_items: np.ndarray,
    n_users: int,
    n_items: int,
    config: TrainingConfig,
) -> TrainingResult:
    """Train an NCF model with per-epoch negatives and early stopping.

    Args:
        model: An uncompiled (or compiled) model from the builders in
            :mod:`ncf_recommender.models`; it is compiled here.
        train_users: ``user_idx`` of the training interactions.
        train_items: ``item_idx`` of the training interactions.
        val_users: ``user_idx`` of the validation rows (one held-out item each).
        val_items: ``item_idx`` of the validation rows.
        n_users: Number of users.
        n_items: Number of items.
        config: Training settings.

    Returns:
        A :class:`TrainingResult`; the model holds the selected epoch's weights.

    Raises:
        ValueError: If there are no training interactions or no validation rows.
    """
    train_users = np.asarray(train_users)
    train_items = np.asarray(train_items)
    pairwise = KerasScorer(model, n_items).pairwise
    val_users, val_items = _validation_subset(
        np.asarray(val_users),
        np.asarray(val_items),
        config,
        pairwise_items=n_items if pairwise else None,
    )
    if train_users.size == 0:
        raise ValueError("train_interactions is empty: nothing to train on")
    if val_users.size == 0:
        raise ValueError(
            "val_interactions is empty: early stopping needs validation rows"
        )
    exclude = interaction_matrix(train_users, train_items, n_users, n_items)
    sampler = NegativeSampler(
        train_users,
        train_items,
        n_items,
        negatives_per_positive=config.negatives_per_positive,
        strategy=config.sampling_strategy,
        exponent=config.sampling_exponent,
    )
    examples_per_epoch = train_users.size * (1 + config.negatives_per_positive)
    model.compile(
        optimizer=_optimizer(config, math.ceil(examples_per_epoch / config.batch_size)),
        loss=keras.losses.BinaryCrossentropy(),
        steps_per_execution=config.steps_per_execution,
    )

    def validate() -> tuple[dict[str, float | int], float]:
        start = time.perf_counter()
        scorer = KerasScorer(model, n_items)
        metrics = full_ranking_metrics(
            scorer,
            val_users,
            val_items,
            exclude,
            ks=(10,),
            batch_size=config.eval_batch_size,
            description=f"{model.name} validation",
        )
        return metrics, time.perf_counter() - start

    selector = _Selector(config.smoothing)
    rows: list[dict[str, float | int]] = []
    start = time.perf_counter()
    metrics, eval_seconds = validate()
    reason: str | None = None
    rows.append(
        _row(
            epoch=0,
            loss=math.nan,
            metrics=metrics,
            seconds=0.0,
            eval_seconds=eval_seconds,
            start=start,
            examples=0,
        )
    )
    selector.add(metrics["ndcg@10"], model.get_weights())
    for epoch in range(1, config.epochs + 1):
        dataset, n_examples = epoch_dataset(sampler, epoch, config)
        fit_start = time.perf_counter()
        with progress(
            f"{model.name} epoch {epoch}/{config.epochs}", n_examples, unit="examples"
        ) as advance:
            fitted = model.fit(
                dataset,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[ExamplesProgress(advance, config.batch_size, n_examples)],
            )
        fit_seconds = time.perf_counter() - fit_start
        metrics, eval_seconds = validate()
        row = _row(
            epoch=epoch,
            loss=fitted.history["loss"][-1],
            metrics=metrics,
            seconds=fit_seconds,
            eval_seconds=eval_seconds,
            start=start,
            examples=n_examples,
        )
        rows.append(row)
        selector.add(metrics["ndcg@10"], model.get_weights())
        logger.info(
            "%s epoch %d/%d: loss %.4f, val NDCG@10 %.4f, HR@10 %.4f, %.0f examples/s, "
            "%.1f s train + %.1f s validation",
            model.name,
            epoch,
            config.epochs,
            row["loss"],
            row["val_ndcg@10"],
            row["val_hr@10"],
            row["examples_per_second"],
            fit_seconds,
            eval_seconds,
        )
        reason = stop_reason(
            epoch=epoch,
            epochs=config.epochs,
            patience_reached=selector.epochs_since_best() >= config.patience,
            elapsed=time.perf_counter() - start,
            budget=config.max_train_seconds,
        )
        if reason == "patience":
            logger.info(
                "%s: smoothed val NDCG@10 has not improved for %d epochs; stopping",
                model.name,
                config.patience,
            )
        if reason is not None:
            break
    stopped_at_cap = warn_if_capped(model.name, reason or "epochs")
    selector.close()
    total = time.perf_counter() - start
    model.set_weights(selector.best_weights)
    history = pd.DataFrame(rows)
    history["val_ndcg@10_smoothed"] = selector.smoothed
    history["selected"] = history["epoch"] == selector.best_epoch
    history = history.loc[:, list(HISTORY_COLUMNS)]
    best = history.loc[history["selected"]].iloc[0]
    logger.info(
        "%s: kept epoch %d (val NDCG@10 %.4f, smoothed %.4f), %.1f s to it, %.1f s in all",
        model.name,
        selector.best_epoch,
        best["val_ndcg@10"],
        best["val_ndcg@10_smoothed"],
        best["elapsed_seconds"],
        total,
    )
    summary = {
        "best_epoch": int(selector.best_epoch),
        "epochs_run": int(history["epoch"].max()),
        "val_ndcg@10": float(best["val_ndcg@10"]),
        "val_hr@10": float(best["val_hr@10"]),
        "val_ndcg@10_smoothed": float(best["val_ndcg@10_smoothed"]),
        "train_seconds": float(total),
        "seconds_to_best": float(best["elapsed_seconds"]),
        "stopped_at_cap": stopped_at_cap,
        "stop_reason": reason or "epochs",
    }
    return TrainingResult(
        model=model,
        history=history,
        best_epoch=int(selector.best_epoch),
        train_seconds=float(total),
        seconds_to_best=float(best["elapsed_seconds"]),
        summary=summary,
    )


def _row(
    *,
    epoch: int,
    loss: float,
    metrics: dict[str, float | int],
    seconds: float,
    eval_seconds: float,
    start: float,
    examples: int,
) -> dict[str, float | int]:
    """One history row (the smoothed value and selection are filled in later)."""
    return {
        "epoch": epoch,
        "loss": float(loss),
        "val_ndcg@10": float(metrics["ndcg@10"]),
        "val_hr@10": float(metrics["hr@10"]),
        "seconds": float(seconds),
        "eval_seconds": float(eval_seconds),
        "elapsed_seconds": float(time.perf_counter() - start),
        "examples": int(examples),
        "examples_per_second": float(examples / seconds) if seconds > 0 else 0.0,
    }
