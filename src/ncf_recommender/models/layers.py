"""Shared Keras layers of the next-item models, and the layer names the trainer reads.

Keras has no tied item embedding (one table both embeds ids and scores every
item) nor a learned position embedding, so they are written here, once, for
SASRec and GRU4Rec alike. They are registered for serialisation, so saved
``.keras`` files reload with ``safe_mode=True``.

Every next-item model names two of its layers with the constants below: the
tied table :data:`ITEM_EMBEDDING` and the per-position hidden states
:data:`SEQUENCE_OUTPUT`, which the sequence trainer scores against the same
table to learn from every position at once.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

#: Name of the tied item embedding layer of every next-item model (defined in
#: ``models.sequences``, which does not import Keras).
from ncf_recommender.models.sequences import ITEM_EMBEDDING  # noqa: F401

#: Name of the layer holding the ``(B, max_len, dim)`` hidden states.
SEQUENCE_OUTPUT = "sequence_output"
#: Name of the layer taking the most recent position's state.
LAST_POSITION = "last_position"

#: Package name under which the custom layers are registered.
SERIALIZATION_PACKAGE = "ncf_recommender"


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class TiedItemEmbedding(keras.layers.Layer):
    """Item embedding table used both to embed ids and to score items.

    Row 0 is the padding id; row ``i + 1`` is item ``i``. Called with
    ``reverse=False`` (default) it looks ids up and emits a padding mask;
    called with ``reverse=True`` on hidden states ``(..., dim)`` it returns
    ``(..., n_items)`` dot-product scores against every item (padding excluded).

    Args:
        n_items: Catalogue size.
        dim: Embedding size.
        embeddings_initializer: Initialiser of the table.
        embeddings_regularizer: Optional regulariser of the table.
        **kwargs: Base ``Layer`` arguments.
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        embeddings_initializer: Any = "glorot_uniform",
        embeddings_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_items = int(n_items)
        self.dim = int(dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.supports_masking = True
        self.embeddings = self.add_weight(
            shape=(self.n_items + 1, self.dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            name="embeddings",
        )

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        """Look ids up, or score hidden states against every item.

        Args:
            inputs: Int ids (any shape), or float hidden states ``(..., dim)``
                when ``reverse`` is true.
            reverse: Score instead of embed.

        Returns:
            ``inputs.shape + (dim,)`` embeddings or ``(..., n_items)`` scores.
        """
        if reverse:
            table = self.embeddings[1:]
            return ops.matmul(inputs, ops.transpose(ops.cast(table, inputs.dtype)))
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Padding mask of integer ids; none for scores (float hidden-state input).

        Keras does not pass ``reverse`` here, so the mode is read from the dtype.
        """
        if "int" not in keras.backend.standardize_dtype(inputs.dtype):
            return None
        return ops.not_equal(inputs, 0)

    def get_config(self) -> dict[str, Any]:
        """Serialisable constructor arguments."""
        config = super().get_config()
        config.update(
            n_items=self.n_items,
            dim=self.dim,
            embeddings_initializer=keras.initializers.serialize(
                self.embeddings_initializer
            ),
            embeddings_regularizer=keras.regularizers.serialize(
                self.embeddings_regularizer
            ),
        )
        return config


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each position to a ``(B, length, dim)`` sequence.

    Position ``length - 1`` is the most recent item (inputs are left-padded),
    so a position embedding encodes recency. The incoming mask passes through.

    Args:
        length: Sequence length.
        initializer: Initialiser of the position table.
        **kwargs: Base ``Layer`` arguments.
    """

    def __init__(
        self, length: int, initializer: Any = "glorot_uniform", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.length = int(length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        """Create the ``(length, dim)`` table."""
        if input_shape[-2] is not None and input_shape[-2] != self.length:
            raise ValueError(
                f"PositionEmbedding(length={self.length}) got sequences of length {input_shape[-2]}"
            )
        self.positions = self.add_weight(
            shape=(self.length, int(input_shape[-1])),
            initializer=self.initializer,
            name="positions",
        )

    def call(self, inputs: Any) -> Any:
        """Return ``inputs`` plus the position table (broadcast over the batch)."""
        return inputs + ops.cast(self.positions, inputs.dtype)[None, :, :]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Same as the input shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Serialisable constructor arguments."""
        config = super().get_config()
        config.update(
            length=self.length,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class LastPosition(keras.layers.Layer):
    """The state at the final (most recent) position: ``(B, T, dim)`` to ``(B, dim)``.

    Inputs are left-padded, so the last position always holds the newest item.
    The padding mask is consumed here (the output has none).

    Args:
        **kwargs: Base ``Layer`` arguments.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        """Return ``inputs[:, -1, :]``."""
        return inputs[:, -1, :]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """No mask on the output."""
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """``(B, dim)``."""
        return (input_shape[0], input_shape[-1])
