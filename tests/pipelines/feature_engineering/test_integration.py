"""``data_processing`` + ``feature_engineering`` through a real KedroSession."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module", autouse=True)
def _bootstrap():
    bootstrap_project(PROJECT)


def _keys(frame: pd.DataFrame) -> pd.Series:
    return frame["user_idx"].astype(np.int64) * 1_000_000_000 + frame["item_idx"]


@pytest.mark.slow
def test_session_run_writes_exact_examples_and_candidates(project_copy):
    with KedroSession.create(project_path=project_copy) as session:
        session.run(pipeline_names=["data_processing", "feature_engineering"])
    model_input = project_copy / "data" / "default" / "05_model_input"
    read = {
        name: pd.read_parquet(model_input / f"{name}.parquet")
        for name in (
            "train_interactions",
            "val_interactions",
            "test_interactions",
            "training_examples",
            "val_candidates",
            "test_candidates",
        )
    }
    n_items = len(
        pd.read_parquet(
            project_copy / "data" / "default" / "03_primary" / "item_mapping.parquet"
        )
    )
    train, examples = read["train_interactions"], read["training_examples"]

    # negative_sampling.negatives_per_positive: 8 (conf/base).
    assert len(examples) == 9 * len(train) and examples["label"].sum() == len(train)
    negatives = examples[examples["label"] == 0]
    assert negatives["item_idx"].between(0, n_items - 1).all()
    assert not _keys(negatives).isin(_keys(train)).any()

    known = _keys(
        pd.concat([train, read["val_interactions"], read["test_interactions"]])
    )
    for split in ("val", "test"):
        candidates, held_out = (
            read[f"{split}_candidates"],
            read[f"{split}_interactions"],
        )
        assert len(held_out) > 0
        assert set(candidates["user_idx"]) == set(held_out["user_idx"])
        assert candidates.groupby("user_idx")["item_idx"].nunique().eq(99).all()
        assert len(candidates) == 99 * held_out["user_idx"].nunique()
        assert not _keys(candidates).isin(known).any()


def test_bad_negative_sampling_parameter_fails_before_any_node_runs(project_copy):
    with KedroSession.create(
        project_path=project_copy,
        runtime_params={"negative_sampling": {"negatives_per_positive": 0}},
    ) as session:
        with pytest.raises(Exception, match="negatives_per_positive") as info:
            session.run(
                pipeline_names=["feature_engineering"],
                node_names=["sample_training_examples"],
            )
    assert "greater than or equal to 1" in str(info.value)
