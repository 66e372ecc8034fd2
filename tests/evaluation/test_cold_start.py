"""The cold-item protocol: the held-out items, the groups and their metrics by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.evaluation.cold_start import (
    cold_mask,
    draw_new_items,
    hold_out_new_items,
    metrics_by_group,
)


def _frame(pairs):
    return pd.DataFrame(pairs, columns=["user_idx", "item_idx"])


def test_new_items_are_seeded_and_sized():
    a = draw_new_items(1000, 0.1, seed=3)
    assert a.size == 100 and np.all(np.diff(a) > 0)
    assert np.array_equal(a, draw_new_items(1000, 0.1, seed=3))
    assert not np.array_equal(a, draw_new_items(1000, 0.1, seed=4))
    with pytest.raises(ValueError, match="share must lie in"):
        draw_new_items(10, 1.0, seed=0)


def test_new_items_leave_training_and_validation_but_not_test():
    train = _frame([(u, i) for u in range(5) for i in range(20)])
    val = _frame([(u, 20 + u) for u in range(5)])
    test = _frame([(u, 25 + u) for u in range(5)])
    split = hold_out_new_items(train, val, test, n_items=30, share=0.2, seed=1)
    new = set(split.new_items.tolist())
    assert len(new) == 6
    assert not new & set(split.train["item_idx"]) and not new & set(
        split.val["item_idx"]
    )
    assert len(split.train) == 5 * len(set(range(20)) - new)
    pd.testing.assert_frame_equal(split.test, test)


def test_group_metrics_by_hand():
    # four test users; the last two have a new item as their target
    targets = np.array([1, 2, 7, 8])
    cold = cold_mask(targets, np.array([7, 8, 9]))
    assert cold.tolist() == [False, False, True, True]
    g = np.array([0, 3, 0, 20])  # competitors above the target
    t = np.array([0, 0, 1, 0])  # competitors tied with it
    out = metrics_by_group(g, t, cold)
    # warm: ranks 1 and 4 -> HR@10 = 1; NDCG@10 = (1 + 1/log2(5)) / 2
    assert out["warm"]["hr@10"] == 1.0
    assert out["warm"]["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / 2)
    # cold: rank 1 or 2 with equal chance (a tie), and rank 21 (a miss)
    tied = (1 + 1 / math.log2(3)) / 2
    assert out["cold"]["hr@10"] == 0.5
    assert out["cold"]["ndcg@10"] == pytest.approx(tied / 2)
    assert out["cold"]["ndcg@10_se"] == pytest.approx(
        np.std([tied, 0.0], ddof=1) / math.sqrt(2)
    )
    assert out["cold"]["users"] == 2


def test_an_empty_group_is_none():
    out = metrics_by_group(np.array([0]), np.array([0]), np.array([False]))
    assert out["cold"] is None and out["warm"]["hr@10"] == 1.0
