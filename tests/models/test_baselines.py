"""Baselines: most-popular and implicit ALS (Hu, Koren, Volinsky 2008)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ncf_recommender.evaluation import Scorer, full_ranking_metrics, interaction_matrix
from ncf_recommender.models.baselines import (
    DotProductScorer,
    MostPopularScorer,
    fit_als,
    solve_factors,
)


def test_most_popular_scores_and_ties() -> None:
    scorer = MostPopularScorer(np.array([0, 0, 0, 1, 2]), n_items=4)
    assert isinstance(scorer, Scorer)
    np.testing.assert_array_equal(scorer.score(np.array([0, 5])), [[3, 1, 1, 0]] * 2)
    np.testing.assert_array_equal(
        scorer.score(np.array([0]), np.array([[2, 0]])), [[1, 3]]
    )
    # Target item 1 ties with item 2 below item 0: rank 2 or 3.
    result = full_ranking_metrics(scorer, [0], [1], sp.csr_matrix((1, 4)), ks=(2,))
    assert result["hr@2"] == pytest.approx(0.5)
    assert result["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    with pytest.raises(ValueError, match="train_item_idx"):
        MostPopularScorer(np.array([4]), n_items=4)


def test_dot_product_scorer() -> None:
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    scorer = DotProductScorer(users, items)
    assert scorer.n_items == 7
    full = scorer.score(np.array([4, 1]))
    np.testing.assert_allclose(full, users[[4, 1]] @ items.T)
    chosen = np.array([[6, 0], [2, 2]])
    np.testing.assert_allclose(
        scorer.score(np.array([4, 1]), chosen), np.take_along_axis(full, chosen, axis=1)
    )
    with pytest.raises(ValueError, match="users values"):
        scorer.score(np.array([5]))
    with pytest.raises(ValueError, match="same number of factors"):
        DotProductScorer(users, items[:, :2])


@pytest.mark.parametrize("dense", [True, False])
def test_conjugate_gradient_reaches_the_exact_least_squares_solution(
    dense: bool,
) -> None:
    rng = np.random.default_rng(1)
    k, regularization, alpha = 4, 0.5, 2.0
    matrix = sp.random(6, 9, density=0.4, format="csr", random_state=2)
    matrix.data = rng.integers(1, 4, size=matrix.nnz).astype(float)
    fixed = rng.normal(size=(9, k))
    start = rng.normal(size=(6, k))
    before = start.copy()
    solved = solve_factors(
        matrix,
        fixed,
        start,
        regularization=regularization,
        alpha=alpha,
        cg_steps=k,
        dense=dense,
    )
    cells = matrix.toarray()
    for user in range(6):
        confidence = 1.0 + alpha * cells[user]
        preference = (cells[user] > 0).astype(float)
        lhs = fixed.T @ (confidence[:, None] * fixed) + regularization * np.eye(k)
        rhs = fixed.T @ (confidence * preference)
        expected = np.linalg.solve(lhs, rhs) if preference.any() else np.zeros(k)
        np.testing.assert_allclose(solved[user], expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(start, before)  # input untouched


def planted(seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, int]:
    """Users in 5 taste groups, each consuming items of its own group of 20."""
    rng = np.random.default_rng(seed)
    n_users, n_items, groups = 200, 100, 5
    group = np.repeat(np.arange(groups), n_users // groups)
    picks = (
        np.stack([rng.permutation(20)[:8] for _ in range(n_users)])
        + group[:, None] * 20
    )
    train_items = picks[:, :7]
    targets = picks[:, 7]
    users = np.repeat(np.arange(n_users), 7)
    train = interaction_matrix(users, train_items.ravel(), n_users, n_items)
    return train, np.arange(n_users), targets, n_items


def test_als_beats_popularity_on_planted_structure() -> None:
    train, users, targets, n_items = planted()
    user_factors, item_factors = fit_als(
        train, factors=8, regularization=1.0, alpha=1.0, iterations=10
    )
    als = full_ranking_metrics(
        DotProductScorer(user_factors, item_factors), users, targets, train
    )
    popular = full_ranking_metrics(
        MostPopularScorer(train.indices, n_items), users, targets, train
    )
    # Within its group a user has 13 unseen items, one of them the target.
    assert als["hr@10"] > 0.6
    assert als["ndcg@10"] > popular["ndcg@10"] + 0.15


def test_als_is_deterministic_under_a_seed() -> None:
    train, *_ = planted()
    first = fit_als(train, factors=6, iterations=3, seed=7)
    second = fit_als(train, factors=6, iterations=3, seed=7)
    other = fit_als(train, factors=6, iterations=3, seed=8)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], other[1])
    assert first[0].dtype == np.float32 and first[0].shape == (200, 6)


def test_users_without_interactions_get_zero_factors() -> None:
    train = interaction_matrix(np.array([0, 0, 2]), np.array([1, 2, 0]), 3, 4)
    user_factors, _ = fit_als(train, factors=3, iterations=2)
    np.testing.assert_array_equal(user_factors[1], 0.0)
    assert np.abs(user_factors[0]).sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factors": 0}, "factors"),
        ({"regularization": 0.0}, "regularization"),
        ({"alpha": -1.0}, "alpha"),
        ({"iterations": 1.5}, "iterations"),
    ],
)
def test_fit_als_rejects_bad_hyper_parameters(kwargs: dict, message: str) -> None:
    train = interaction_matrix(np.array([0]), np.array([0]), 1, 1)
    with pytest.raises(ValueError, match=message):
        fit_als(train, **kwargs)
    with pytest.raises(ValueError, match="sparse"):
        fit_als(np.ones((2, 2)))
