"""Tests of the embedded Amazon-Electronics-shaped ratings generator."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from kedro.io import DataCatalog, DatasetError

from ncf_recommender.data import (
    COLUMNS,
    DEFAULT_N_RATINGS,
    DIRT_KINDS,
    ELECTRONICS_2014,
    generate_ratings,
    inject_dirt,
    write_ratings_csv,
)
from ncf_recommender.data.generator import STAR_SHARES
from ncf_recommender.datasets import SyntheticRatingsDataset

USER_RE = r"A[0-9A-Z]{12,13}"
ITEM_RE = r"B00[0-9A-Z]{7}|[0-9]{10}"
SMALL = {"n_ratings": 20_000, "n_users": 9_000, "n_items": 2_000, "seed": 5}


@pytest.fixture(scope="module")
def default_frame() -> pd.DataFrame:
    return generate_ratings()


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    return generate_ratings(**SMALL)


@pytest.fixture(scope="module")
def dirty_frame() -> pd.DataFrame:
    return generate_ratings(**{**SMALL, "dirt": 0.1})


def k_core(users: np.ndarray, items: np.ndarray, k: int = 5) -> np.ndarray:
    """Mask of the rows kept by an iterative k-core filter on users and items."""
    keep = np.ones(len(users), dtype=bool)
    while True:
        uc = np.bincount(users[keep], minlength=users.max() + 1)
        ic = np.bincount(items[keep], minlength=items.max() + 1)
        drop = keep & ((uc[users] < k) | (ic[items] < k))
        if not drop.any():
            return keep
        keep &= ~drop


def core_sequences(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """5-core rows as encoded (user, item), sorted per user by time (stable)."""
    users = pd.factorize(frame["user"])[0]
    items = pd.factorize(frame["item"])[0]
    keep = k_core(users, items)
    users = pd.factorize(users[keep])[0]
    items = pd.factorize(items[keep])[0]
    order = np.lexsort((frame["timestamp"].to_numpy()[keep], users))
    return users[order], items[order]


def hit_rate_at_10(scores: np.ndarray, seen: np.ndarray, target: np.ndarray) -> float:
    """HR@10 of full ranking, seen items masked, ties counted in expectation."""
    scores = np.where(seen, -np.inf, scores)
    s = scores[np.arange(len(target)), target][:, None]
    higher = (scores > s).sum(axis=1)
    ties = (scores == s).sum(axis=1) - 1
    return float(np.mean(np.clip((10 - higher) / (ties + 1), 0.0, 1.0)))


# --- determinism and format ---------------------------------------------------


def test_same_arguments_give_identical_frames(small_frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(generate_ratings(**SMALL), small_frame)


def test_another_seed_gives_another_frame(small_frame: pd.DataFrame) -> None:
    other = generate_ratings(**{**SMALL, "seed": SMALL["seed"] + 1})
    assert not other["user"].isin(small_frame["user"]).all()
    assert not np.array_equal(other["timestamp"], small_frame["timestamp"])


def test_columns_and_dtypes(small_frame: pd.DataFrame) -> None:
    assert tuple(small_frame.columns) == COLUMNS
    assert pd.api.types.is_string_dtype(small_frame["user"])
    assert pd.api.types.is_string_dtype(small_frame["item"])
    assert small_frame["rating"].dtype == np.float64
    assert small_frame["timestamp"].dtype == np.int64


def test_ids_look_like_amazon_ids(small_frame: pd.DataFrame) -> None:
    assert small_frame["user"].str.fullmatch(USER_RE).all()
    assert small_frame["item"].str.fullmatch(ITEM_RE).all()
    lengths = small_frame["user"].drop_duplicates().str.len().value_counts()
    assert set(lengths.index) == {13, 14}
    assert small_frame["item"].str.startswith("B00").mean() > 0.8


def test_exact_sizes_and_unique_pairs(small_frame: pd.DataFrame) -> None:
    assert len(small_frame) == SMALL["n_ratings"]
    assert small_frame["user"].nunique() == SMALL["n_users"]
    assert small_frame["item"].nunique() == SMALL["n_items"]
    assert not small_frame.duplicated(["user", "item"]).any()


def test_default_sizes_follow_the_real_proportions(default_frame: pd.DataFrame) -> None:
    ratio = DEFAULT_N_RATINGS / ELECTRONICS_2014["n_ratings"]
    assert len(default_frame) == DEFAULT_N_RATINGS
    assert default_frame["user"].nunique() == round(ratio * ELECTRONICS_2014["n_users"])
    assert default_frame["item"].nunique() == round(ratio * ELECTRONICS_2014["n_items"])


def test_rows_are_grouped_by_item_then_time(small_frame: pd.DataFrame) -> None:
    assert small_frame["item"].is_monotonic_increasing
    same_item = (
        small_frame["item"].to_numpy()[1:] == small_frame["item"].to_numpy()[:-1]
    )
    assert (np.diff(small_frame["timestamp"].to_numpy())[same_item] >= 0).all()


def test_timestamps_are_days_between_1998_and_2014(default_frame: pd.DataFrame) -> None:
    ts = default_frame["timestamp"]
    assert (ts % 86_400 == 0).all()
    days = pd.to_datetime(ts, unit="s")
    assert days.min() >= pd.Timestamp("1998-12-04")
    assert days.max() <= pd.Timestamp("2014-07-23")
    per_year = days.dt.year.value_counts()
    assert len(per_year) >= 15
    assert per_year[2013] > 2 * per_year[2009] > 4 * per_year[2003]


def test_same_day_ties_within_users(default_frame: pd.DataFrame) -> None:
    users = pd.factorize(default_frame["user"])[0]
    ts = default_frame["timestamp"].to_numpy()
    order = np.lexsort((ts, users))
    same_user = np.diff(users[order]) == 0
    same_day = np.diff(ts[order]) == 0
    assert 0.05 < same_day[same_user].mean() < 0.4


# --- distributions --------------------------------------------------------------


def test_star_shares_match_the_real_data(default_frame: pd.DataFrame) -> None:
    shares = default_frame["rating"].value_counts(normalize=True).sort_index()
    assert list(shares.index) == [1.0, 2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(shares.to_numpy(), STAR_SHARES, atol=0.02)


def test_user_activity_is_heavy_tailed(default_frame: pd.DataFrame) -> None:
    per_user = default_frame["user"].value_counts()
    assert (per_user <= 3).mean() > 0.85
    assert (per_user == 1).mean() > 0.6
    assert per_user.max() >= 50


def test_item_popularity_is_a_power_law(default_frame: pd.DataFrame) -> None:
    counts = np.sort(default_frame["item"].value_counts().to_numpy())[::-1]
    rank = np.arange(1, len(counts) + 1)
    mid = (rank >= 10) & (rank <= len(counts) // 10)
    slope = np.polyfit(np.log(rank[mid]), np.log(counts[mid]), 1)[0]
    assert -1.3 < slope < -0.5
    top = counts[: len(counts) // 100].sum() / counts.sum()
    assert top > 0.15


def test_default_five_core_fits_a_minute_of_training(
    default_frame: pd.DataFrame,
) -> None:
    users, items = core_sequences(default_frame)
    assert 60_000 <= len(users) <= 150_000
    assert 4_000 <= users.max() + 1 <= 10_000
    assert 2_000 <= items.max() + 1 <= 5_000


def test_personalisation_and_order_carry_signal(default_frame: pd.DataFrame) -> None:
    """Popularity < item co-occurrence < last-item transitions, on HR@10."""
    users, items = core_sequences(default_frame)
    n_users, n_items = users.max() + 1, items.max() + 1
    last = np.r_[users[1:] != users[:-1], True]
    test_item = items[last]
    train = ~last
    x = sp.csr_matrix(
        (np.ones(train.sum()), (users[train], items[train])), shape=(n_users, n_items)
    )
    # Transitions between consecutive training purchases of the same user.
    a, b = np.flatnonzero(train)[:-1], np.flatnonzero(train)[1:]
    same = users[a] == users[b]
    trans = sp.csr_matrix(
        (np.ones(same.sum()), (items[a][same], items[b][same])), shape=(n_items,) * 2
    )
    last_train = items[np.flatnonzero(last) - 1]  # every user has >= 5 rows
    cooc = (x.T @ x).tocsr()
    cooc.setdiag(0)

    sample = np.random.default_rng(0).choice(n_users, 1500, replace=False)
    seen = x[sample].toarray() > 0
    popularity = np.tile(np.asarray(x.sum(axis=0)).ravel(), (len(sample), 1))
    co_occurrence = (x[sample] @ cooc).toarray() + 1e-6 * popularity
    next_item = 1e3 * trans[last_train[sample]].toarray() + co_occurrence
    target = test_item[sample]
    hr_pop = hit_rate_at_10(popularity, seen, target)
    hr_cooc = hit_rate_at_10(co_occurrence, seen, target)
    hr_next = hit_rate_at_10(next_item, seen, target)
    assert hr_cooc > 2 * hr_pop
    assert hr_next > 1.3 * hr_cooc


# --- dirt -------------------------------------------------------------------------


def classify(frame: pd.DataFrame) -> dict[str, int]:
    """Count each defect kind the way a cleaning step would see it."""
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    timestamp = pd.to_numeric(frame["timestamp"], errors="coerce")
    complete = frame[["user", "item"]].notna().all(axis=1)
    dup_pairs = frame[complete].duplicated(["user", "item"]).sum()
    exact = frame[complete].astype(str).duplicated().sum()
    return {
        "exact_duplicate": int(exact),
        "conflicting_duplicate": int(dup_pairs - exact),
        "missing_user": int(frame["user"].isna().sum()),
        "missing_item": int(frame["item"].isna().sum()),
        "missing_rating": int(frame["rating"].isna().sum()),
        "missing_timestamp": int(frame["timestamp"].isna().sum()),
        "unparsable_rating": int((rating.isna() & frame["rating"].notna()).sum()),
        "unparsable_timestamp": int(
            (timestamp.isna() & frame["timestamp"].notna()).sum()
        ),
        "out_of_range_rating": int(((rating < 1) | (rating > 5)).sum()),
    }


def test_dirt_counts_are_reported_and_true(dirty_frame: pd.DataFrame) -> None:
    counts = dirty_frame.attrs["dirt_counts"]
    assert tuple(counts) == DIRT_KINDS
    assert sum(counts.values()) == round(0.1 * SMALL["n_ratings"])
    assert all(n > 0 for n in counts.values())
    n_dups = counts["exact_duplicate"] + counts["conflicting_duplicate"]
    assert len(dirty_frame) == SMALL["n_ratings"] + n_dups
    assert classify(dirty_frame) == counts


def test_dirty_frame_is_object_typed_and_deterministic(
    dirty_frame: pd.DataFrame,
) -> None:
    assert all(dtype == np.dtype(object) for dtype in dirty_frame.dtypes)
    again = generate_ratings(**{**SMALL, "dirt": 0.1})
    pd.testing.assert_frame_equal(again, dirty_frame)
    assert again.attrs == dirty_frame.attrs


def test_dirt_leaves_the_other_rows_clean(
    small_frame: pd.DataFrame, dirty_frame: pd.DataFrame
) -> None:
    counts = dirty_frame.attrs["dirt_counts"]
    value_defects = sum(counts.values()) - (
        counts["exact_duplicate"] + counts["conflicting_duplicate"]
    )
    rating = pd.to_numeric(dirty_frame["rating"], errors="coerce")
    valid = (
        dirty_frame[["user", "item"]].notna().all(axis=1)
        & rating.between(1, 5)
        & pd.to_numeric(dirty_frame["timestamp"], errors="coerce").notna()
    )
    kept = dirty_frame[valid].drop_duplicates(["user", "item"], keep=False)
    conflicted = counts["exact_duplicate"] + counts["conflicting_duplicate"]
    assert len(kept) == SMALL["n_ratings"] - value_defects - conflicted
    clean_rows = set(small_frame.astype(str).itertuples(index=False))
    assert set(kept.astype(str).itertuples(index=False)) <= clean_rows


def test_conflicting_duplicates_differ_in_rating_and_day(
    dirty_frame: pd.DataFrame,
) -> None:
    complete = dirty_frame[dirty_frame[["user", "item"]].notna().all(axis=1)]
    groups = complete[complete.duplicated(["user", "item"], keep=False)]
    distinct = groups.astype(str).drop_duplicates()
    pairs = distinct.groupby(["user", "item"]).size()
    conflicting = pairs[pairs == 2].index
    assert len(conflicting) == dirty_frame.attrs["dirt_counts"]["conflicting_duplicate"]
    rows = distinct.set_index(["user", "item"]).loc[conflicting]
    per_pair = rows.groupby(level=[0, 1]).nunique()
    assert (per_pair["rating"] == 2).all()
    assert (per_pair["timestamp"] == 2).all()


def test_inject_dirt_zero_returns_input_and_zero_counts(
    small_frame: pd.DataFrame,
) -> None:
    out, counts = inject_dirt(small_frame, 0.0, seed=1)
    assert out is small_frame
    assert set(counts.values()) == {0}


def test_inject_dirt_does_not_mutate_its_input(small_frame: pd.DataFrame) -> None:
    before = small_frame.copy()
    inject_dirt(small_frame, 0.2, seed=1)
    pd.testing.assert_frame_equal(small_frame, before)


# --- CSV -----------------------------------------------------------------------------


def test_csv_has_the_real_file_format(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "ratings_Electronics.csv"
    write_ratings_csv(small_frame, path)
    lines = path.read_text().splitlines()
    assert len(lines) == len(small_frame)
    line_re = re.compile(rf"({USER_RE}),({ITEM_RE}),[1-5]\.0,[0-9]{{9,10}}")
    assert all(line_re.fullmatch(line) for line in lines)
    back = pd.read_csv(path, header=None, names=list(COLUMNS), dtype={"item": str})
    pd.testing.assert_frame_equal(back, small_frame, check_dtype=False)


def test_fast_csv_path_matches_pandas(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    write_ratings_csv(small_frame, tmp_path / "fast.csv")
    small_frame.to_csv(tmp_path / "pandas.csv", header=False, index=False)
    assert (tmp_path / "fast.csv").read_bytes() == (
        tmp_path / "pandas.csv"
    ).read_bytes()


def test_dirty_csv_keeps_every_defect(
    dirty_frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "dirty.csv"
    write_ratings_csv(dirty_frame, path)
    back = pd.read_csv(path, header=None, names=list(COLUMNS), dtype=str)
    assert len(back) == len(dirty_frame)
    assert classify(back) == dirty_frame.attrs["dirt_counts"]


def test_write_csv_names_a_missing_column(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="rating"):
        write_ratings_csv(small_frame.drop(columns="rating"), tmp_path / "x.csv")


# --- argument checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_ratings": 1_000, "n_users": 2_000}, "n_users"),
        ({"n_ratings": 1_000, "n_items": 10}, "n_items"),
        ({"n_ratings": 100_000, "n_users": 100, "n_items": 400}, "n_ratings"),
        ({"n_ratings": 1_000, "dirt": 0.9}, "dirt"),
        ({"n_ratings": 1_000.5}, "n_ratings"),
        ({"n_ratings": "1000"}, "n_ratings"),
        ({"n_ratings": 0}, "n_ratings"),
        ({"n_ratings": 1_000, "seed": -1}, "seed"),
        ({"n_ratings": 1_000, "chain_prob": 0.8}, "chain_prob"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        generate_ratings(**kwargs)


def test_tiny_and_dense_configurations_work() -> None:
    frame = generate_ratings(n_ratings=3_000, n_users=100, n_items=400, seed=1)
    assert len(frame) == 3_000
    assert frame["user"].nunique() == 100
    assert not frame.duplicated(["user", "item"]).any()
    ones = generate_ratings(n_ratings=500, n_users=500, n_items=200)
    assert (ones["user"].value_counts() == 1).all()


# --- Kedro dataset -------------------------------------------------------------------


def test_dataset_loads_the_generated_frame(small_frame: pd.DataFrame) -> None:
    dataset = SyntheticRatingsDataset(**SMALL)
    pd.testing.assert_frame_equal(dataset.load(), small_frame)


def test_dataset_describes_its_arguments() -> None:
    dataset = SyntheticRatingsDataset(n_ratings=1_000, seed=3, dirt=0.05)
    assert dataset._describe() == {
        "n_ratings": 1_000,
        "n_users": None,
        "n_items": None,
        "seed": 3,
        "dirt": 0.05,
        "preset": None,
    }
    assert "n_ratings=1000" in repr(dataset)


def test_dataset_preset_gives_the_real_sizes() -> None:
    described = SyntheticRatingsDataset(preset="electronics_2014")._describe()
    assert {k: described[k] for k in ELECTRONICS_2014} == ELECTRONICS_2014
    override = SyntheticRatingsDataset(preset="electronics_2014", n_ratings=9)
    assert override._describe()["n_ratings"] == 9


def test_dataset_is_read_only(small_frame: pd.DataFrame) -> None:
    with pytest.raises(DatasetError, match="read-only"):
        SyntheticRatingsDataset().save(small_frame)


def test_dataset_errors_are_clear() -> None:
    with pytest.raises(DatasetError, match="preset"):
        SyntheticRatingsDataset(preset="nope")
    with pytest.raises(DatasetError, match="n_users"):
        SyntheticRatingsDataset(n_ratings=10, n_users=20).load()


def test_dataset_works_from_catalog_config() -> None:
    catalog = DataCatalog.from_config(
        {
            "source_ratings": {
                "type": "ncf_recommender.datasets.SyntheticRatingsDataset",
                "n_ratings": 2_000,
                "seed": 9,
                "metadata": {"kedro-viz": {"layer": "raw"}},
            }
        }
    )
    frame = catalog.load("source_ratings")
    pd.testing.assert_frame_equal(frame, generate_ratings(2_000, seed=9))
