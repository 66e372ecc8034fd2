"""Nodes of the ``feature_engineering`` pipeline on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ncf_recommender.pipelines.feature_engineering.nodes import (
    sample_test_candidates,
    build_negative_sampler,
    sample_training_examples,
    sample_val_candidates,
)
from ncf_recommender.pipelines.feature_engineering.params import NegativeSamplingParams

N_ITEMS = 130


def _examples(train, mapping, params):
    """The sampler feature_engineering catalogues, then its training_examples preview."""
    return sample_training_examples(
        build_negative_sampler(train, mapping, params), params
    )


def _frame(users, items) -> pd.DataFrame:
    n = len(users)
    return pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in items],
            "user_idx": np.asarray(users, dtype=np.int32),
            "item_idx": np.asarray(items, dtype=np.int32),
            "rating": np.full(n, 5.0),
            "timestamp": np.arange(n, dtype=np.int64),
        }
    )


@pytest.fixture
def splits() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    users, items = [], []
    for user in range(12):  # users 0-9 have held-out rows, 10-11 are train-only
        chosen = rng.choice(N_ITEMS, 3 + user, replace=False)
        users += [user] * len(chosen)
        items += chosen.tolist()
    frame = _frame(users, items)
    last = frame.groupby("user_idx").cumcount(ascending=False)
    held = frame["user_idx"] < 10
    train = frame[(last >= 2) | ~held].reset_index(drop=True)
    val = frame[(last == 1) & held].reset_index(drop=True)
    test = frame[(last == 0) & held].reset_index(drop=True)
    mapping = pd.DataFrame(
        {"item_id": [f"i{i}" for i in range(N_ITEMS)], "item_idx": np.arange(N_ITEMS)}
    )
    return train, val, test, mapping


def _pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user_idx"].tolist(), frame["item_idx"].tolist(), strict=True))


def test_training_examples_hold_positives_then_exact_negatives(splits):
    train, _, _, mapping = splits
    before = train.copy()
    params = NegativeSamplingParams(negatives_per_positive=3, seed=5)
    examples = _examples(train, mapping, params)
    pd.testing.assert_frame_equal(train, before)  # input not mutated
    assert list(examples.columns) == ["user_idx", "item_idx", "label"]
    assert examples.dtypes.tolist() == [np.int32, np.int32, np.float32]
    assert len(examples) == 4 * len(train)
    positives = examples.iloc[: len(train)]
    negatives = examples.iloc[len(train) :]
    assert (positives["label"] == 1).all() and (negatives["label"] == 0).all()
    np.testing.assert_array_equal(positives["item_idx"], train["item_idx"])
    np.testing.assert_array_equal(
        negatives["user_idx"], np.repeat(train["user_idx"], 3)
    )
    assert not _pairs(negatives) & _pairs(train)
    rows = np.sort(negatives["item_idx"].to_numpy().reshape(-1, 3), axis=1)
    assert not (rows[:, 1:] == rows[:, :-1]).any()
    again = _examples(train, mapping, params)
    pd.testing.assert_frame_equal(examples, again)


def test_held_out_items_stay_drawable_for_training():
    # User 0 holds items 0-1 in train and item 2 in validation: its only negative is 2.
    train = _frame([0, 0, 1], [0, 1, 0])
    mapping = pd.DataFrame({"item_id": ["a", "b", "c"], "item_idx": [0, 1, 2]})
    params = {"negatives_per_positive": 1, "seed": 0}  # a raw dict is validated too
    examples = _examples(train, mapping, params)
    negatives = examples[examples["label"] == 0]
    np.testing.assert_array_equal(
        negatives.loc[negatives["user_idx"] == 0, "item_idx"], 2
    )


def test_popularity_strategy_runs_through_the_node(splits):
    train, _, _, mapping = splits
    params = NegativeSamplingParams(strategy="popularity", exponent=1.0)
    examples = _examples(train, mapping, params)
    negatives = examples[examples["label"] == 0]
    assert set(negatives["item_idx"]) <= set(train["item_idx"])  # train items only
    assert not _pairs(negatives) & _pairs(train)


@pytest.mark.parametrize(
    ("node", "split"), [(sample_val_candidates, 1), (sample_test_candidates, 2)]
)
def test_candidates_exclude_every_interaction(splits, node, split):
    train, val, test, mapping = splits
    copies = [frame.copy() for frame in splits]
    candidates = node(train, val, test, mapping, NegativeSamplingParams())
    for frame, copy in zip(splits, copies, strict=True):
        pd.testing.assert_frame_equal(frame, copy)
    held_out = splits[split]
    assert list(candidates.columns) == ["user_idx", "item_idx"]
    assert candidates.dtypes.tolist() == [np.int32, np.int32]
    np.testing.assert_array_equal(
        candidates["user_idx"], np.repeat(np.sort(held_out["user_idx"].unique()), 99)
    )
    per_user = candidates.groupby("user_idx")["item_idx"].nunique()
    assert (per_user == 99).all()
    known = _pairs(pd.concat([train, val, test]))
    assert not _pairs(candidates) & known  # so the held-out item is never a candidate


def test_val_and_test_each_use_a_fresh_generator(splits):
    # Same users, same exclusions, fresh default_rng(2017) each: identical draws.
    train, val, test, mapping = splits
    params = NegativeSamplingParams()
    val_candidates = sample_val_candidates(train, val, test, mapping, params)
    test_candidates = sample_test_candidates(train, val, test, mapping, params)
    pd.testing.assert_frame_equal(val_candidates, test_candidates)
    other = sample_val_candidates(train, val, test, mapping, {"eval_seed": 7})
    assert (other["item_idx"] != val_candidates["item_idx"]).mean() > 0.5


def test_candidates_do_not_depend_on_row_order(splits):
    train, val, test, mapping = splits
    params = NegativeSamplingParams()
    shuffled = test.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        sample_test_candidates(train, val, test, mapping, params),
        sample_test_candidates(train, val, shuffled, mapping, params),
    )


def test_user_with_too_few_free_items_fails_with_its_index(splits):
    train, val, test, mapping = splits
    small = mapping.iloc[:100]  # user 9 holds 12 items: 88 < 99 free ones
    keep = train["item_idx"] < 100
    with pytest.raises(ValueError, match=r"user_idx .*fewer than 99 items"):
        sample_val_candidates(
            train[keep],
            val[val["item_idx"] < 100],
            test[test["item_idx"] < 100],
            small,
            {},
        )


def test_missing_column_is_named(splits):
    train, val, test, mapping = splits
    with pytest.raises(ValueError, match=r"val_interactions lacks column 'user_idx'"):
        sample_val_candidates(train, val.drop(columns="user_idx"), test, mapping, {})
    with pytest.raises(ValueError, match=r"item_mapping lacks column 'item_idx'"):
        _examples(train, mapping.drop(columns="item_idx"), {})


def test_item_outside_the_mapping_is_reported(splits):
    train, _, _, mapping = splits
    with pytest.raises(
        ValueError, match=r"item_idx holds \d+, outside \[0, n_items=50\)"
    ):
        _examples(train, mapping.iloc[:50], {})


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"negatives_per_positive": 0}, "negatives_per_positive"),
        ({"strategy": "zipf"}, "strategy"),
        ({"exponent": float("inf")}, "exponent"),
        ({"seed": -1}, "seed"),
        ({"eval_negatives": 0}, "eval_negatives"),
        ({"negatives_per_positve": 4}, "negatives_per_positve"),
        ({"negatives_per_positive": 2.5}, "negatives_per_positive"),
    ],
)
def test_bad_parameters_name_the_key(override, key):
    with pytest.raises(ValidationError, match=key):
        NegativeSamplingParams.model_validate(override)
