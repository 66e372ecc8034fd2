"""Tie-aware metrics against hand-computed values and brute-force enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ncf_recommender.evaluation.metrics import (
    expected_hit_rate,
    expected_ndcg,
    expected_reciprocal_rank,
    metrics_curve,
    metrics_from_counts,
)


def one(value: float) -> np.ndarray:
    return np.array([value])


def test_target_tied_with_two_below_one_higher() -> None:
    # g = 1 higher, t = 2 equal: rank uniform on {2, 3, 4}.
    g, t = one(1), one(2)
    assert expected_hit_rate(g, t, 1)[0] == 0.0
    assert expected_hit_rate(g, t, 2)[0] == pytest.approx(1 / 3)
    assert expected_hit_rate(g, t, 3)[0] == pytest.approx(2 / 3)
    assert expected_hit_rate(g, t, 4)[0] == 1.0
    assert expected_ndcg(g, t, 1)[0] == 0.0
    assert expected_ndcg(g, t, 3)[0] == pytest.approx((1 / math.log2(3) + 1 / 2) / 3)
    assert expected_ndcg(g, t, 10)[0] == pytest.approx(
        (1 / math.log2(3) + 1 / 2 + 1 / math.log2(5)) / 3
    )
    assert expected_reciprocal_rank(g, t)[0] == pytest.approx(13 / 36)


def test_untied_ranks() -> None:
    g, t = np.array([0, 4, 4]), np.array([0, 0, 0])
    assert list(expected_hit_rate(g, t, 5)) == [1.0, 1.0, 1.0]
    assert list(expected_hit_rate(g, t, 4)) == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(
        expected_ndcg(g, t, 5), [1.0, 1 / math.log2(6), 1 / math.log2(6)]
    )
    np.testing.assert_allclose(expected_reciprocal_rank(g, t), [1.0, 0.2, 0.2])


def test_k_larger_than_candidate_list() -> None:
    # 3 candidates all tied: any K >= 3 is a certain hit.
    g, t = one(0), one(2)
    assert expected_hit_rate(g, t, 20)[0] == 1.0
    assert expected_ndcg(g, t, 20)[0] == pytest.approx(
        (1 + 1 / math.log2(3) + 1 / 2) / 3
    )


def test_constant_scores_give_random_ranking_value() -> None:
    n = 50  # candidates including the target, all tied
    g, t = one(0), one(n - 1)
    assert expected_hit_rate(g, t, 10)[0] == pytest.approx(10 / n)
    harmonic = sum(1 / r for r in range(1, n + 1))
    assert expected_reciprocal_rank(g, t)[0] == pytest.approx(harmonic / n)
    dcg10 = sum(1 / math.log2(r + 1) for r in range(1, 11))
    assert expected_ndcg(g, t, 10)[0] == pytest.approx(dcg10 / n)


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=20
    ),
    st.integers(1, 30),
)
def test_closed_form_matches_enumeration(pairs: list[tuple[int, int]], k: int) -> None:
    g = np.array([p[0] for p in pairs])
    t = np.array([p[1] for p in pairs])
    hr, ndcg, rr = [], [], []
    for gi, ti in pairs:
        ranks = np.arange(gi + 1, gi + ti + 2)
        hr.append(np.mean(ranks <= k))
        ndcg.append(np.mean(np.where(ranks <= k, 1 / np.log2(ranks + 1), 0.0)))
        rr.append(np.mean(1 / ranks))
    np.testing.assert_allclose(expected_hit_rate(g, t, k), hr, rtol=1e-12)
    np.testing.assert_allclose(expected_ndcg(g, t, k), ndcg, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(expected_reciprocal_rank(g, t), rr, rtol=1e-12)


def test_metrics_from_counts_means_and_keys() -> None:
    g, t = np.array([0, 1]), np.array([0, 2])
    result = metrics_from_counts(g, t, ks=(1, 3))
    assert set(result) == {"hr@1", "ndcg@1", "hr@3", "ndcg@3", "mrr", "users"}
    assert result["hr@1"] == pytest.approx(0.5)
    assert result["hr@3"] == pytest.approx((1 + 2 / 3) / 2)
    assert result["mrr"] == pytest.approx((1 + 13 / 36) / 2)
    assert result["users"] == 2
    assert all(type(v) in (float, int) for v in result.values())


def test_metrics_curve_matches_per_k_values() -> None:
    g, t = np.array([0, 1, 7, 30]), np.array([3, 2, 0, 5])
    curve = metrics_curve(g, t, max_k=12)
    assert list(curve["k"]) == list(range(1, 13))
    for k in (1, 4, 12):
        assert curve["hr"][k - 1] == pytest.approx(expected_hit_rate(g, t, k).mean())
        assert curve["ndcg"][k - 1] == pytest.approx(expected_ndcg(g, t, k).mean())
    assert np.all(np.diff(curve["hr"]) >= 0)


@pytest.mark.parametrize(
    ("g", "t", "message"),
    [
        (np.array([-1]), np.array([0]), "non-negative"),
        (np.array([1, 2]), np.array([0]), "equal length"),
    ],
)
def test_bad_counts_raise(g: np.ndarray, t: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expected_hit_rate(g, t, 10)


def test_bad_k_and_empty_raise() -> None:
    with pytest.raises(ValueError, match="cut-off K"):
        expected_ndcg(one(0), one(0), 0)
    with pytest.raises(ValueError, match="zero users"):
        metrics_from_counts(np.array([], dtype=int), np.array([], dtype=int))
