"""The item_metadata nodes on a tiny case computed by hand, and the pipeline run."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.metadata.readers import METADATA_COLUMNS, attach_report
from ncf_recommender.pipelines.item_metadata.nodes import (
    NO_METADATA,
    RARE_BRAND,
    UNKNOWN_BRAND,
    UNKNOWN_PRICE,
    build_item_features,
    build_item_metadata,
    build_item_relations,
)
from ncf_recommender.pipelines.item_metadata.params import ItemFeatureParams
from tests.conftest import make_metadata_project

ROWS = [
    # item_id, title, brand, categories, price, complements, substitutes
    ("A", "red usb cable", "Acme", ["Electronics", "Cables"], 5.0, ["B"], ["C"]),
    ("B", "blue usb cable", "Acme", ["Electronics", "Cables"], None, [], []),
    ("C", "usb hub", "Zed", ["Electronics", "Hubs"], 50.0, ["A", "X"], []),
    ("X", None, None, [], 500.0, [], ["A"]),  # metadata only: a new product
]
MAPPING = pd.DataFrame({"item_id": ["A", "B", "C", "D"], "item_idx": [0, 1, 2, 3]})


@pytest.fixture
def source() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=list(METADATA_COLUMNS))
    counts = {"unparsable_line": 2}
    return attach_report(
        frame,
        file="meta.json",
        fmt="amazon-2014",
        rejected=Counter(counts),
        invalid=Counter({"price_not_number": 1}),
        examples=[],
    )


def test_the_report_counts_both_sides_of_the_join(source):
    table, report = build_item_metadata(source, MAPPING)
    assert table["item_idx"].tolist() == [0, 1, 2, pd.NA]
    assert report["source"]["rows_rejected"]["unparsable_line"] == 2
    assert report["source"]["values_invalid"] == {"price_not_number": 1}
    assert report["items_without_interactions"] == 1  # X
    assert report["interaction_items_without_metadata"] == 1  # D
    assert report["examples_without_metadata"] == ["D"]
    assert report["coverage_of_interaction_items"] == 0.75
    assert report["unknown_share"] == {
        "title": 0.25,
        "brand": 0.25,
        "price": 0.25,
        "categories": 0.25,
    }


def test_metadata_of_another_data_set_stops_the_run(source):
    other = pd.DataFrame({"item_id": ["0001", "0002"], "item_idx": [0, 1]})
    with pytest.raises(ValueError, match="shares no item id") as info:
        build_item_metadata(source, other)
    assert "meta.json" in str(info.value)


def test_features_by_hand(source):
    table, _ = build_item_metadata(source, MAPPING)
    params = ItemFeatureParams(
        min_brand_items=2, price_buckets=2, title_min_df=2, related_items=False
    )
    features, vocabulary = build_item_features(table, MAPPING, params)
    names = dict(zip(vocabulary["feature_idx"], vocabulary["feature"], strict=True))
    per_item = (
        features.assign(feature=features["feature_idx"].map(names))
        .groupby("item_id")["feature"]
        .apply(set)
        .to_dict()
    )
    # prices 5, 50, 500 (log1p): the median splits them; B's price is unknown
    assert per_item["A"] >= {
        "category=Electronics",
        "category=Electronics > Cables",
        "brand=Acme",
        "price=bucket 1/2",
        "title=usb",
        "title=cable",
    }
    assert "title=red" not in per_item["A"]  # in one title only: below min_df
    assert UNKNOWN_PRICE in per_item["B"]
    assert RARE_BRAND in per_item["C"] and "price=bucket 2/2" in per_item["C"]
    assert per_item["X"] == {UNKNOWN_BRAND, "price=bucket 2/2"}
    assert per_item["D"] == {NO_METADATA}
    assert features.loc[features["item_id"] == "X", "item_idx"].isna().all()
    title_rows = features[features["feature_idx"].map(names).str.startswith("title=")]
    norms = title_rows.groupby("item_id")["weight"].apply(lambda w: float(np.sum(w**2)))
    assert np.allclose(norms.to_numpy(), 1.0, atol=1e-6)
    counts = vocabulary.set_index("feature")["items"]
    assert counts["category=Electronics"] == 3 and counts["brand=Acme"] == 2


def test_related_lists_become_features(source):
    table, _ = build_item_metadata(source, MAPPING)
    features, vocabulary = build_item_features(table, MAPPING, ItemFeatureParams())
    names = dict(zip(vocabulary["feature_idx"], vocabulary["feature"], strict=True))
    related = (
        features.assign(feature=features["feature_idx"].map(names))
        .query("feature.str.startswith('related=')")
        .groupby("item_id")["feature"]
        .apply(set)
        .to_dict()
    )
    # its own id, then what it lists: C lists A and X (complements)
    assert related["C"] == {"related=C", "related=A", "related=X"}
    assert related["A"] == {"related=A", "related=B", "related=C"}
    assert related["D"] == {"related=D"}  # no metadata: its own id only


def test_relations_keep_order_and_unknown_items(source):
    table, _ = build_item_metadata(source, MAPPING)
    edges = build_item_relations(table, MAPPING)
    c = edges[edges["item_id"] == "C"]
    assert c["related_item_id"].tolist() == ["A", "X"]
    assert c["position"].tolist() == [0, 1]
    assert c["related_item_idx"].tolist() == [0, pd.NA]
    assert set(edges["relation"]) == {"complement", "substitute"}
    assert len(edges) == 5


@pytest.mark.slow
def test_the_pipeline_runs_on_the_generated_data(tmp_path):
    project = make_metadata_project(tmp_path)
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "item_metadata"])
    data = project / "data" / "default"
    mapping = pd.read_parquet(data / "03_primary" / "item_mapping.parquet")
    features = pd.read_parquet(data / "05_model_input" / "item_features.parquet")
    report = json.loads(
        next(
            (data / "08_reporting" / "metadata_report.json").glob("*/*.json")
        ).read_text()
    )
    assert report["interaction_items_without_metadata"] == 0
    assert report["coverage_of_interaction_items"] == 1.0
    assert set(mapping["item_idx"]) <= set(features["item_idx"].dropna())
