"""Top-K lists: the best-scoring items per user, excluded items removed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation.scoring import (
    Scorer,
    as_index_array,
    batches,
    check_exclude,
    check_range,
    check_scores,
    excluded_entries,
    resolve_batch_size,
)


def top_of_batch(
    scores: np.ndarray, rows: np.ndarray, cols: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items per row of a score batch, excluded entries removed."""
    size, n_items = scores.shape
    masked = np.array(scores, dtype=np.result_type(scores.dtype, np.float32), copy=True)
    masked[rows, cols] = -np.inf
    if k < n_items:
        best = np.argpartition(masked, n_items - k, axis=1)[:, n_items - k :]
    else:
        best = np.broadcast_to(np.arange(n_items), (size, n_items))
    best_scores = np.take_along_axis(masked, best, axis=1)
    order = np.lexsort((best, -best_scores), axis=1)
    best = np.take_along_axis(best, order, axis=1)
    best_scores = np.take_along_axis(best_scores, order, axis=1)
    return np.where(np.isneginf(best_scores), -1, best), best_scores


def check_list_length(k: int, n_items: int) -> int:
    """Validate a top-K list length."""
    if (
        isinstance(k, bool)
        or not isinstance(k, int | np.integer)
        or not 1 <= k <= n_items
    ):
        raise ValueError(f"k must be an integer in [1, {n_items}], got {k!r}")
    return int(k)


def top_k(
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    exclude: sp.spmatrix | sp.sparray | None,
    k: int,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The K best-scoring items per user, excluding each user's given items.

    Ties are broken towards the lower item index within the returned list;
    which of several items tied at the K-th score enters the list is
    deterministic but otherwise unspecified. Items scoring ``-inf`` (and
    excluded items) are never returned: when a user has fewer than K
    available items, the tail holds item ``-1`` with score ``-inf``.

    Args:
        scorer: The model.
        users: Users to recommend for, shape ``(B,)``.
        exclude: Sparse ``(n_users, n_items)`` matrix of items not to
            recommend per user (e.g. the items already seen), or ``None``.
        k: List length, ``1 <= k <= n_items``.
        batch_size: Users scored per batch (``None``: automatic).

    Returns:
        ``(items, scores)``: int64 ``(B, k)`` item indices, best first, and
        their float64 scores.

    Raises:
        ValueError: On a bad ``k`` or out-of-range users.
    """
    users = as_index_array(users, "users")
    n_items = int(scorer.n_items)
    k = check_list_length(k, n_items)
    if exclude is not None:
        exclude = check_exclude(exclude, 0, n_items)
        check_range(users, exclude.shape[0], "users")
    items_out = np.empty((users.size, k), dtype=np.int64)
    scores_out = np.empty((users.size, k), dtype=np.float64)
    no_entries = np.zeros(0, dtype=np.int64)
    for part in batches(users.size, resolve_batch_size(batch_size, n_items)):
        batch_users = users[part]
        scores = check_scores(scorer.score(batch_users), (batch_users.size, n_items))
        if exclude is None:
            rows, cols = no_entries, no_entries
        else:
            rows, cols = excluded_entries(exclude, batch_users)
        items_out[part], scores_out[part] = top_of_batch(scores, rows, cols, k)
    return items_out, scores_out
