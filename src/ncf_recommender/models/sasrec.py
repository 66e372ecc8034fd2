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
(:mod:`ncf_recommender.training.sequence`) scores against the same table to
learn from every position at once. The custom layers live in
:mod:`ncf_recommender.models.layers`.
"""

from __future__ import annotations

import keras

from ncf_recommender.models.layers import (
    ITEM_EMBEDDING,
    LAST_POSITION,
    SEQUENCE_OUTPUT,
    LastPosition,
    PositionEmbedding,
    TiedItemEmbedding,
)


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
    items: keras.layers.Layer | None = None,
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
        items: The tied item table to use instead of a
            :class:`~ncf_recommender.models.layers.TiedItemEmbedding` (e.g. a
            :class:`~ncf_recommender.models.content.ContentItemEmbedding`); it
            must be named ``item_embedding``.

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
    if items is None:
        items = TiedItemEmbedding(
            n_items,
            dim,
            embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
            name=ITEM_EMBEDDING,
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
    x = keras.layers.LayerNormalization(epsilon=1e-6, name=SEQUENCE_OUTPUT)(x)
    scores = items(LastPosition(name=LAST_POSITION)(x), reverse=True)
    return keras.Model(history, scores, name=name)
