"""Generalized Matrix Factorization (GMF), the linear member of the NCF family.

He, Liao, Zhang, Nie, Hu and Chua, "Neural Collaborative Filtering", WWW 2017,
section 3.2: the user and item embeddings are multiplied element-wise and a
single sigmoid unit weighs the product, so the score is
``sigmoid(h . (p_u * q_i) + b)``, a weighted dot product.

The model is built with the Keras functional API from built-in layers plus
:class:`RowEmbedding` (a registered ``keras.layers.Embedding`` that reads only
the looked-up rows), so a saved ``.keras`` file reloads with ``safe_mode=True``
once this module is imported. Layer names are stable
(``gmf_user_embedding``, ``gmf_item_embedding``, ``gmf_product``,
``prediction``): NeuMF pretraining and the fast scorer look layers up by name.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ncf_recommender.constants import ITEM_IDX, USER_IDX

GMF_USER_EMBEDDING = "gmf_user_embedding"
GMF_ITEM_EMBEDDING = "gmf_item_embedding"
GMF_PRODUCT = "gmf_product"
PREDICTION = "prediction"


def check_sizes(n_users: int, n_items: int, **dims: int) -> None:
    """Reject impossible model sizes with a message naming the argument.

    Args:
        n_users: Number of users (rows of the user embedding table).
        n_items: Number of items (rows of the item embedding table).
        **dims: Further sizes that must be positive integers, by name.

    Raises:
        ValueError: If any size is not a positive integer.
    """
    for name, value in {"n_users": n_users, "n_items": n_items, **dims}.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_l2(l2: float) -> None:
    """Reject a negative L2 strength.

    Args:
        l2: L2 strength on the looked-up embeddings.

    Raises:
        ValueError: If ``l2`` is negative.
    """
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}")


@keras.saving.register_keras_serializable(package="ncf_recommender")
class RowEmbedding(keras.layers.Embedding):
    """``keras.layers.Embedding`` whose lookup reads only the batch's rows.

    Keras' own lookup converts the whole table to a tensor first. With an
    optimiser that updates only the looked-up rows (``lazy_adam``), TensorFlow
    must then copy the whole table on every step before it may update rows in
    place, so each step costs time in proportion to the catalogue. Here the
    lookup is a sparse read of the variable (``tf.nn.embedding_lookup``); the
    values and gradients are the same.
    """

    def call(self, inputs: Any) -> Any:
        """Look up the rows of ``inputs``.

        Args:
            inputs: Integer indices.

        Returns:
            Their embeddings, ``inputs.shape + (output_dim,)``.
        """
        if keras.backend.backend() != "tensorflow":
            return super().call(inputs)
        import tensorflow as tf  # noqa: PLC0415 (only on the TensorFlow backend)

        outputs = tf.nn.embedding_lookup(
            self.embeddings.value, tf.cast(inputs, "int32")
        )
        return keras.ops.cast(outputs, dtype=self.compute_dtype)


def embedding(n_rows: int, dim: int, l2: float, name: str) -> keras.layers.Embedding:
    """An embedding table with optional L2 on the rows a batch looks up.

    The penalty is an activity regulariser (``l2 * sum(e**2)`` averaged over the
    batch) rather than a weight regulariser, so each step touches only the rows
    in the batch instead of the whole table.

    Args:
        n_rows: Number of rows (users or items).
        dim: Embedding size.
        l2: L2 strength; 0 disables it.
        name: Layer name.

    Returns:
        The :class:`RowEmbedding` layer.
    """
    return RowEmbedding(
        n_rows,
        dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
        activity_regularizer=keras.regularizers.L2(l2) if l2 > 0 else None,
        name=name,
    )


def id_inputs() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The two scalar int32 inputs every NCF model takes.

    Returns:
        ``(user_idx, item_idx)`` Keras inputs of shape ``(batch,)``.
    """
    user = keras.Input(shape=(), dtype="int32", name=USER_IDX)
    item = keras.Input(shape=(), dtype="int32", name=ITEM_IDX)
    return user, item


def gmf_tower(
    user: keras.KerasTensor,
    item: keras.KerasTensor,
    *,
    n_users: int,
    n_items: int,
    embedding_dim: int,
    l2: float,
) -> keras.KerasTensor:
    """The GMF interaction vector ``p_u * q_i``.

    Args:
        user: The ``user_idx`` input.
        item: The ``item_idx`` input.
        n_users: Number of users.
        n_items: Number of items.
        embedding_dim: Embedding size.
        l2: L2 strength on the looked-up embeddings.

    Returns:
        A ``(batch, embedding_dim)`` tensor.
    """
    p_u = embedding(n_users, embedding_dim, l2, GMF_USER_EMBEDDING)(user)
    q_i = embedding(n_items, embedding_dim, l2, GMF_ITEM_EMBEDDING)(item)
    return keras.layers.Multiply(name=GMF_PRODUCT)([p_u, q_i])


def build_gmf(
    n_users: int, n_items: int, embedding_dim: int = 64, l2: float = 0.0
) -> keras.Model:
    """Build an (uncompiled) GMF model.

    Args:
        n_users: Number of users; valid ``user_idx`` are ``0 .. n_users - 1``.
        n_items: Number of items; valid ``item_idx`` are ``0 .. n_items - 1``.
        embedding_dim: Size of the user and item embeddings.
        l2: L2 strength on the looked-up embeddings (0 disables it).

    Returns:
        A ``keras.Model`` named ``gmf`` mapping a dict ``{"user_idx": ...,
        "item_idx": ...}`` of int32 vectors to sigmoid probabilities of shape
        ``(batch, 1)``.

    Raises:
        ValueError: If a size is not a positive integer or ``l2`` is negative.
    """
    check_sizes(n_users, n_items, embedding_dim=embedding_dim)
    check_l2(l2)
    user, item = id_inputs()
    product = gmf_tower(
        user,
        item,
        n_users=int(n_users),
        n_items=int(n_items),
        embedding_dim=int(embedding_dim),
        l2=l2,
    )
    output = keras.layers.Dense(1, activation="sigmoid", name=PREDICTION)(product)
    return keras.Model(
        inputs={USER_IDX: user, ITEM_IDX: item}, outputs=output, name="gmf"
    )
