"""Optimisers of the training loop.

:class:`FusedAdam` and :class:`LazyAdam` are the NCF family's Adam variants;
:func:`build_optimizer` turns a parameter group's ``optimizer`` name (or the
sequence models' Keras Adam/AdamW) into a Keras optimiser with its
learning-rate schedule.
"""

from __future__ import annotations

from typing import Literal

import keras
import tensorflow as tf

#: Optimiser names: the NCF choices (``training.optimizer``) and ``keras_adam``
#: (Keras' own Adam, or AdamW when ``weight_decay`` > 0: the sequence models).
OptimizerName = Literal["adam", "lazy_adam", "sgd", "keras_adam"]


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


def build_optimizer(
    name: OptimizerName,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
    *,
    clipnorm: float | None = None,
    weight_decay: float = 0.0,
) -> keras.optimizers.Optimizer:
    """The named optimiser at ``learning_rate`` (a float or a schedule).

    Args:
        name: ``adam`` (:class:`FusedAdam`), ``lazy_adam`` (:class:`LazyAdam`),
            ``sgd``, or ``keras_adam`` (Keras' Adam; AdamW when
            ``weight_decay`` is positive).
        learning_rate: The rate or schedule.
        clipnorm: Gradient-norm clipping (``keras_adam`` only); ``None``: none.
        weight_decay: Decoupled weight decay (``keras_adam`` only).

    Returns:
        The optimiser.

    Raises:
        ValueError: If the name is unknown.
    """
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    if name == "lazy_adam":
        return LazyAdam(learning_rate=learning_rate)
    if name == "adam":
        return FusedAdam(learning_rate=learning_rate)
    if name == "keras_adam":
        if weight_decay > 0:
            return keras.optimizers.AdamW(
                learning_rate, weight_decay=weight_decay, clipnorm=clipnorm
            )
        return keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    raise ValueError(
        f"optimizer must be 'adam', 'lazy_adam', 'sgd' or 'keras_adam', got {name!r}"
    )
