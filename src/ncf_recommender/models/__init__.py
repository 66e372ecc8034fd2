"""Recommender models (plain modules, no Kedro import).

* :mod:`~ncf_recommender.models.gmf`, :mod:`~ncf_recommender.models.mlp`,
  :mod:`~ncf_recommender.models.neumf`: the Keras NCF family (He et al. 2017);
* :mod:`~ncf_recommender.models.sasrec`, :mod:`~ncf_recommender.models.gru4rec`:
  the next-item models, over the shared layers of
  :mod:`~ncf_recommender.models.layers`;
* :mod:`~ncf_recommender.models.scorers`: :class:`KerasScorer`, their
  evaluation ``Scorer`` adapter;
* :mod:`~ncf_recommender.models.registry`: the one list of trainable models;
* :mod:`~ncf_recommender.models.baselines`: most-popular and ALS.

Training is in :mod:`ncf_recommender.training`.

The names below are imported lazily, so ``import ncf_recommender.models.baselines``
does not pay for importing TensorFlow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "build_gmf": "ncf_recommender.models.gmf",
    "build_mlp": "ncf_recommender.models.mlp",
    "build_neumf": "ncf_recommender.models.neumf",
    "KerasScorer": "ncf_recommender.models.scorers",
}

__all__ = [
    "KerasScorer",
    "build_gmf",
    "build_mlp",
    "build_neumf",
]


def __getattr__(name: str) -> Any:
    """Import an exported name on first use.

    Args:
        name: Attribute name.

    Returns:
        The exported object.

    Raises:
        AttributeError: If ``name`` is not exported.
    """
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
