"""Turn interaction tables into the arrays evaluation works on.

Tables are anything indexable by column name that yields arrays: a pandas
DataFrame with ``user_idx`` and ``item_idx`` columns, or a dict of arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation.scoring import as_index_array

#: A table with ``user_idx`` and ``item_idx`` columns (DataFrame or dict of arrays).
InteractionTable = Mapping[str, Any] | Any


def table_indices(table: InteractionTable, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``user_idx`` and ``item_idx`` columns of a table as int64 arrays.

    Args:
        table: DataFrame or mapping with ``user_idx`` and ``item_idx`` columns.
        name: Name of the table, used in error messages.

    Returns:
        ``(users, items)`` 1-D int64 arrays.

    Raises:
        ValueError: If a column is missing or not integer.
    """
    columns = []
    for column in (USER_IDX, ITEM_IDX):
        try:
            values = table[column]
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(f"{name} has no column {column!r}") from error
        columns.append(as_index_array(np.asarray(values), f"{name}.{column}"))
    if columns[0].shape != columns[1].shape:
        raise ValueError(f"{name}: {USER_IDX} and {ITEM_IDX} differ in length")
    return columns[0], columns[1]


def interaction_matrix(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int
) -> sp.csr_matrix:
    """Binary user-item matrix (repeated pairs count once).

    Args:
        users: User index per interaction.
        items: Item index per interaction.
        n_users: Number of rows.
        n_items: Number of columns.

    Returns:
        A canonical ``(n_users, n_items)`` float32 CSR matrix with 1 where the
        user interacted with the item.

    Raises:
        ValueError: If an index is out of range.
    """
    users = as_index_array(users, USER_IDX)
    items = as_index_array(items, ITEM_IDX)
    if users.size and (users.min() < 0 or users.max() >= n_users):
        raise ValueError(f"{USER_IDX} values must lie in [0, {n_users})")
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ValueError(f"{ITEM_IDX} values must lie in [0, {n_items})")
    matrix = sp.csr_matrix(
        (np.ones(users.size, dtype=np.float32), (users, items)),
        shape=(n_users, n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def candidates_matrix(
    candidates: InteractionTable | np.ndarray, users: np.ndarray
) -> np.ndarray:
    """Stored negatives as one row per evaluated user.

    Args:
        candidates: Long table (``user_idx``, ``item_idx``; the catalogued
            ``test_candidates``) with the same number of rows per user, or a
            2-D array already aligned with ``users``.
        users: The evaluated users, in the order wanted.

    Returns:
        int64 array ``(len(users), m)``; each row keeps the table's order of
        that user's candidates.

    Raises:
        ValueError: If users have different numbers of candidates, or an
            evaluated user has none.
    """
    users = as_index_array(users, "users")
    if isinstance(candidates, np.ndarray):
        if candidates.ndim != 2 or candidates.shape[0] != users.size:
            raise ValueError(
                f"candidates array has shape {candidates.shape}; expected "
                f"({users.size}, m)"
            )
        return candidates.astype(np.int64, copy=False)
    cand_users, cand_items = table_indices(candidates, "candidates")
    order = np.argsort(cand_users, kind="stable")
    sorted_users = cand_users[order]
    unique, starts, counts = np.unique(
        sorted_users, return_index=True, return_counts=True
    )
    if unique.size == 0:
        raise ValueError("candidates table is empty")
    if (counts != counts[0]).any():
        bad = unique[np.argmax(counts != counts[0])]
        raise ValueError(
            f"every user needs the same number of candidates; user {int(bad)} has "
            f"{int(counts[unique == bad][0])}, user {int(unique[0])} has {int(counts[0])}"
        )
    grid = cand_items[order].reshape(unique.size, int(counts[0]))
    position = np.searchsorted(unique, users)
    found = (position < unique.size) & (
        unique[np.minimum(position, unique.size - 1)] == users
    )
    if not found.all():
        raise ValueError(
            f"user {int(users[np.argmin(found)])} has no stored candidates"
        )
    return grid[position]
