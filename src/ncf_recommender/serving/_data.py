"""Serving data: id mappings, seen items and popularity, indexed like the model."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ncf_recommender.constants import ITEM_ID, ITEM_IDX, USER_ID, USER_IDX
from ncf_recommender.evaluation import interaction_matrix
from ncf_recommender.models.sequences import UserHistories, build_histories


@dataclass(frozen=True)
class ServingData:
    """Id mappings, seen items and popularity, indexed like the model.

    Attributes:
        user_ids: Original user id of every ``user_idx``.
        item_ids: Original item id of every ``item_idx``.
        seen: Binary ``(n_users, n_items)`` CSR matrix of ``interactions``.
        item_users: Distinct users per item in ``interactions``.
        interactions: The ``interactions`` frame (sequence scorers read it).
        scoring_batch_size: (user, item) pairs a scorer evaluates at once.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    seen: sp.csr_matrix
    item_users: np.ndarray
    interactions: pd.DataFrame
    scoring_batch_size: int = 131_072

    @property
    def n_users(self) -> int:
        """Number of users the model knows."""
        return int(self.user_ids.size)

    @functools.cached_property
    def histories(self) -> UserHistories:
        """Every user's items of ``interactions`` in the split's order (built once).

        Ordered by timestamp, ties in row order, as ``split_leave_last_two``
        orders them: train, then the validation item, then the test item.

        Raises:
            KeyError: If ``interactions`` has no ``timestamp`` column.
        """
        return build_histories(self.interactions, self.n_users)

    @property
    def n_items(self) -> int:
        """Catalogue size."""
        return int(self.item_ids.size)

    @classmethod
    def from_frames(
        cls,
        interactions: pd.DataFrame,
        user_mapping: pd.DataFrame,
        item_mapping: pd.DataFrame,
        scoring_batch_size: int = 131_072,
    ) -> ServingData:
        """Build the lookup arrays from the catalog frames.

        Args:
            interactions: Frame with ``user_idx`` and ``item_idx`` columns.
            user_mapping: ``user_id`` and ``user_idx`` (a permutation of 0..n-1).
            item_mapping: ``item_id`` and ``item_idx`` (a permutation of 0..n-1).
            scoring_batch_size: Pairs a scorer evaluates at once.

        Returns:
            The serving data.

        Raises:
            ValueError: On a missing column, a mapping whose indices are not
                0..n-1 exactly once, duplicate ids, or out-of-range interactions.
        """
        user_ids = _ids_by_index(user_mapping, USER_ID, USER_IDX, "user_mapping")
        item_ids = _ids_by_index(item_mapping, ITEM_ID, ITEM_IDX, "item_mapping")
        for column in (USER_IDX, ITEM_IDX):
            if column not in interactions.columns:
                raise ValueError(f"interactions has no column {column!r}")
        seen = interaction_matrix(
            interactions[USER_IDX].to_numpy(),
            interactions[ITEM_IDX].to_numpy(),
            user_ids.size,
            item_ids.size,
        )
        item_users = np.bincount(seen.indices, minlength=item_ids.size)
        return cls(
            user_ids, item_ids, seen, item_users, interactions, scoring_batch_size
        )


def _ids_by_index(
    frame: pd.DataFrame, id_col: str, idx_col: str, name: str
) -> np.ndarray:
    """Original ids ordered by their index column, validated."""
    for column in (id_col, idx_col):
        if column not in frame.columns:
            raise ValueError(f"{name} has no column {column!r}")
    index = frame[idx_col].to_numpy()
    n = index.size
    if n == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(index.dtype, np.integer) or not np.array_equal(
        np.sort(index), np.arange(n)
    ):
        raise ValueError(f"{name}.{idx_col} must hold each of 0..{n - 1} exactly once")
    ids = np.empty(n, dtype=object)
    ids[index] = frame[id_col].astype(str).to_numpy()
    if pd.Index(ids).has_duplicates:
        raise ValueError(f"{name}.{id_col} has duplicate ids")
    return ids
