"""The ``feature_engineering`` pipeline run through Kedro, and its configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.feature_engineering import create_pipeline
from ncf_recommender.pipelines.feature_engineering.params import NegativeSamplingParams

PROJECT = Path(__file__).resolve().parents[3]
OUTPUTS = ("training_examples", "val_candidates", "test_candidates")


@pytest.fixture(scope="module")
def conf() -> EnvironmentConfigLoader:
    return EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
    )


def _inputs() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n_users, n_items = 40, 300
    degree = rng.integers(3, 25, n_users)
    users = np.repeat(np.arange(n_users), degree)
    items = np.concatenate([rng.choice(n_items, d, replace=False) for d in degree])
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in items],
            "user_idx": users.astype(np.int32),
            "item_idx": items.astype(np.int32),
            "rating": 4.0,
            "timestamp": np.arange(len(users), dtype=np.int64),
        }
    )
    last = frame.groupby("user_idx").cumcount(ascending=False)
    return {
        "train_interactions": frame[last >= 2].reset_index(drop=True),
        "val_interactions": frame[last == 1].reset_index(drop=True),
        "test_interactions": frame[last == 0].reset_index(drop=True),
        "item_mapping": pd.DataFrame(
            {
                "item_id": [f"i{i}" for i in range(n_items)],
                "item_idx": np.arange(n_items),
            }
        ),
    }


def test_pipeline_produces_the_contract_datasets(conf):
    pipeline = create_pipeline()
    # A session validates params:negative_sampling into the Pydantic model first.
    params = NegativeSamplingParams.model_validate(
        conf["parameters"]["negative_sampling"]
    )
    inputs = _inputs()
    catalog = DataCatalog(
        {name: MemoryDataset(value) for name, value in inputs.items()}
        | {"params:negative_sampling": MemoryDataset(params)}
    )
    assert pipeline.inputs() == set(catalog.keys())
    assert pipeline.outputs() == set(OUTPUTS)
    SequentialRunner().run(pipeline, catalog)

    train = inputs["train_interactions"]
    examples = catalog.load("training_examples")
    assert list(examples.columns) == ["user_idx", "item_idx", "label"]
    assert len(examples) == (1 + params.negatives_per_positive) * len(train)
    assert examples["label"].sum() == len(train)
    negatives = examples[examples["label"] == 0]
    train_keys = set(zip(train["user_idx"], train["item_idx"], strict=True))
    assert (
        not set(zip(negatives["user_idx"], negatives["item_idx"], strict=True))
        & train_keys
    )

    everything = pd.concat(
        [inputs[f"{s}_interactions"] for s in ("train", "val", "test")]
    )
    known = set(zip(everything["user_idx"], everything["item_idx"], strict=True))
    for split in ("val", "test"):
        candidates = catalog.load(f"{split}_candidates")
        held_out = inputs[f"{split}_interactions"]
        assert list(candidates.columns) == ["user_idx", "item_idx"]
        assert len(candidates) == params.eval_negatives * held_out["user_idx"].nunique()
        assert candidates.groupby("user_idx")["item_idx"].nunique().eq(99).all()
        assert (
            not set(zip(candidates["user_idx"], candidates["item_idx"], strict=True))
            & known
        )


def test_parameters_file_matches_the_protocol(conf):
    params = NegativeSamplingParams.model_validate(
        conf["parameters"]["negative_sampling"]
    )
    # The one negatives_per_positive: the value the NCF trainer has always used
    # (the protocol fixes only the 99 stored evaluation negatives).
    assert params.negatives_per_positive == 8
    assert params.strategy == "uniform"
    assert (params.eval_negatives, params.eval_seed) == (99, 2017)


def test_outputs_are_parquet_on_the_model_input_layer(conf):
    catalog = conf["catalog"]
    for name in OUTPUTS:
        entry = catalog[name]
        assert entry["type"] == "ncf_recommender.atomic.ParquetDataset"
        assert entry["filepath"] == f"data/default/05_model_input/{name}.parquet"
        assert entry["metadata"]["kedro-viz"]["layer"] == "model_input"
