"""data_processing end to end through a KedroSession on generated (and dirty) data."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.constants import INTERACTION_COLUMNS
from tests.conftest import make_project_copy

pytestmark = pytest.mark.slow

DIRTY_SOURCE = {"n_ratings": 60_000, "seed": 11, "dirt": 0.03}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = make_project_copy(tmp_path_factory.mktemp("project"), DIRTY_SOURCE)
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_processing"])
        catalog = session.load_context().catalog
        names = [
            "source_ratings",
            "raw_ratings",
            "cleaning_report",
            "interactions",
            "user_mapping",
            "item_mapping",
            "train_interactions",
            "val_interactions",
            "test_interactions",
        ]
        return {name: catalog.load(name) for name in names} | {"root": root}


def test_cleaning_report_accounts_for_every_row(outputs):
    report = outputs["cleaning_report"]
    assert report["rows_in"] == len(outputs["raw_ratings"]) > 0
    dropped = sum(report["rows_dropped"].values())
    assert dropped > 0 and report["duplicates_collapsed"] > 0, "dirt must be found"
    assert (
        report["rows_in"]
        == dropped + report["duplicates_collapsed"] + report["rows_after_cleaning"]
    )
    after_threshold = (
        report["rows_after_cleaning"] - report["rows_below_implicit_threshold"]
    )
    assert after_threshold - report["kcore"]["rows_dropped"] == report["rows_out"]
    assert report["rows_out"] == len(outputs["interactions"])


def test_cleaning_report_matches_injected_dirt(outputs):
    injected = outputs["source_ratings"].attrs["dirt_counts"]
    dropped = outputs["cleaning_report"]["rows_dropped"]
    assert dropped["missing_user_id"] == injected["missing_user"] > 0
    assert dropped["missing_item_id"] == injected["missing_item"] > 0
    assert dropped["missing_or_unparsable_rating"] == (
        injected["missing_rating"] + injected["unparsable_rating"]
    )
    assert dropped["missing_or_unparsable_timestamp"] == (
        injected["missing_timestamp"] + injected["unparsable_timestamp"]
    )
    assert dropped["rating_out_of_range"] == injected["out_of_range_rating"] > 0
    assert outputs["cleaning_report"]["duplicates_collapsed"] == (
        injected["exact_duplicate"] + injected["conflicting_duplicate"]
    )


def test_interactions_follow_the_contract(outputs):
    interactions = outputs["interactions"]
    assert tuple(interactions.columns) == INTERACTION_COLUMNS
    assert (
        interactions["user_idx"].dtype == np.int32
        and interactions["item_idx"].dtype == np.int32
    )
    assert not interactions.duplicated(["user_idx", "item_idx"]).any()
    assert interactions["rating"].between(1, 5).all()
    assert (interactions.groupby("user_idx").size() >= 5).all()
    assert (interactions.groupby("item_idx").size() >= 5).all()
    for kind, mapping in (
        ("user", outputs["user_mapping"]),
        ("item", outputs["item_mapping"]),
    ):
        assert mapping[f"{kind}_idx"].tolist() == list(range(len(mapping)))
        merged = interactions.merge(mapping, on=f"{kind}_idx", suffixes=("", "_mapped"))
        assert (merged[f"{kind}_id"] == merged[f"{kind}_id_mapped"]).all()


def test_split_partitions_interactions(outputs):
    train, val, test = (outputs[f"{s}_interactions"] for s in ("train", "val", "test"))
    assert len(train) + len(val) + len(test) == len(outputs["interactions"])
    assert len(val) == len(test) == outputs["interactions"]["user_idx"].nunique()
    latest_train = train.groupby("user_idx")["timestamp"].max()
    assert (
        val.set_index("user_idx")["timestamp"]
        >= latest_train.reindex(val["user_idx"]).values
    ).all()


def test_same_seed_same_split(outputs, tmp_path):
    root = make_project_copy(tmp_path, DIRTY_SOURCE)
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_processing"])
        again = session.load_context().catalog.load("test_interactions")
    assert again.equals(outputs["test_interactions"])
