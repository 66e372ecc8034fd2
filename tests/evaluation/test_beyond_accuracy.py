"""Catalogue coverage and novelty on tiny hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from ncf_recommender.evaluation import catalogue_coverage, novelty


def test_coverage_counts_distinct_items_and_ignores_padding() -> None:
    lists = np.array([[0, 1], [1, 2], [2, -1]])
    assert catalogue_coverage(lists, 10) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="n_items 2"):
        catalogue_coverage(lists, 2)


def test_novelty_is_mean_self_information() -> None:
    counts = np.array([4, 2, 1, 0])  # shares 1, 1/2, 1/4 and (clamped) 1/4 of 4 users
    lists = np.array([[0, 1], [2, 3]])
    assert novelty(lists, counts, n_users=4) == pytest.approx((0 + 1 + 2 + 2) / 4)
    assert novelty(np.array([[1, -1]]), counts, n_users=4) == pytest.approx(1.0)


def test_novelty_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="item_counts must lie"):
        novelty(np.array([[0]]), np.array([5]), n_users=4)
    with pytest.raises(ValueError, match="at least one"):
        novelty(np.array([[-1]]), np.array([1]), n_users=4)
    with pytest.raises(ValueError, match="2-D"):
        novelty(np.array([0]), np.array([1]), n_users=4)
