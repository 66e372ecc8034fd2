"""The weight layout of the NCF family (GMF, MLP-NCF, NeuMF), parsed in one place.

The builders in :mod:`~ncf_recommender.models.gmf`,
:mod:`~ncf_recommender.models.mlp` and :mod:`~ncf_recommender.models.neumf`
name their layers with the constants of those modules. :func:`ncf_weights`
reads a built model's towers by those names: the numpy scorers
(:mod:`~ncf_recommender.models.scorers`), NeuMF's pretraining and serving's
GMF retrieval all read the layout from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.models.gmf import (
    GMF_ITEM_EMBEDDING,
    GMF_USER_EMBEDDING,
    PREDICTION,
)
from ncf_recommender.models.mlp import (
    MLP_ITEM_EMBEDDING,
    MLP_USER_EMBEDDING,
    mlp_dense_name,
)

#: Layer-name prefixes of the built-in NCF models.
KNOWN_LAYER_PREFIXES = (
    USER_IDX,
    ITEM_IDX,
    "gmf_",
    "mlp_",
    "neumf_concat",
    PREDICTION,
)


@dataclass(frozen=True)
class NCFWeights:
    """The towers of a GMF, MLP-NCF or NeuMF model.

    Attributes:
        gmf_user: ``(n_users, d)`` GMF user table, or ``None`` (no GMF tower).
        gmf_item: ``(n_items, d)`` GMF item table, or ``None``.
        mlp_user: ``(n_users, d')`` MLP user table, or ``None`` (no MLP tower).
        mlp_item: ``(n_items, d')`` MLP item table, or ``None``.
        mlp_dense: ``(kernel, bias)`` of each hidden ReLU layer, first to last.
        gmf_kernel: The output kernel's rows reading the GMF vector ``(d, 1)``.
        mlp_kernel: The output kernel's rows reading the MLP vector.
        kernel: The whole output kernel ``(d + last, 1)``.
        bias: The output bias ``(1,)``.
    """

    gmf_user: np.ndarray | None
    gmf_item: np.ndarray | None
    mlp_user: np.ndarray | None
    mlp_item: np.ndarray | None
    mlp_dense: list[tuple[np.ndarray, np.ndarray]]
    gmf_kernel: np.ndarray | None
    mlp_kernel: np.ndarray | None
    kernel: np.ndarray
    bias: np.ndarray


def mlp_hidden_layers(model: keras.Model) -> int:
    """Number of hidden ReLU layers of a model's MLP tower (0 without one)."""
    names = {layer.name for layer in model.layers}
    count = 0
    while mlp_dense_name(count) in names:
        count += 1
    return count


def _mlp_dense(model: keras.Model) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(kernel, bias)`` of each hidden MLP layer, checked to be ReLU."""
    dense = []
    for index in range(mlp_hidden_layers(model)):
        layer = model.get_layer(mlp_dense_name(index))
        if layer.activation is not keras.activations.relu:
            raise ValueError(f"{layer.name} is not a ReLU layer")
        kernel, bias = layer.get_weights()
        dense.append((kernel, bias))
    return dense


def ncf_weights(model: keras.Model) -> NCFWeights:
    """Read the towers of a built-in NCF model.

    Args:
        model: A GMF, MLP-NCF or NeuMF model built by this package.

    Returns:
        Its :class:`NCFWeights`.

    Raises:
        ValueError: If the model has other layers, no output layer, no tower,
            or an output layer that does not match its towers.
    """
    names = {layer.name for layer in model.layers}
    unknown = [n for n in names if not n.startswith(KNOWN_LAYER_PREFIXES)]
    if unknown or PREDICTION not in names:
        raise ValueError(f"not a built-in NCF model (layers {sorted(names)})")
    kernel, bias = model.get_layer(PREDICTION).get_weights()
    gmf_user = gmf_item = gmf_kernel = None
    offset = 0
    if GMF_USER_EMBEDDING in names:
        gmf_user = model.get_layer(GMF_USER_EMBEDDING).get_weights()[0]
        gmf_item = model.get_layer(GMF_ITEM_EMBEDDING).get_weights()[0]
        offset = gmf_user.shape[1]
        gmf_kernel = kernel[:offset]
    mlp_user = mlp_item = mlp_kernel = None
    dense: list[tuple[np.ndarray, np.ndarray]] = []
    if MLP_USER_EMBEDDING in names:
        mlp_user = model.get_layer(MLP_USER_EMBEDDING).get_weights()[0]
        mlp_item = model.get_layer(MLP_ITEM_EMBEDDING).get_weights()[0]
        dense = _mlp_dense(model)
        mlp_kernel = kernel[offset:]
        offset = kernel.shape[0]
    if offset != kernel.shape[0] or (gmf_user is None and mlp_user is None):
        raise ValueError("prediction layer does not match the towers")
    return NCFWeights(
        gmf_user=gmf_user,
        gmf_item=gmf_item,
        mlp_user=mlp_user,
        mlp_item=mlp_item,
        mlp_dense=dense,
        gmf_kernel=gmf_kernel,
        mlp_kernel=mlp_kernel,
        kernel=kernel,
        bias=bias,
    )
