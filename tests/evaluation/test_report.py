"""evaluate_scorer: one model's ranking_metrics entry on a tiny split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.evaluation import (
    binary_metrics,
    evaluate_scorer,
    full_ranking_metrics,
    interaction_matrix,
    sampled_metrics,
)
from tests.evaluation import TableScorer

N_USERS, N_ITEMS = 3, 8
TRAIN = pd.DataFrame({"user_idx": [0, 0, 1, 2, 2], "item_idx": [0, 1, 2, 3, 4]})
VAL = pd.DataFrame({"user_idx": [0, 1], "item_idx": [2, 3]})
TEST = pd.DataFrame({"user_idx": [0, 1], "item_idx": [5, 6]})
CANDIDATES = pd.DataFrame({"user_idx": [1, 0, 1, 0], "item_idx": [0, 6, 7, 7]})


def scorer(probabilities: bool = True) -> TableScorer:
    table = np.random.default_rng(3).uniform(size=(N_USERS, N_ITEMS))
    return TableScorer(table, outputs_probabilities=probabilities)


def test_entry_combines_the_protocol_numbers() -> None:
    model = scorer()
    entry = evaluate_scorer(
        model, TRAIN, VAL, TEST, CANDIDATES, n_users=N_USERS, top_n=2
    )
    seen = interaction_matrix(
        np.r_[TRAIN["user_idx"], VAL["user_idx"]],
        np.r_[TRAIN["item_idx"], VAL["item_idx"]],
        N_USERS,
        N_ITEMS,
    )
    full_curve = entry["full"].pop("curve")
    assert entry["full"] == pytest.approx(
        full_ranking_metrics(model, [0, 1], [5, 6], seen)
    )
    candidates = np.array([[6, 7], [0, 7]])
    sampled_curve = entry["sampled"].pop("curve")
    assert entry["sampled"] == pytest.approx(
        sampled_metrics(model, [0, 1], [5, 6], candidates)
    )
    # The per-K curves agree with the metrics at the stored cut-offs.
    for curve, metrics in (
        (full_curve, entry["full"]),
        (sampled_curve, entry["sampled"]),
    ):
        assert len(curve["hr"]) == len(curve["ndcg"]) == 20
        for k in (5, 10, 20):
            assert curve["hr"][k - 1] == pytest.approx(metrics[f"hr@{k}"])
            assert curve["ndcg"][k - 1] == pytest.approx(metrics[f"ndcg@{k}"])
    binary = binary_metrics(model, [0, 1], [5, 6], candidates[:, 0])
    assert entry["accuracy"] == pytest.approx(binary["accuracy"])
    assert entry["log_loss"] == pytest.approx(binary["log_loss"])
    # Top-2 lists over unseen items: user 0 from {3..7}, user 1 from {0,1,4,5,6,7}.
    table = model.table
    expected_lists = []
    for user, seen_items in ((0, {0, 1, 2}), (1, {2, 3})):
        free = [i for i in range(N_ITEMS) if i not in seen_items]
        expected_lists.append(sorted(free, key=lambda i: -table[user, i])[:2])
    distinct = {i for row in expected_lists for i in row}
    assert entry["coverage@2"] == pytest.approx(len(distinct) / N_ITEMS)
    counts = np.bincount(TRAIN["item_idx"], minlength=N_ITEMS)
    info = [
        -np.log2(max(counts[i], 1) / N_USERS) for row in expected_lists for i in row
    ]
    assert entry["novelty@2"] == pytest.approx(np.mean(info))
    assert entry["eval_seconds"] >= 0.0
    json.dumps(entry)


def test_non_probability_scorer_gets_no_binary_numbers() -> None:
    entry = evaluate_scorer(
        scorer(False), TRAIN, VAL, TEST, CANDIDATES, n_users=N_USERS, top_n=3
    )
    assert entry["accuracy"] is None and entry["log_loss"] is None
    assert set(entry["full"]) == {
        "hr@5",
        "ndcg@5",
        "hr@10",
        "ndcg@10",
        "hr@20",
        "ndcg@20",
        "mrr",
        "users",
        "curve",
    }


def test_test_item_already_seen_raises() -> None:
    leaky = pd.DataFrame({"user_idx": [0, 1], "item_idx": [1, 6]})
    with pytest.raises(ValueError, match="target item 1 of user 0"):
        evaluate_scorer(
            scorer(), TRAIN, VAL, leaky, CANDIDATES, n_users=N_USERS, top_n=3
        )


def test_full_ranking_on_a_seeded_user_sample_is_labelled_with_standard_errors():
    rng = np.random.default_rng(5)
    n_users, n_items = 400, 30
    table = rng.uniform(size=(n_users, n_items))
    model = TableScorer(table)
    users = np.arange(n_users)
    train = pd.DataFrame({"user_idx": users, "item_idx": users % 10})
    val = pd.DataFrame({"user_idx": users, "item_idx": 10 + users % 10})
    test = pd.DataFrame({"user_idx": users, "item_idx": 20 + users % 10})
    candidates = pd.DataFrame({"user_idx": users, "item_idx": (users + 1) % 10})
    entry = evaluate_scorer(
        model,
        train,
        val,
        test,
        candidates,
        n_users,
        full_ranking_users=50,
        sample_seed=3,
    )
    assert entry["user_sample"] == {"users": 50, "seed": 3}
    assert entry["full"]["user_sample"] == entry["user_sample"]
    assert entry["full"]["users"] == 50 and entry["sampled"]["users"] == n_users
    keep = np.sort(np.random.default_rng(3).choice(n_users, 50, replace=False))
    seen = interaction_matrix(
        np.r_[train["user_idx"], val["user_idx"]],
        np.r_[train["item_idx"], val["item_idx"]],
        n_users,
        n_items,
    )
    expected = full_ranking_metrics(
        model, keep, test["item_idx"].to_numpy()[keep], seen
    )
    assert entry["full"]["ndcg@10"] == pytest.approx(expected["ndcg@10"])
    se = entry["full"]["standard_error"]
    assert set(se) == {"hr@5", "ndcg@5", "hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr"}
    assert 0.0 < se["hr@10"] < 0.1
    # Same seed, same sample, same numbers; no sample when it would hold everyone.
    again = evaluate_scorer(
        model,
        train,
        val,
        test,
        candidates,
        n_users,
        full_ranking_users=50,
        sample_seed=3,
    )
    assert again["full"]["ndcg@10"] == entry["full"]["ndcg@10"]
    whole = evaluate_scorer(
        model, train, val, test, candidates, n_users, full_ranking_users=n_users
    )
    assert "user_sample" not in whole and "standard_error" not in whole["full"]


class RowScorer(TableScorer):
    """Declares that its candidate scores are gathered from its full rows."""

    candidate_scores_from_rows = True


def test_sampled_ranking_read_from_full_rows_is_the_same_entry() -> None:
    """A row-gathering scorer is scored once per batch; the entry is unchanged."""
    rng = np.random.default_rng(5)
    n_users, n_items = 40, 300
    table = rng.integers(0, 9, size=(n_users, n_items)).astype(float)  # ties
    train = pd.DataFrame(
        {"user_idx": np.repeat(np.arange(n_users), 3), "item_idx": np.arange(120)}
    )
    val = pd.DataFrame({"user_idx": np.arange(n_users), "item_idx": 150})
    test = pd.DataFrame({"user_idx": np.arange(n_users), "item_idx": 151})
    candidates = pd.DataFrame(
        {
            "user_idx": np.repeat(np.arange(n_users), 20),
            "item_idx": np.tile(np.arange(200, 220), n_users),
        }
    )
    args = (train, val, test, candidates)
    plain = TableScorer(table, outputs_probabilities=False)
    rows = RowScorer(table, outputs_probabilities=False)
    expected = evaluate_scorer(plain, *args, n_users=n_users, batch_size=7)
    got = evaluate_scorer(rows, *args, n_users=n_users, batch_size=7)
    for entry in (expected, got):
        entry.pop("eval_seconds")
    assert got == expected
    assert rows.calls < plain.calls  # no second pass for the sampled ranking
    with pytest.raises(ValueError, match="among its own negative candidates"):
        bad = candidates.assign(item_idx=np.tile(np.arange(140, 160), n_users))
        evaluate_scorer(rows, train, val, test, bad, n_users=n_users)


@pytest.mark.parametrize("shuffle_val", [False, True])
def test_validation_block_equals_a_separate_validation_ranking(shuffle_val) -> None:
    """Shared score rows (same users, same order) or a second pass: same numbers."""
    rng = np.random.default_rng(7)
    n_users, n_items = 30, 200
    table = rng.integers(0, 7, size=(n_users, n_items)).astype(float)  # ties
    train = pd.DataFrame(
        {"user_idx": np.repeat(np.arange(n_users), 4), "item_idx": np.arange(120)}
    )
    val_users = np.arange(n_users)
    if shuffle_val:
        val_users = rng.permutation(n_users)
    val = pd.DataFrame({"user_idx": val_users, "item_idx": 150 + val_users % 3})
    test = pd.DataFrame({"user_idx": np.arange(n_users), "item_idx": 160})
    candidates = pd.DataFrame(
        {
            "user_idx": np.repeat(np.arange(n_users), 5),
            "item_idx": np.tile(np.arange(190, 195), n_users),
        }
    )
    plain = TableScorer(table, outputs_probabilities=False)
    shared = TableScorer(table, outputs_probabilities=False)
    args = (train, val, test, candidates)
    without = evaluate_scorer(plain, *args, n_users=n_users, batch_size=7)
    entry = evaluate_scorer(
        shared, *args, n_users=n_users, batch_size=7, validation=True
    )
    # Shared rows: no scoring beyond the test pass and the sampled ranking.
    assert (shared.calls == plain.calls) is (not shuffle_val)
    exclude = interaction_matrix(train["user_idx"], train["item_idx"], n_users, n_items)
    assert entry.pop("validation") == full_ranking_metrics(
        plain, val["user_idx"], val["item_idx"], exclude, batch_size=7
    )
    for result in (entry, without):
        result.pop("eval_seconds")
    assert entry == without  # the test figures are unchanged
