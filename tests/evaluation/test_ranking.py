"""Full ranking, sampled ranking and top-K on hand-built score tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from ncf_recommender.evaluation import (
    Scorer,
    full_rank_counts,
    full_ranking_metrics,
    full_ranking_pass,
    sampled_metrics,
    sampled_rank_counts,
    top_k,
)
from tests.evaluation import TableScorer

#: User 0: target item 2 (0.5) has item 0 (0.9, excluded) and item 5 (0.7)
#: above it, items 1 and 3 tied with it, item 4 below.
TABLE = np.array(
    [
        [0.9, 0.5, 0.5, 0.5, 0.1, 0.7],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    ]
)


def exclusion(pairs: list[tuple[int, int]], shape: tuple[int, int]) -> sp.csr_matrix:
    users = [p[0] for p in pairs]
    items = [p[1] for p in pairs]
    return sp.csr_matrix((np.ones(len(pairs)), (users, items)), shape=shape)


def test_table_scorer_satisfies_protocol() -> None:
    assert isinstance(TableScorer(TABLE), Scorer)


def test_full_rank_counts_with_ties_and_masking() -> None:
    scorer = TableScorer(TABLE)
    exclude = exclusion([(0, 0), (1, 5)], TABLE.shape)
    g, t = full_rank_counts(scorer, [0, 1], [2, 4], exclude)
    assert list(g) == [1, 0]  # user 0: only item 5; user 1: item 5 masked
    assert list(t) == [2, 0]
    unmasked_g, _ = full_rank_counts(scorer, [0, 1], [2, 4], sp.csr_matrix(TABLE.shape))
    assert list(unmasked_g) == [2, 1]


def test_masked_item_tied_with_target_is_not_counted() -> None:
    scorer = TableScorer(TABLE)
    g, t = full_rank_counts(scorer, [0], [2], exclusion([(0, 1)], TABLE.shape))
    assert (g[0], t[0]) == (2, 1)


def test_full_ranking_metrics_exact_fractions() -> None:
    scorer = TableScorer(TABLE[:1])
    result = full_ranking_metrics(
        scorer, [0], [2], exclusion([(0, 0)], (1, 6)), ks=(1, 2, 3, 10)
    )
    assert result["hr@1"] == 0.0
    assert result["hr@2"] == pytest.approx(1 / 3)
    assert result["hr@3"] == pytest.approx(2 / 3)
    assert result["hr@10"] == 1.0
    assert result["ndcg@3"] == pytest.approx((1 / math.log2(3) + 1 / 2) / 3)
    assert result["mrr"] == pytest.approx(13 / 36)
    assert result["users"] == 1


def test_constant_scorer_gets_random_value_after_masking() -> None:
    scorer = TableScorer(np.full((2, 10), 0.3))
    exclude = exclusion([(0, 0), (0, 1), (1, 8), (1, 9)], (2, 10))
    result = full_ranking_metrics(scorer, [0, 1], [5, 0], exclude, ks=(5, 10))
    # 8 remaining candidates each, all tied.
    assert result["hr@5"] == pytest.approx(5 / 8)
    assert result["hr@10"] == 1.0
    assert result["mrr"] == pytest.approx(sum(1 / r for r in range(1, 9)) / 8)
    dcg5 = sum(1 / math.log2(r + 1) for r in range(1, 6))
    assert result["ndcg@5"] == pytest.approx(dcg5 / 8)


def test_target_in_exclude_raises() -> None:
    with pytest.raises(ValueError, match="target item 2 of user 0"):
        full_rank_counts(TableScorer(TABLE), [0], [2], exclusion([(0, 2)], TABLE.shape))


def test_bad_inputs_raise() -> None:
    scorer = TableScorer(TABLE)
    empty = sp.csr_matrix(TABLE.shape)
    with pytest.raises(ValueError, match="targets index 6"):
        full_rank_counts(scorer, [0], [6], empty)
    with pytest.raises(ValueError, match="users index 2"):
        full_rank_counts(scorer, [2], [0], empty)
    with pytest.raises(ValueError, match="item columns"):
        full_rank_counts(scorer, [0], [0], sp.csr_matrix((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        full_rank_counts(
            TableScorer(np.array([[0.1, np.nan, 0.3]])), [0], [0], sp.csr_matrix((1, 3))
        )
    with pytest.raises(ValueError, match="NaN"):
        full_rank_counts(
            TableScorer(np.full((1, 3), np.nan)), [0], [0], sp.csr_matrix((1, 3))
        )


def test_batch_size_and_duplicate_entries_do_not_change_counts() -> None:
    rng = np.random.default_rng(0)
    table = rng.integers(0, 4, size=(7, 30)).astype(float)  # many ties
    scorer = TableScorer(table)
    users = np.arange(7)
    targets = np.arange(7) * 4
    pairs = [(u, (t + 1) % 30) for u, t in zip(users, targets, strict=True)]
    exclude = exclusion(pairs, table.shape)
    # Raw CSR storing every excluded item twice in its row.
    duplicated = sp.csr_matrix(
        (
            np.ones(2 * len(pairs)),
            np.repeat([p[1] for p in pairs], 2),
            np.arange(0, 2 * len(pairs) + 1, 2),
        ),
        shape=table.shape,
    )
    assert duplicated.nnz == 2 * len(pairs)
    expected = full_rank_counts(scorer, users, targets, exclude, batch_size=100)
    for batch_size in (1, 3):
        got = full_rank_counts(scorer, users, targets, exclude, batch_size=batch_size)
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        full_rank_counts(scorer, users, targets, duplicated), expected
    )


def test_sampled_equals_full_when_candidates_are_all_other_items() -> None:
    rng = np.random.default_rng(1)
    n_users, n_items = 12, 100
    table = rng.integers(0, 20, size=(n_users, n_items)).astype(float)
    scorer = TableScorer(table)
    users = np.arange(n_users)
    targets = rng.integers(0, n_items, size=n_users)
    others = np.array(
        [rng.permutation(np.delete(np.arange(n_items), t)) for t in targets]
    )
    full = full_ranking_metrics(
        scorer, users, targets, sp.csr_matrix((n_users, n_items))
    )
    sampled = sampled_metrics(scorer, users, targets, others)
    assert full == pytest.approx(sampled)
    # With masking: drop each user's first 9 "other" items and keep 90 candidates.
    exclude = exclusion(
        [(u, i) for u in users for i in others[u, :9]], (n_users, n_items)
    )
    full_masked = full_ranking_metrics(scorer, users, targets, exclude)
    assert full_masked == pytest.approx(
        sampled_metrics(scorer, users, targets, others[:, 9:])
    )


def test_sampled_k_larger_than_candidates_and_errors() -> None:
    scorer = TableScorer(TABLE)
    result = sampled_metrics(scorer, [0], [2], np.array([[1, 3, 5]]), ks=(20,))
    assert result["hr@20"] == 1.0
    g, t = sampled_rank_counts(scorer, [0], [2], np.array([[1, 3, 5]]))
    assert (g[0], t[0]) == (1, 2)
    with pytest.raises(ValueError, match="among its own negative candidates"):
        sampled_rank_counts(scorer, [0], [2], np.array([[1, 2]]))
    with pytest.raises(ValueError, match="same rows"):
        sampled_rank_counts(scorer, [0, 1], [2, 3], np.array([[1, 4]]))


def test_top_k_order_exclusion_and_ties() -> None:
    scorer = TableScorer(TABLE)
    items, scores = top_k(scorer, [0, 1], exclusion([(0, 0), (1, 5)], TABLE.shape), k=4)
    # User 0: 0.7 (item 5), then 0.5 tied for items 1, 2, 3 (lower index first).
    np.testing.assert_array_equal(items, [[5, 1, 2, 3], [4, 3, 2, 1]])
    np.testing.assert_allclose(scores, [[0.7, 0.5, 0.5, 0.5], [0.5, 0.4, 0.3, 0.2]])
    unmasked, _ = top_k(scorer, [1], None, k=1)
    assert unmasked.tolist() == [[5]]


def test_top_k_fills_with_minus_one_when_too_few_items() -> None:
    scorer = TableScorer(TABLE[:1, :3])
    items, scores = top_k(scorer, [0], exclusion([(0, 0), (0, 2)], (1, 3)), k=3)
    assert items.tolist() == [[1, -1, -1]]
    assert np.isneginf(scores[0, 1:]).all()
    with pytest.raises(ValueError, match="k must be"):
        top_k(scorer, [0], None, k=4)


def test_full_ranking_pass_lists_match_top_k() -> None:
    rng = np.random.default_rng(2)
    table = rng.normal(size=(9, 40))
    scorer = TableScorer(table)
    exclude = exclusion([(u, (u * 3) % 40) for u in range(9)], table.shape)
    targets = (np.arange(9) * 3 + 1) % 40
    result = full_ranking_pass(
        scorer, np.arange(9), targets, exclude, top_n=5, batch_size=4
    )
    items, scores = top_k(scorer, np.arange(9), exclude, 5)
    np.testing.assert_array_equal(result.top_items, items)
    np.testing.assert_array_equal(result.top_scores, scores)
    np.testing.assert_array_equal(
        result.g, full_rank_counts(scorer, np.arange(9), targets, exclude)[0]
    )


class ReadOnlyScorer:
    """Returns a read-only broadcast view, as a cached-score model might."""

    n_items = 4

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        return np.broadcast_to(np.array([0.1, 0.4, 0.3, 0.2]), (len(users), 4))


def test_top_k_does_not_write_into_scorer_output() -> None:
    items, _ = top_k(ReadOnlyScorer(), [0, 1], exclusion([(0, 1)], (2, 4)), k=2)
    assert items.tolist() == [[2, 3], [1, 2]]


def test_sampled_ranking_batches_are_bounded_as_for_full_rows(monkeypatch):
    from ncf_recommender.evaluation import scoring  # noqa: PLC0415
    from ncf_recommender.evaluation.ranking import sampled_rank_counts  # noqa: PLC0415

    monkeypatch.setattr(scoring, "DEFAULT_SCORES_PER_BATCH", 1000)
    rng = np.random.default_rng(0)
    n_users, n_items = 300, 100
    seen_rows = []

    class Recording:
        def __init__(self) -> None:
            self.n_items = n_items
            self.table = rng.uniform(size=(n_users, n_items))

        def score(self, users, items=None):
            seen_rows.append(len(users))
            rows = self.table[users]
            return rows if items is None else np.take_along_axis(rows, items, axis=1)

    users = np.arange(n_users)
    targets = np.zeros(n_users, dtype=np.int64)
    candidates = np.tile(np.arange(1, 6), (n_users, 1))
    sampled_rank_counts(Recording(), users, targets, candidates)
    # 1,000 scores per batch / 100 items: 10 users per call, not 1,000 / 6 = 166.
    assert max(seen_rows) == 10


def brute_force_pass(
    table: np.ndarray, targets: np.ndarray, exclude: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts and top-K lists by direct definition, one user at a time."""
    g, t, items, scores = [], [], [], []
    for user, target in enumerate(targets):
        row = table[user].copy()
        row[exclude[user].indices] = np.nan  # removed: neither competitor nor listed
        others = np.delete(row, target)
        others = others[~np.isnan(others)]
        g.append(int((others > row[target]).sum()))
        t.append(int((others == row[target]).sum()))
        listed = np.where(np.isnan(row), -np.inf, row)
        order = np.lexsort((np.arange(row.size), -listed))[:k]
        items.append(np.where(np.isneginf(listed[order]), -1, order))
        scores.append(listed[order])
    return np.array(g), np.array(t), np.array(items), np.array(scores)


