"""Which id mappings a trained model belongs to.

A model's embedding rows are indexed by ``user_idx`` / ``item_idx``, so it is
only meaningful together with the ``user_mapping`` and ``item_mapping`` it was
trained with. The modelling pipeline stores a fingerprint of those mappings
beside every model (``<model>_model_info``, same version), and serving refuses
a model whose fingerprint differs from the mappings it would serve with.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from ncf_recommender.constants import ITEM_ID, ITEM_IDX, USER_ID, USER_IDX

#: Key of the fingerprint in a model's info record.
FINGERPRINT_KEY = "mappings_fingerprint"


class LineageError(ValueError):
    """A model and the id mappings it would be served with do not belong together."""


def _ids_digest(mapping: pd.DataFrame, id_column: str, idx_column: str) -> str:
    """SHA-256 of the ids in index order (one id a line)."""
    ordered = mapping.sort_values(idx_column)
    indices = ordered[idx_column].to_numpy(dtype=np.int64)
    if not np.array_equal(indices, np.arange(len(ordered))):
        raise LineageError(
            f"{idx_column} of the mapping is not 0..{len(ordered) - 1}: not a "
            "mapping written by data_processing"
        )
    text = "\n".join(ordered[id_column].astype(str).tolist())
    return hashlib.sha256(text.encode()).hexdigest()


def mappings_fingerprint(user_mapping: pd.DataFrame, item_mapping: pd.DataFrame) -> str:
    """A short, stable fingerprint of a pair of id mappings.

    Args:
        user_mapping: ``user_id`` / ``user_idx``.
        item_mapping: ``item_id`` / ``item_idx``.

    Returns:
        ``"<n_users>u-<n_items>i-<16 hex digits>"``: equal exactly when both
        mappings give every index the same id.
    """
    digest = hashlib.sha256(
        (
            _ids_digest(user_mapping, USER_ID, USER_IDX)
            + _ids_digest(item_mapping, ITEM_ID, ITEM_IDX)
        ).encode()
    ).hexdigest()
    return f"{len(user_mapping)}u-{len(item_mapping)}i-{digest[:16]}"


def model_info(
    user_mapping: pd.DataFrame, item_mapping: pd.DataFrame
) -> dict[str, Any]:
    """The record stored beside a trained model.

    Args:
        user_mapping: The user mapping the model was trained with.
        item_mapping: The item mapping the model was trained with.

    Returns:
        ``{"mappings_fingerprint", "n_users", "n_items"}``.
    """
    return {
        FINGERPRINT_KEY: mappings_fingerprint(user_mapping, item_mapping),
        "n_users": len(user_mapping),
        "n_items": len(item_mapping),
    }


def check_lineage(
    info: dict[str, Any],
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    *,
    model: str,
    version: str | None,
) -> None:
    """Refuse a model whose mappings are not the ones given.

    Args:
        info: The model's stored info record (see :func:`model_info`).
        user_mapping: The user mapping it would be served with.
        item_mapping: The item mapping it would be served with.
        model: The model's dataset name, for the message.
        version: The model's version, for the message.

    Raises:
        LineageError: If the fingerprints differ; the message names both.
    """
    current = mappings_fingerprint(user_mapping, item_mapping)
    stored = info.get(FINGERPRINT_KEY)
    if stored != current:
        which = f"version {version}" if version else "(latest version)"
        raise LineageError(
            f"{model} {which} was trained with id mappings {stored}, but "
            f"the catalog's user_mapping/item_mapping are {current}: they come from "
            "different data_processing runs. Retrain the model on the current data "
            "(kedro run --pipeline modelling) or serve the environment it was "
            "trained in."
        )
