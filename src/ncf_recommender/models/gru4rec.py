"""GRU4Rec-style next-item model: a recurrent network over a user's recent items.

After Hidasi et al., "Session-based Recommendations with Recurrent Neural
Networks" (ICLR 2016), trained here the way later work found strongest for
whole-catalogue next-item prediction: every position of a sequence predicts
the item that follows it, scored against the same (tied) item embedding table
used at the input (Hidasi & Czapp, "The effect of third party implementations
on reproducibility", RecSys 2023, discuss these choices).

Item embeddings (id ``item_idx + 1``, 0 = padding and masked) go through
dropout and a GRU; the GRU's state is projected back to the embedding size
when the two differ, and the state after the most recent item scores every
item by a dot product. Layer ``sequence_output`` holds the state at every
position for training.
"""

from __future__ import annotations

import keras

from ncf_recommender.models.layers import (
    ITEM_EMBEDDING,
    LAST_POSITION,
    SEQUENCE_OUTPUT,
    LastPosition,
    TiedItemEmbedding,
)


def build_gru4rec(
    n_items: int,
    max_len: int = 50,
    dim: int = 64,
    hidden: int | None = None,
    layers: int = 1,
    *,
    dropout: float = 0.2,
    l2: float = 0.0,
    seed: int | None = None,
    name: str = "gru4rec",
) -> keras.Model:
    """Build a GRU4Rec-style next-item model.

    Args:
        n_items: Catalogue size; item ``i`` is input id ``i + 1``.
        max_len: Number of most recent items read (inputs left-padded with 0).
        dim: Item embedding size.
        hidden: GRU state size (``dim`` if ``None``).
        layers: Stacked GRU layers.
        dropout: Dropout on the embeddings and on each GRU's output.
        l2: L2 penalty on the item embedding table.
        seed: If given, seeds Keras (weights and dropout) before building.
        name: Model name.

    Returns:
        A ``keras.Model`` mapping ``(B, max_len)`` int ids to ``(B, n_items)``
        scores; layer ``sequence_output`` holds ``(B, max_len, dim)`` states.

    Raises:
        ValueError: If a size is not positive or ``dropout`` is outside ``[0, 1)``.
    """
    hidden = dim if hidden is None else hidden
    for key, value in {
        "n_items": n_items,
        "max_len": max_len,
        "dim": dim,
        "hidden": hidden,
        "layers": layers,
    }.items():
        if value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    history = keras.Input(shape=(max_len,), dtype="int32", name="history")
    items = TiedItemEmbedding(
        n_items,
        dim,
        embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=ITEM_EMBEDDING,
    )
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(items(history))
    for i in range(layers):
        x = keras.layers.GRU(hidden, return_sequences=True, name=f"gru{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"gru{i}_dropout")(x)
    if hidden != dim:
        x = keras.layers.Dense(dim, name=SEQUENCE_OUTPUT)(x)
    else:
        x = keras.layers.Identity(name=SEQUENCE_OUTPUT)(x)
    scores = items(LastPosition(name=LAST_POSITION)(x), reverse=True)
    return keras.Model(history, scores, name=name)