@pytest.mark.parametrize("n_items", [7, 40, 1000, 5003])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_full_ranking_pass_matches_definition_with_ties(n_items: int, k: int) -> None:
    """Counts and lists equal a per-user brute force, ties at the K-th score included."""
    rng = np.random.default_rng(n_items * 31 + k)
    n_users = 23
    k = min(k, n_items)
    # Few distinct values (ties everywhere), some -inf, one all-tied row.
    table = rng.integers(0, 6, size=(n_users, n_items)).astype(np.float32)
    table[rng.random(table.shape) < 0.05] = -np.inf
    table[3] = 1.0
    targets = rng.integers(0, n_items, size=n_users)
    table[0, targets[0]] = -np.inf  # a target tied with -inf items
    pairs = {
        (u, int(i))
        for u in range(n_users)
        for i in rng.integers(0, n_items, size=n_items // 3)
        if i != targets[u]
    }
    # User 5 keeps only its target and k - 1 other items: the list's tail is -1.
    pairs |= {(5, i) for i in range(n_items) if i != targets[5]}
    pairs -= {(5, (int(targets[5]) + j) % n_items) for j in range(1, k)}
    exclude = exclusion(sorted(pairs), table.shape)
    expected = brute_force_pass(table, targets, exclude, k)
    for batch_size in (None, 4):
        result = full_ranking_pass(
            TableScorer(table),
            np.arange(n_users),
            targets,
            exclude,
            top_n=k,
            batch_size=batch_size,
        )
        np.testing.assert_array_equal(result.g, expected[0])
        np.testing.assert_array_equal(result.t, expected[1])
        np.testing.assert_array_equal(result.top_items, expected[2])
        np.testing.assert_array_equal(result.top_scores, expected[3])
