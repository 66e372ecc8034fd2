"""Neural Matrix Factorization (NeuMF): GMF and MLP towers fused.

He et al., "Neural Collaborative Filtering", WWW 2017, section 3.4: a GMF tower
and an MLP tower with separate embeddings; their last layers are concatenated
and a single sigmoid unit predicts the interaction. With pretraining (section
3.4.1), the towers start from a trained GMF and a trained MLP-NCF and the output
weights are ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` (the biases likewise), with
``alpha = 0.5`` in the paper.

Built from Keras built-in layers only, with the tower layers named exactly as in
:mod:`ncf_recommender.models.gmf` and :mod:`ncf_recommender.models.mlp`, so the
pretrained weights are copied layer by layer by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.models.gmf import (
    GMF_ITEM_EMBEDDING,
    GMF_USER_EMBEDDING,
    PREDICTION,
    check_l2,
    check_sizes,
    gmf_tower,
    id_inputs,
)
from ncf_recommender.models.mlp import (
    MLP_ITEM_EMBEDDING,
    MLP_USER_EMBEDDING,
    check_tower,
    mlp_dense_name,
    mlp_tower,
)
from ncf_recommender.models.ncf_weights import mlp_hidden_layers, ncf_weights

NEUMF_CONCAT = "neumf_concat"


def _copy_layer(target: keras.Model, source: keras.Model, name: str) -> None:
    """Copy the weights of layer ``name`` from ``source`` into ``target``.

    Args:
        target: Model receiving the weights.
        source: Pretrained model.
        name: Layer name present in both models.

    Raises:
        ValueError: If ``source`` lacks the layer or a weight shape differs.
    """
    try:
        source_layer = source.get_layer(name)
    except ValueError as error:
        raise ValueError(
            f"pretrained model {source.name!r} has no layer {name!r}"
        ) from error
    target_layer = target.get_layer(name)
    source_weights = source_layer.get_weights()
    target_shapes = [w.shape for w in target_layer.get_weights()]
    source_shapes = [w.shape for w in source_weights]
    if source_shapes != target_shapes:
        raise ValueError(
            f"layer {name!r}: pretrained weights have shapes {source_shapes} but "
            f"NeuMF expects {target_shapes} (check gmf_dim, mlp_dim, layers and "
            "the number of users and items)"
        )
    target_layer.set_weights(source_weights)


def initialise_from_pretrained(
    neumf: keras.Model,
    pretrained_gmf: keras.Model,
    pretrained_mlp: keras.Model,
    alpha: float = 0.5,
) -> None:
    """Initialise a NeuMF model in place from a trained GMF and MLP-NCF.

    Args:
        neumf: Model from :func:`build_neumf` (without pretraining).
        pretrained_gmf: Trained model from :func:`~ncf_recommender.models.gmf.build_gmf`.
        pretrained_mlp: Trained model from :func:`~ncf_recommender.models.mlp.build_mlp`.
        alpha: Weight of the GMF tower in the output layer, in ``[0, 1]``.

    Raises:
        ValueError: If ``alpha`` is outside ``[0, 1]`` or the architectures differ.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    n_hidden = mlp_hidden_layers(neumf)
    for name in (GMF_USER_EMBEDDING, GMF_ITEM_EMBEDDING):
        _copy_layer(neumf, pretrained_gmf, name)
    mlp_names = [MLP_USER_EMBEDDING, MLP_ITEM_EMBEDDING]
    mlp_names += [mlp_dense_name(i) for i in range(n_hidden)]
    for name in mlp_names:
        _copy_layer(neumf, pretrained_mlp, name)
    gmf, mlp = ncf_weights(pretrained_gmf), ncf_weights(pretrained_mlp)
    kernel = np.concatenate([alpha * gmf.kernel, (1.0 - alpha) * mlp.kernel], axis=0)
    bias = alpha * gmf.bias + (1.0 - alpha) * mlp.bias
    expected = neumf.get_layer(PREDICTION).get_weights()[0].shape
    if kernel.shape != expected:
        raise ValueError(
            f"layer {PREDICTION!r}: pretrained output weights give shape "
            f"{kernel.shape} but NeuMF expects {expected}"
        )
    neumf.get_layer(PREDICTION).set_weights([kernel, bias])


def build_neumf(  # noqa: PLR0917 (positional order fixed by the issue's interface)
    n_users: int,
    n_items: int,
    gmf_dim: int = 64,
    mlp_dim: int = 64,
    layers: Sequence[int] = (128, 64, 32),
    l2: float = 0.0,
    dropout: float = 0.0,
    pretrained_gmf: keras.Model | None = None,
    pretrained_mlp: keras.Model | None = None,
    alpha: float = 0.5,
) -> keras.Model:
    """Build an (uncompiled) NeuMF model, optionally initialised by pretraining.

    Args:
        n_users: Number of users; valid ``user_idx`` are ``0 .. n_users - 1``.
        n_items: Number of items; valid ``item_idx`` are ``0 .. n_items - 1``.
        gmf_dim: Embedding size of the GMF tower.
        mlp_dim: Embedding size of the MLP tower (each of user and item).
        layers: Hidden ReLU layer sizes of the MLP tower.
        l2: L2 strength on the looked-up embeddings of both towers.
        dropout: Dropout rate after each hidden MLP layer.
        pretrained_gmf: A trained GMF model of the same sizes, or ``None``.
        pretrained_mlp: A trained MLP-NCF model of the same sizes, or ``None``.
        alpha: GMF weight of the pretrained output layer (used only with
            pretraining).

    Returns:
        A ``keras.Model`` named ``neumf`` mapping a dict ``{"user_idx": ...,
        "item_idx": ...}`` of int32 vectors to sigmoid probabilities of shape
        ``(batch, 1)``.

    Raises:
        ValueError: If a size or rate is invalid, only one of the two pretrained
            models is given, or a pretrained model's shapes do not match.
    """
    check_sizes(n_users, n_items, gmf_dim=gmf_dim, mlp_dim=mlp_dim)
    check_l2(l2)
    sizes = check_tower(layers, dropout)
    if (pretrained_gmf is None) != (pretrained_mlp is None):
        raise ValueError(
            "NeuMF pretraining needs both pretrained_gmf and pretrained_mlp, "
            "got only one"
        )
    user, item = id_inputs()
    n_users, n_items = int(n_users), int(n_items)
    gmf_vector = gmf_tower(
        user, item, n_users=n_users, n_items=n_items, embedding_dim=int(gmf_dim), l2=l2
    )
    mlp_vector = mlp_tower(
        user,
        item,
        n_users=n_users,
        n_items=n_items,
        embedding_dim=int(mlp_dim),
        layers=sizes,
        l2=l2,
        dropout=dropout,
    )
    fused = keras.layers.Concatenate(name=NEUMF_CONCAT)([gmf_vector, mlp_vector])
    output = keras.layers.Dense(1, activation="sigmoid", name=PREDICTION)(fused)
    model = keras.Model(
        inputs={USER_IDX: user, ITEM_IDX: item}, outputs=output, name="neumf"
    )
    if pretrained_gmf is not None and pretrained_mlp is not None:
        initialise_from_pretrained(model, pretrained_gmf, pretrained_mlp, alpha)
    return model
