"""MLP-NCF, the seed's model and the non-linear member of the NCF family.

He et al., "Neural Collaborative Filtering", WWW 2017, section 3.3: the user and
item embeddings are concatenated and passed through a tower of ReLU layers and
a sigmoid output unit. The seed used a 128 → 64 → 32 tower on 64-dimensional
embeddings, which are the defaults here.

Built from Keras built-in layers only (``.keras`` files reload with
``safe_mode=True``), with stable layer names: ``mlp_user_embedding``,
``mlp_item_embedding``, ``mlp_concat``, ``mlp_dense_<i>``, ``mlp_dropout_<i>``
and ``prediction``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.models.gmf import (
    PREDICTION,
    check_l2,
    check_sizes,
    embedding,
    id_inputs,
)

MLP_USER_EMBEDDING = "mlp_user_embedding"
MLP_ITEM_EMBEDDING = "mlp_item_embedding"
MLP_CONCAT = "mlp_concat"


def mlp_dense_name(index: int) -> str:
    """Name of the ``index``-th hidden Dense layer of the MLP tower.

    Args:
        index: Position of the layer in the tower, from 0.

    Returns:
        The layer name, e.g. ``mlp_dense_0``.
    """
    return f"mlp_dense_{index}"


def check_tower(layers: Sequence[int], dropout: float) -> tuple[int, ...]:
    """Validate the hidden layer sizes and the dropout rate.

    Args:
        layers: Hidden layer sizes, first to last.
        dropout: Dropout rate after each hidden layer.

    Returns:
        The layer sizes as a tuple.

    Raises:
        ValueError: If ``layers`` is empty or holds a non-positive size, or
            ``dropout`` is outside ``[0, 1)``.
    """
    sizes = tuple(layers)
    if not sizes:
        raise ValueError("layers must hold at least one hidden layer size")
    check_sizes(1, 1, **{f"layers[{i}]": size for i, size in enumerate(sizes)})
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return tuple(int(size) for size in sizes)


def mlp_tower(
    user: keras.KerasTensor,
    item: keras.KerasTensor,
    *,
    n_users: int,
    n_items: int,
    embedding_dim: int,
    layers: Sequence[int],
    l2: float,
    dropout: float,
) -> keras.KerasTensor:
    """The MLP interaction vector: concatenated embeddings through ReLU layers.

    Args:
        user: The ``user_idx`` input.
        item: The ``item_idx`` input.
        n_users: Number of users.
        n_items: Number of items.
        embedding_dim: Size of each of the two embeddings.
        layers: Hidden layer sizes.
        l2: L2 strength on the looked-up embeddings.
        dropout: Dropout rate after each hidden layer (0 adds no dropout layer).

    Returns:
        A ``(batch, layers[-1])`` tensor.
    """
    p_u = embedding(n_users, embedding_dim, l2, MLP_USER_EMBEDDING)(user)
    q_i = embedding(n_items, embedding_dim, l2, MLP_ITEM_EMBEDDING)(item)
    hidden = keras.layers.Concatenate(name=MLP_CONCAT)([p_u, q_i])
    for index, size in enumerate(layers):
        hidden = keras.layers.Dense(
            size, activation="relu", name=mlp_dense_name(index)
        )(hidden)
        if dropout > 0:
            hidden = keras.layers.Dropout(dropout, name=f"mlp_dropout_{index}")(hidden)
    return hidden


def build_mlp(  # noqa: PLR0917 (positional order fixed by the issue's interface)
    n_users: int,
    n_items: int,
    embedding_dim: int = 64,
    layers: Sequence[int] = (128, 64, 32),
    l2: float = 0.0,
    dropout: float = 0.0,
) -> keras.Model:
    """Build an (uncompiled) MLP-NCF model.

    Args:
        n_users: Number of users; valid ``user_idx`` are ``0 .. n_users - 1``.
        n_items: Number of items; valid ``item_idx`` are ``0 .. n_items - 1``.
        embedding_dim: Size of the user and of the item embedding.
        layers: Hidden ReLU layer sizes, first to last.
        l2: L2 strength on the looked-up embeddings (0 disables it).
        dropout: Dropout rate after each hidden layer.

    Returns:
        A ``keras.Model`` named ``mlp`` mapping a dict ``{"user_idx": ...,
        "item_idx": ...}`` of int32 vectors to sigmoid probabilities of shape
        ``(batch, 1)``.

    Raises:
        ValueError: If a size is not a positive integer, ``l2`` is negative or
            ``dropout`` is outside ``[0, 1)``.
    """
    check_sizes(n_users, n_items, embedding_dim=embedding_dim)
    check_l2(l2)
    sizes = check_tower(layers, dropout)
    user, item = id_inputs()
    hidden = mlp_tower(
        user,
        item,
        n_users=int(n_users),
        n_items=int(n_items),
        embedding_dim=int(embedding_dim),
        layers=sizes,
        l2=l2,
        dropout=dropout,
    )
    output = keras.layers.Dense(1, activation="sigmoid", name=PREDICTION)(hidden)
    return keras.Model(
        inputs={USER_IDX: user, ITEM_IDX: item}, outputs=output, name="mlp"
    )
