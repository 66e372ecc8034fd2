"""In-memory ``tf.data`` pipelines of whole batches and ``fit`` progress.

Shared by the NCF and the sequence adapters of the training loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf


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
