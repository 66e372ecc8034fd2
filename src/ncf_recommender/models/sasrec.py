"""SASRec-style next-item model: causal self-attention over a user's recent items.

After Kang & McAuley, "Self-Attentive Sequential Recommendation" (ICDM 2018):
item embeddings plus learned position embeddings over the last ``max_len``
items (left-padded), a stack of causal self-attention blocks (pre-norm
multi-head attention and a point-wise feed-forward network, each with a
residual connection and dropout), and a score for every item given by the dot
product of the last hidden state with the same item embedding table.

The model built here maps ``(B, max_len)`` ids (``item_idx + 1``, 0 = padding)
to ``(B, n_items)`` scores of the next item. Its layer ``sequence_output``
gives the hidden state at every position, which the trainer
(:mod:`ncf_recommender.sequence_training`) scores against the same table to
learn from every position at once.

The two custom layers (Keras has no tied embedding or position embedding) are
registered for serialisation, so saved ``.keras`` files reload with
``safe_mode=True``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

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


def _check_sizes(**sizes: float) -> None:
    """Raise a ``ValueError`` naming the first non-positive size."""
    for key, value in sizes.items():
        if value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value}")


def build_sasrec(
    n_items: int,
    max_len: int = 50,
    dim: int = 64,
    heads: int = 2,
    blocks: int = 2,
    *,
    dropout: float = 0.2,
    ffn_dim: int | None = None,
    l2: float = 0.0,
    seed: int | None = None,
    name: str = "sasrec",
) -> keras.Model:
    """Build a SASRec-style next-item model.

    Args:
        n_items: Catalogue size; item ``i`` is input id ``i + 1``.
        max_len: Number of most recent items read (inputs left-padded with 0).
        dim: Embedding and hidden size.
        heads: Attention heads (``dim`` need not be divisible: each head has
            ``dim // heads`` key size, at least 1).
        blocks: Number of self-attention blocks.
        dropout: Dropout rate on embeddings, attention weights and sub-layer outputs.
        ffn_dim: Hidden size of the point-wise feed-forward network (``dim`` if ``None``).
        l2: L2 penalty on the item embedding table.
        seed: If given, seeds Keras (weights and dropout) before building.
        name: Model name.

    Returns:
        A ``keras.Model`` mapping ``(B, max_len)`` int ids to ``(B, n_items)``
        scores; layer ``sequence_output`` holds ``(B, max_len, dim)`` states.

    Raises:
        ValueError: If a size is not positive or ``dropout`` is outside ``[0, 1)``.
    """
    _check_sizes(n_items=n_items, max_len=max_len, dim=dim, heads=heads, blocks=blocks)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    ffn_dim = dim if ffn_dim is None else ffn_dim
    history = keras.Input(shape=(max_len,), dtype="int32", name="history")
    items = TiedItemEmbedding(
        n_items,
        dim,
        embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name="item_embedding",
    )
    x = items(history)
    x = keras.layers.Rescaling(dim**0.5, name="embedding_scale")(x)
    x = PositionEmbedding(max_len, name="position_embedding")(x)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for b in range(blocks):
        normed = keras.layers.LayerNormalization(
            epsilon=1e-6, name=f"block{b}_attention_norm"
        )(x)
        attended = keras.layers.MultiHeadAttention(
            num_heads=heads,
            key_dim=max(1, dim // heads),
            dropout=dropout,
            name=f"block{b}_attention",
        )(normed, normed, use_causal_mask=True)
        attended = keras.layers.Dropout(dropout, name=f"block{b}_attention_dropout")(
            attended
        )
        x = keras.layers.Add(name=f"block{b}_attention_residual")([x, attended])
        normed = keras.layers.LayerNormalization(
            epsilon=1e-6, name=f"block{b}_ffn_norm"
        )(x)
        hidden = keras.layers.Dense(
            ffn_dim, activation="gelu", name=f"block{b}_ffn_in"
        )(normed)
        hidden = keras.layers.Dropout(dropout, name=f"block{b}_ffn_dropout")(hidden)
        hidden = keras.layers.Dense(dim, name=f"block{b}_ffn_out")(hidden)
        hidden = keras.layers.Dropout(dropout, name=f"block{b}_ffn_out_dropout")(hidden)
        x = keras.layers.Add(name=f"block{b}_ffn_residual")([x, hidden])
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="sequence_output")(x)
    scores = items(LastPosition(name="last_position")(x), reverse=True)
    return keras.Model(history, scores, name=name)
