"""The one early-stopping training loop of every model family.

:func:`fit` runs ``adapter.train_epoch`` and ``adapter.validate`` (the
family's hooks, :class:`FamilyAdapter`) epoch by epoch, keeps the epoch with
the best centred moving average of the validation ``monitor`` over
``smoothing`` epochs (:class:`EpochSelector`), stops when it has not improved
for ``patience`` epochs, on the epoch cap or on the time budget
(:func:`stop_reason`), and restores the kept epoch's weights. Every family
writes the same history columns (:data:`HISTORY_COLUMNS` plus one
``val_<metric>`` column per validation metric) and gets one
:class:`TrainingResult`.

Determinism: :func:`seed_everything` seeds Python, numpy and TensorFlow and
turns on TensorFlow op determinism. On the same machine, thread count and
library versions, two runs with the same seed then give bit-identical weights,
losses and metrics; across machines the float summation order may differ.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ncf_recommender.evaluation import sample_rows
from ncf_recommender.progress import progress
from ncf_recommender.training.params import LoopParams

logger = logging.getLogger(__name__)

#: History columns every family writes, in order; the validation metrics
#: (``val_<metric>``) and ``val_<monitor>_smoothed`` follow ``loss``.
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "train_seconds",
    "train_cpu_seconds",
    "eval_seconds",
    "elapsed_seconds",
    "examples",
    "examples_per_second",
    "selected",
)


def history_columns(metrics: list[str], monitor: str) -> list[str]:
    """The columns of a training history, in order.

    Args:
        metrics: The validation metrics' names (``full_ranking_metrics`` keys).
        monitor: The metric that selects the epoch.

    Returns:
        ``epoch``, ``loss``, ``val_<metric>`` per metric,
        ``val_<monitor>_smoothed``, then the rest of :data:`HISTORY_COLUMNS`.
    """
    return [
        *HISTORY_COLUMNS[:2],
        *(f"val_{metric}" for metric in metrics),
        f"val_{monitor}_smoothed",
        *HISTORY_COLUMNS[2:],
    ]


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow ops deterministic.

    Call it before building the model, so the initial weights depend on the
    seed only. Op determinism is process-wide and costs little on CPU.

    Args:
        seed: The seed.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def validation_sample(
    n_rows: int, params: LoopParams, *, cap: int | None = None
) -> np.ndarray | None:
    """The validation rows early stopping ranks: all, or a seeded sample.

    Args:
        n_rows: Validation rows (one per validated user).
        params: ``max_validation_users`` and ``seed``.
        cap: A further cap on the sample (e.g. a pairwise model's pair budget).

    Returns:
        The kept positions (ascending), or ``None`` for every row.
    """
    limit = params.max_validation_users
    if cap is not None:
        limit = cap if limit is None else min(limit, cap)
    return sample_rows(n_rows, limit, params.seed)


@dataclass(frozen=True)
class EpochStats:
    """What one training epoch reports.

    Attributes:
        loss: The epoch's training loss (the family's own objective).
        examples: Examples (or windows) trained on.
    """

    loss: float
    examples: int


class FamilyAdapter(Protocol):
    """A model family's per-epoch hooks (one adapter object per training run).

    Attributes:
        unit: What an epoch counts in progress reports (``examples``, ``windows``).
        validate_initial: Whether the model is validated (and may be kept)
            before the first epoch: epoch 0 (e.g. a pretrained NeuMF).
    """

    unit: str
    validate_initial: bool

    def prepare(self, model: keras.Model) -> int:
        """Compile ``model`` and index the data; return the examples per epoch."""
        ...

    def train_epoch(
        self, model: keras.Model, epoch: int, advance: Callable[[float], None]
    ) -> EpochStats:
        """Train one epoch (1-based), reporting progress through ``advance``."""
        ...

    def validate(self, model: keras.Model) -> dict[str, Any]:
        """Full-ranking validation metrics of ``model`` as it is now."""
        ...


@dataclass
class TrainingResult:
    """Outcome of :func:`fit`.

    Attributes:
        model: The model, restored to the weights of the selected epoch.
        history: One row per epoch (:data:`HISTORY_COLUMNS`, ``val_*``).
        best_epoch: The selected epoch.
        train_seconds: Wall-clock seconds of the whole loop (training and
            per-epoch validation).
        seconds_to_best: Wall-clock seconds until the end of the selected
            epoch's validation.
        summary: ``best_epoch``, ``epochs_run``, the selected epoch's
            ``val_*`` figures, ``train_seconds``, ``seconds_to_best``,
            ``stopped_at_cap`` and ``stop_reason``.
    """

    model: keras.Model
    history: pd.DataFrame
    best_epoch: int
    train_seconds: float
    seconds_to_best: float
    summary: dict[str, Any] = field(default_factory=dict)


class EpochSelector:
    """Tracks the epoch with the best centred moving average of a metric.

    Epochs are counted from 0 in the order they are added. With ``smoothing``
    1 the raw best (first of ties) is kept.
    """

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


def stop_reason(
    *,
    epoch: int,
    epochs: int,
    patience_reached: bool,
    elapsed: float,
    budget: float | None,
) -> str | None:
    """Why training stops after ``epoch``, or ``None`` to go on.

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


