"""The generator's metadata: the real formats, the same items, and a real signal."""

from __future__ import annotations

import ast
import json

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.data.generator import generate_item_catalogue, generate_ratings
from ncf_recommender.metadata.synthetic import (
    SyntheticItemMetadataDataset,
    metadata_lines,
)

SIZE = {"n_ratings": 60_000, "seed": 7}


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return generate_ratings(**SIZE)


@pytest.mark.parametrize("fmt", ["amazon-2014", "amazon-2023"])
def test_metadata_covers_exactly_the_generated_items(ratings, fmt):
    frame = SyntheticItemMetadataDataset(format=fmt, **SIZE).load()
    assert set(frame["item_id"]) == set(ratings["item"])
    assert frame["title"].notna().all() and frame["brand"].notna().all()
    assert frame["categories"].map(len).eq(3).all()
    # the 2023 format leaves more prices unknown, as the real release does
    unknown = frame["price"].isna().mean()
    assert (0.05 < unknown < 0.3) if fmt == "amazon-2014" else (0.4 < unknown < 0.7)


def test_lines_follow_each_format(ratings):
    catalogue = generate_item_catalogue(**SIZE)
    first_2014 = next(metadata_lines(catalogue, "amazon-2014", 7)).decode()
    record = ast.literal_eval(first_2014)
    with pytest.raises(json.JSONDecodeError):  # single quotes: not JSON
        json.loads(first_2014)
    assert {"asin", "title", "categories", "brand", "related"} <= set(record)
    assert isinstance(record["categories"][0], list)
    record = json.loads(next(metadata_lines(catalogue, "amazon-2023", 7)))
    assert {"parent_asin", "title", "store", "categories", "price"} <= set(record)


def test_metadata_is_deterministic_and_regenerates_without_the_ratings():
    a = SyntheticItemMetadataDataset(format="amazon-2014", **SIZE).load()
    generate_ratings(n_ratings=20_000, seed=3)  # another generation in between
    b = SyntheticItemMetadataDataset(format="amazon-2014", **SIZE).load()
    pd.testing.assert_frame_equal(a, b)


def test_dirt_is_counted_by_reason():
    frame = SyntheticItemMetadataDataset(format="amazon-2014", dirt=0.05, **SIZE).load()
    report = frame.attrs["reader_report"]
    rejected = report["rows_rejected"]
    assert rejected["unparsable_line"] > 0 and rejected["missing_id"] > 0
    assert report["values_invalid"]["price_not_number"] > 0
    assert (
        len(frame) + sum(rejected.values())
        == generate_item_catalogue(**SIZE).item_ids.size
    )


def test_items_of_one_category_share_co_purchases(ratings):
    """Next purchases stay in a department far more often than chance."""
    meta = SyntheticItemMetadataDataset(format="amazon-2023", **SIZE).load()
    department = dict(zip(meta["item_id"], meta["categories"].str[1], strict=True))
    ordered = ratings.sort_values(["user", "timestamp"], kind="stable")
    same_user = ordered["user"].to_numpy()[1:] == ordered["user"].to_numpy()[:-1]
    dept = ordered["item"].map(department).to_numpy()
    together = (dept[1:] == dept[:-1])[same_user].mean()
    shares = pd.Series(dept).value_counts(normalize=True).to_numpy()
    chance = float(np.sum(shares**2))
    assert together > 2 * chance
    # and the metadata's own complements point into the chain's categories
    related = meta.explode("complements").dropna(subset=["complements"])
    related_dept = related["complements"].map(department)
    assert (related_dept == related["categories"].str[1]).mean() > chance
