"""Learning-rate schedules of the training loop."""

from __future__ import annotations

import keras


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
