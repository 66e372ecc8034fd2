"""Beyond-accuracy measures of top-K lists: catalogue coverage and novelty.

Both take the ``(users, K)`` item matrix returned by
:func:`ncf_recommender.evaluation.ranking.top_k`; entries of ``-1`` (a user
with fewer than K recommendable items) are ignored.
"""

from __future__ import annotations

import numpy as np


def _recommended(topk_items: np.ndarray, n_items: int) -> np.ndarray:
    """The valid (non -1) recommended item indices, flattened."""
    items = np.asarray(topk_items)
    if items.ndim != 2:
        raise ValueError(f"topk_items must be 2-D (users, K), got shape {items.shape}")
    if items.size and not np.issubdtype(items.dtype, np.integer):
        raise ValueError(
            f"topk_items must hold integer indices, got dtype {items.dtype}"
        )
    items = items[items >= 0].astype(np.int64)
    if items.size and items.max() >= n_items:
        raise ValueError(
            f"topk_items holds item {int(items.max())} >= n_items {n_items}"
        )
    return items


def catalogue_coverage(topk_items: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one top-K list.

    Args:
        topk_items: ``(users, K)`` recommended item indices (``-1`` ignored).
        n_items: Catalogue size.

    Returns:
        Distinct recommended items divided by ``n_items``, in [0, 1].

    Raises:
        ValueError: On a bad shape or an item outside the catalogue.
    """
    if n_items < 1:
        raise ValueError(f"n_items must be positive, got {n_items}")
    items = _recommended(topk_items, n_items)
    return float(np.unique(items).size / n_items)


def novelty(topk_items: np.ndarray, item_counts: np.ndarray, n_users: int) -> float:
    """Mean self-information of recommended items (Zhou et al. 2010).

    An item's popularity share is the fraction of users who interacted with it
    in training, ``count_i / n_users``; its self-information is
    ``-log2(share)`` bits. Novelty is the mean over every recommended slot
    (every user, every position). Items never seen in training count as seen
    by one user, so the value stays finite (at most ``log2(n_users)``).

    Args:
        topk_items: ``(users, K)`` recommended item indices (``-1`` ignored).
        item_counts: Training interactions (distinct users) per item, length
            ``n_items``.
        n_users: Number of users the shares are taken over.

    Returns:
        Mean self-information in bits; higher means less popular items.

    Raises:
        ValueError: On a bad shape, negative counts, counts above ``n_users``,
            or no recommended item at all.
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    if counts.ndim != 1:
        raise ValueError(f"item_counts must be 1-D, got shape {counts.shape}")
    if n_users < 1:
        raise ValueError(f"n_users must be positive, got {n_users}")
    if counts.size and (counts.min() < 0 or counts.max() > n_users):
        raise ValueError(f"item_counts must lie in [0, n_users={n_users}]")
    items = _recommended(topk_items, counts.size)
    if items.size == 0:
        raise ValueError("novelty needs at least one recommended item")
    share = np.maximum(counts[items], 1.0) / n_users
    return float(np.mean(-np.log2(share)))
