"""The cold_start pipeline: its wiring, and a whole run on the generated data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.models.content import CALIBRATION_GRID
from ncf_recommender.pipelines.cold_start.nodes import hold_out_items
from ncf_recommender.pipelines.cold_start.pipeline import (
    COLD_START_MODELS,
    create_pipeline,
)
from tests.conftest import make_metadata_project


def test_the_pipeline_trains_the_id_only_and_every_content_model_on_the_cold_split():
    assert COLD_START_MODELS == ("sasrec", "content_sasrec")
    pipeline = create_pipeline()
    for name in COLD_START_MODELS:
        train = pipeline.only_nodes(f"cold_start.train_{name}").nodes[0]
        assert {"cold_train_interactions", "cold_val_interactions"} <= set(train.inputs)
        assert not {"train_interactions", "val_interactions"} & set(train.inputs)
    content = pipeline.only_nodes("cold_start.train_content_sasrec").nodes[0]
    assert {"item_features", "item_feature_vocabulary"} <= set(content.inputs)
    assert {"cold_start_metrics", "cold_warm_plot"} <= pipeline.all_outputs()


def test_new_items_leave_training_and_validation():
    train = pd.DataFrame({"user_idx": [0, 0, 1, 1, 2], "item_idx": [0, 1, 2, 3, 4]})
    val = pd.DataFrame({"user_idx": [0, 1, 2], "item_idx": [2, 4, 0]})
    test = pd.DataFrame({"user_idx": [0, 1, 2], "item_idx": [3, 0, 1]})
    mapping = pd.DataFrame({"item_id": list("ABCDE"), "item_idx": range(5)})
    cold_train, cold_val, new = hold_out_items(
        train, val, test, mapping, {"share": 0.4, "seed": 1}
    )
    assert len(new) == 2 and set(new["item_id"]) == set(
        mapping["item_id"][new["item_idx"]]
    )
    assert not set(new["item_idx"]) & set(cold_train["item_idx"])
    assert not set(new["item_idx"]) & set(cold_val["item_idx"])
    kept = ~train["item_idx"].isin(new["item_idx"])
    assert len(cold_train) == kept.sum()
    with pytest.raises(ValueError, match="share"):
        hold_out_items(train, val, test, mapping, {"share": 1.5})


@pytest.mark.slow
def test_the_protocol_runs_on_the_generated_data(tmp_path):
    project = make_metadata_project(tmp_path)
    bootstrap_project(project)
    quick = {"sequence_training": {"epochs": 2, "max_validation_users": 200}}
    with KedroSession.create(project_path=project, runtime_params=quick) as session:
        session.run(pipeline_names=["data_processing", "item_metadata", "cold_start"])
    reporting = project / "data" / "default" / "08_reporting"
    report = json.loads(
        next((reporting / "cold_start_metrics.json").glob("*/*.json")).read_text()
    )
    assert list(report) == [
        "protocol",
        "category_popularity",
        "content_knn",
        "sasrec",
        "content_sasrec",
    ]
    for name in list(report)[1:]:
        for group in ("warm", "cold"):
            assert 0.0 <= report[name][group]["ndcg@10"] <= 1.0, (name, group)
    # the id-only model never saw a new item: its rows are noise, far below content
    assert (
        report["sasrec"]["cold"]["ndcg@10"] < report["content_knn"]["cold"]["ndcg@10"]
    )
    assert tuple(report["content_sasrec"]["new_items"]["weights"]) in CALIBRATION_GRID
    users = report["sasrec"]["warm"]["users"] + report["sasrec"]["cold"]["users"]
    new = pd.read_parquet(
        project / "data" / "default" / "05_model_input" / "new_items.parquet"
    )
    assert report["protocol"]["new_items"] == len(new) > 0
    assert (
        users
        == report["content_knn"]["warm"]["users"]
        + report["content_knn"]["cold"]["users"]
    )
    assert next((reporting / "cold_warm.png").glob("*/*.png")).stat().st_size > 0
    assert np.isfinite(report["content_sasrec"]["train_seconds"])
