"""The cold-item protocol: new products held out of training, metrics by group.

A seeded share of the catalogue (10 % by default) plays "products added this
morning": every one of their training and validation interactions is removed,
so no model learns anything about them from interactions. The test rows are
left as they are. A test user whose held-out item is a new item belongs to the
**cold** group, every other test user to the **warm** group, and full-ranking
metrics are reported for each group separately.

Items are still ranked among the whole catalogue, and each user's excluded items
are the items of their whole train and validation history, including the
removed interactions with new items: the user has bought them, so they are not
candidates (removing the interactions hides them from the models, not from the
protocol).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from ncf_recommender.constants import ITEM_IDX
from ncf_recommender.evaluation.metrics import (
    DEFAULT_KS,
    expected_ndcg,
    metrics_from_counts,
)

#: Stream of the new-item draw (kept apart from the other seeded draws).
_NEW_ITEMS_STREAM = 0xC01D


class ColdSplit(NamedTuple):
    """A split with new items held out of training and validation.

    Attributes:
        train: Training interactions without any new item.
        val: Validation interactions without any new item.
        test: Test interactions, unchanged.
        new_items: Sorted ``item_idx`` of the new items.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    new_items: np.ndarray


def draw_new_items(n_items: int, share: float, seed: int) -> np.ndarray:
    """The seeded set of new items.

    Args:
        n_items: Catalogue size.
        share: Fraction of the catalogue held out, in ``(0, 1)``.
        seed: Seed of the draw.

    Returns:
        Sorted int64 ``item_idx`` of ``round(share * n_items)`` items (at least one).

    Raises:
        ValueError: If ``share`` is not in ``(0, 1)`` or ``n_items`` < 2.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"cold_start share must lie in (0, 1), got {share!r}")
    if n_items < 2:
        raise ValueError(f"n_items must be at least 2, got {n_items}")
    count = min(max(1, round(share * n_items)), n_items - 1)
    rng = np.random.default_rng([seed, _NEW_ITEMS_STREAM])
    return np.sort(rng.choice(n_items, size=count, replace=False)).astype(np.int64)


def hold_out_new_items(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    *,
    n_items: int,
    share: float = 0.1,
    seed: int = 0,
) -> ColdSplit:
    """Remove the new items' interactions from training and validation.

    Args:
        train: Training interactions (``item_idx`` column).
        val: Validation interactions.
        test: Test interactions.
        n_items: Catalogue size.
        share: Fraction of items that are new.
        seed: Seed of the draw.

    Returns:
        The :class:`ColdSplit`.
    """
    new_items = draw_new_items(n_items, share, seed)

    def warm(frame: pd.DataFrame) -> pd.DataFrame:
        keep = ~np.isin(frame[ITEM_IDX].to_numpy(), new_items)
        return frame.loc[keep].reset_index(drop=True)

    return ColdSplit(warm(train), warm(val), test.reset_index(drop=True), new_items)


def cold_mask(targets: np.ndarray, new_items: np.ndarray) -> np.ndarray:
    """Which evaluated rows hold a new item as their target."""
    return np.isin(np.asarray(targets), new_items)


def metrics_by_group(
    g: np.ndarray,
    t: np.ndarray,
    cold: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, dict[str, float | int] | None]:
    """Tie-aware metrics of the warm and of the cold test users.

    Args:
        g: Per user, competitors scoring higher than the target.
        t: Per user, competitors tied with it.
        cold: Per user, whether the target is a new item.
        ks: Cut-offs.

    Returns:
        ``{"warm": ..., "cold": ...}``, each as
        :func:`~ncf_recommender.evaluation.metrics.metrics_from_counts` gives it
        with the standard error of NDCG@10 added, or ``None`` for an empty group.
    """
    g, t, cold = np.asarray(g), np.asarray(t), np.asarray(cold, dtype=bool)
    out: dict[str, dict[str, float | int] | None] = {}
    for name, rows in (("warm", ~cold), ("cold", cold)):
        if not rows.any():
            out[name] = None
            continue
        metrics = metrics_from_counts(g[rows], t[rows], ks)
        per_user = expected_ndcg(g[rows], t[rows], 10)
        spread = per_user.std(ddof=1) if per_user.size > 1 else 0.0
        metrics["ndcg@10_se"] = float(spread / np.sqrt(per_user.size))
        out[name] = metrics
    return out