class _Run:
    """The bookkeeping of one :func:`fit` call: rows, selection, clock."""

    def __init__(self, model: keras.Model, params: LoopParams) -> None:
        self.model = model
        self.params = params
        self.selector = EpochSelector(params.smoothing)
        self.rows: list[dict[str, Any]] = []
        self.start = time.perf_counter()

    def record(
        self,
        *,
        epoch: int,
        stats: EpochStats,
        metrics: dict[str, Any],
        seconds: tuple[float, float, float],
    ) -> float:
        """Add one epoch's row and weights; return its monitored value.

        Raises:
            ValueError: If ``monitor`` is not among the validation metrics.
        """
        monitor = self.params.monitor
        if monitor not in metrics:
            raise ValueError(
                f"{self.params.group}.monitor {monitor!r} is not one of {sorted(metrics)}"
            )
        wall, cpu, eval_seconds = seconds
        self.rows.append(
            {
                "epoch": epoch,
                "loss": float(stats.loss),
                **{f"val_{k}": float(v) for k, v in metrics.items() if k != "users"},
                "train_seconds": wall,
                "train_cpu_seconds": cpu,
                "eval_seconds": eval_seconds,
                "elapsed_seconds": time.perf_counter() - self.start,
                "examples": int(stats.examples),
                "examples_per_second": stats.examples / wall if wall > 0 else 0.0,
            }
        )
        value = float(metrics[monitor])
        self.selector.add(value, self.model.get_weights())
        return value

    def result(self, reason: str) -> TrainingResult:
        """Restore the kept weights; the history and summary."""
        stopped_at_cap = warn_if_capped(self.model.name, reason)
        self.selector.close()
        total = time.perf_counter() - self.start
        self.model.set_weights(self.selector.best_weights)
        history = pd.DataFrame(self.rows)
        monitor = f"val_{self.params.monitor}"
        history[f"{monitor}_smoothed"] = self.selector.smoothed
        history["selected"] = np.arange(len(history)) == self.selector.best_epoch
        metrics = [
            c.removeprefix("val_")
            for c in history.columns
            if c.startswith("val_") and not c.endswith("_smoothed")
        ]
        history = history.loc[:, history_columns(metrics, self.params.monitor)]
        best = history.loc[history["selected"]].iloc[0]
        logger.info(
            "%s: kept epoch %d (%s %.4f, smoothed %.4f), %.1f s to it, %.1f s in all",
            self.model.name,
            best["epoch"],
            monitor,
            best[monitor],
            best[f"{monitor}_smoothed"],
            best["elapsed_seconds"],
            total,
        )
        summary = {
            "best_epoch": int(best["epoch"]),
            "epochs_run": int(history["epoch"].max()),
            **{
                column: float(best[column])
                for column in (
                    "val_ndcg@10",
                    "val_hr@10",
                    monitor,
                    f"{monitor}_smoothed",
                )
                if column in history.columns
            },
            "train_seconds": float(total),
            "seconds_to_best": float(best["elapsed_seconds"]),
            "stopped_at_cap": stopped_at_cap,
            "stop_reason": reason,
        }
        return TrainingResult(
            model=self.model,
            history=history,
            best_epoch=int(best["epoch"]),
            train_seconds=float(total),
            seconds_to_best=float(best["elapsed_seconds"]),
            summary=summary,
        )


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """``call()``, its wall seconds and its process CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def fit(
    adapter: FamilyAdapter, model: keras.Model, params: LoopParams
) -> TrainingResult:
    """Train ``model`` epoch by epoch with early stopping on validation.

    Args:
        adapter: The family's hooks, holding the training and validation data.
        model: The built model (seeded by the caller, see
            :func:`seed_everything`); trained in place.
        params: The validated parameter group (with the namespace's overrides).

    Returns:
        A :class:`TrainingResult`; the model holds the selected epoch's weights.

    Raises:
        ValueError: If ``monitor`` is not a validation metric (or the adapter
            finds nothing to train on).
    """
    examples = adapter.prepare(model)
    run = _Run(model, params)
    if adapter.validate_initial:
        metrics, wall, _ = _timed(lambda: adapter.validate(model))
        run.record(
            epoch=0,
            stats=EpochStats(math.nan, 0),
            metrics=metrics,
            seconds=(0.0, 0.0, wall),
        )
    reason = "epochs"
    for epoch in range(1, params.epochs + 1):
        with progress(
            f"{model.name} epoch {epoch}/{params.epochs}", examples, unit=adapter.unit
        ) as advance:
            stats, wall, cpu = _timed(
                lambda advance=advance, epoch=epoch: adapter.train_epoch(
                    model, epoch, advance
                )
            )
        metrics, eval_seconds, _ = _timed(lambda: adapter.validate(model))
        value = run.record(
            epoch=epoch, stats=stats, metrics=metrics, seconds=(wall, cpu, eval_seconds)
        )
        logger.info(
            "%s epoch %d/%d: loss %.4f, val %s %.4f (train %.1f s wall / %.1f s CPU, "
            "validation %.1f s)",
            model.name,
            epoch,
            params.epochs,
            stats.loss,
            params.monitor,
            value,
            wall,
            cpu,
            eval_seconds,
        )
        stop = stop_reason(
            epoch=epoch,
            epochs=params.epochs,
            patience_reached=run.selector.epochs_since_best() >= params.patience,
            elapsed=time.perf_counter() - run.start,
            budget=params.max_train_seconds,
        )
        if stop is not None:
            reason = stop
            break
    return run.result(reason)
