"""The modelling pipeline end to end on tiny planted data, and its configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from pydantic import ValidationError

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.modelling import pipeline as modelling
from ncf_recommender.pipelines.modelling.nodes import (
    combine_ranking_metrics,
    evaluate_als,
)
from ncf_recommender.pipelines.modelling.params import (
    BaselineParams,
    EvaluationParams,
    ModelParams,
    SequenceModelParams,
    SequenceTrainingOverrides,
    SequenceTrainingParams,
    TrainingOverrides,
    TrainingParams,
)
from ncf_recommender.training.sampling import NegativeSampler
from tests.catalog_entries import ResolvedCatalog

PROJECT = Path(__file__).resolve().parents[3]
N_USERS, N_ITEMS, PER_USER, N_CANDIDATES = 120, 40, 12, 10


@pytest.fixture(scope="module")
def conf() -> EnvironmentConfigLoader:
    return EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
    )


def planted_splits() -> dict[str, pd.DataFrame]:
    """Two taste groups of users and items; leave-last-two split by timestamp."""
    rng = np.random.default_rng(0)
    half = N_ITEMS // 2
    users = np.repeat(np.arange(N_USERS), PER_USER)
    groups = users % 2
    items = (
        np.concatenate(
            [rng.choice(half, PER_USER, replace=False) for _ in range(N_USERS)]
        )
        + groups * half
    )
    position = np.tile(np.arange(PER_USER), N_USERS)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in items],
            "user_idx": users.astype(np.int32),
            "item_idx": items.astype(np.int32),
            "rating": 5.0,
            "timestamp": 1_400_000_000 + position * 3600,
        }
    )
    test = frame[position == PER_USER - 1].reset_index(drop=True)
    val = frame[position == PER_USER - 2].reset_index(drop=True)
    train = frame[position < PER_USER - 2].reset_index(drop=True)
    seen = np.zeros((N_USERS, N_ITEMS), dtype=bool)
    seen[users, items] = True
    candidates = np.stack(
        [rng.choice(np.flatnonzero(~row), N_CANDIDATES, replace=False) for row in seen]
    )
    return {
        "train_interactions": train,
        # feature_engineering's sampler (negative_sampling: 8 negatives per positive).
        "negative_sampler": NegativeSampler(
            train["user_idx"], train["item_idx"], N_ITEMS, negatives_per_positive=8
        ),
        "val_interactions": val,
        "test_interactions": test,
        "test_candidates": pd.DataFrame(
            {
                "user_idx": np.repeat(np.arange(N_USERS), N_CANDIDATES).astype(
                    np.int32
                ),
                "item_idx": candidates.ravel().astype(np.int32),
            }
        ),
        "user_mapping": pd.DataFrame(
            {
                "user_id": [f"u{u}" for u in range(N_USERS)],
                "user_idx": np.arange(N_USERS),
            }
        ),
        "item_mapping": pd.DataFrame(
            {
                "item_id": [f"i{i}" for i in range(N_ITEMS)],
                "item_idx": np.arange(N_ITEMS),
            }
        ),
    }


def small_parameters(conf: EnvironmentConfigLoader) -> dict[str, object]:
    """The base parameters, shrunk to seconds, validated as a session would."""
    params = conf["parameters"]
    training = {
        **params["training"],
        "epochs": 3,
        "batch_size": 64,
        "learning_rate": 0.02,
        "smoothing": 1,
        "steps_per_execution": 5,
    }
    models = {
        "gmf": {"architecture": "gmf", "embedding_dim": 8},
        "mlp": {"architecture": "mlp", "embedding_dim": 8, "layers": [16, 8]},
        "neumf": {
            **params["neumf"]["model"],
            "gmf_dim": 8,
            "mlp_dim": 8,
            "layers": [16, 8],
        },
    }
    values: dict[str, object] = {
        "params:training": TrainingParams.model_validate(training),
        "params:evaluation": EvaluationParams.model_validate(params["evaluation"]),
        "params:baselines": BaselineParams.model_validate(
            {"als": {**params["baselines"]["als"], "factors": 8, "iterations": 5}}
        ),
    }
    for name, model in models.items():
        values[f"params:{name}.model"] = ModelParams.model_validate(model)
        values[f"params:{name}.training_overrides"] = TrainingOverrides.model_validate(
            params[name]["training_overrides"]
        )
    values["params:sequence_training"] = SequenceTrainingParams.model_validate(
        {
            **params["sequence_training"],
            "epochs": 2,
            "batch_size": 32,
            "n_negatives": 8,
            "decay_epochs": None,
        }
    )
    sequence_models = {
        "sasrec": {**params["sasrec"]["model"], "max_len": 8, "dim": 8, "blocks": 1},
        "gru": {**params["gru"]["model"], "max_len": 8, "dim": 8},
    }
    for name, model in sequence_models.items():
        values[f"params:{name}.model"] = SequenceModelParams.model_validate(model)
        values[f"params:{name}.training_overrides"] = (
            SequenceTrainingOverrides.model_validate(params[name]["training_overrides"])
        )
    return values


def _catalog(conf: EnvironmentConfigLoader, tmp_path: Path) -> DataCatalog:
    """The real catalog entries of the outputs, written under ``tmp_path``."""
    entries = {}
    for name in modelling.create_pipeline().all_outputs():
        entry = ResolvedCatalog(conf["catalog"]).get(name)
        if entry is not None:
            entries[name] = {
                **entry,
                "filepath": str(tmp_path / Path(entry["filepath"]).name),
            }
    return DataCatalog.from_config(entries)


@pytest.mark.slow
def test_pipeline_trains_evaluates_and_reports_every_model(conf, tmp_path):
    pipeline = modelling.create_pipeline()
    catalog = _catalog(conf, tmp_path)
    for name, value in {**planted_splits(), **small_parameters(conf)}.items():
        catalog[name] = MemoryDataset(value)
    assert pipeline.inputs() <= set(catalog.keys())
    SequentialRunner().run(pipeline, catalog)

    report = catalog.load("ranking_metrics")
    assert list(report) == [*modelling.DEFAULT_MODELS, "most_popular", "als"]
    assert list(report)[:5] == ["gmf", "mlp", "neumf", "sasrec", "gru"]
    for name, entry in report.items():
        for scope in ("full", "sampled"):
            values = [entry[scope][key] for key in ("hr@10", "ndcg@10", "mrr")]
            assert all(0.0 <= value <= 1.0 for value in values), (name, scope)
        assert entry["train_seconds"] >= 0 and entry["eval_seconds"] > 0, name
        assert 0.0 <= entry["validation"]["ndcg@10"] <= 1.0, name
    # Popularity is flat in the planted data, so most_popular ranks about at
    # random; the Keras models learn the groups.
    for name in ("gmf", "neumf"):
        assert (
            report[name]["full"]["ndcg@10"]
            > report["most_popular"]["full"]["ndcg@10"] + 0.1
        )
        assert report[name]["best_epoch"] >= 0
    assert report["gmf"]["accuracy"] is not None and report["als"]["accuracy"] is None
    # NeuMF starts from this run's GMF and MLP: producing it costs their training too.
    neumf = report["neumf"]
    assert neumf["pretrained_from"] == ["gmf", "mlp"]
    assert neumf["seconds_to_best_with_pretraining"] == pytest.approx(
        report["gmf"]["train_seconds"]
        + report["mlp"]["train_seconds"]
        + neumf["seconds_to_best"]
    )
    assert "seconds_to_best_with_pretraining" not in report["gmf"]
    for name in ("sasrec", "gru"):
        entry = report[name]
        assert entry["accuracy"] is None and entry["log_loss"] is None, name
        assert entry["note"] and "train + validation" in entry["protocol_note"]
        assert entry["best_epoch"] >= 1 and entry["epochs_run"] <= 2
        assert entry["seconds_to_best"] <= entry["train_seconds"]
        assert len(entry["full"]["curve"]["ndcg"]) == 20
        assert catalog.load(f"{name}_training_history")["selected"].sum() == 1

    history = catalog.load("gmf_training_history")
    assert history["epoch"].tolist() == [0, 1, 2, 3] and history["selected"].sum() == 1
    for plot in ("learning_curves", "model_comparison"):
        saved = list((tmp_path / f"{plot}.png").glob(f"*/{plot}.png"))
        assert len(saved) == 1 and saved[0].read_bytes()[:4] == b"\x89PNG"
    reloaded = catalog.load("neumf_model")
    assert reloaded.name == "neumf"


def test_pretraining_time_is_added_only_when_the_sources_are_in_the_report():
    entry = {"full": {}, "sampled": {}, "train_seconds": 5.0, "seconds_to_best": 3.0}
    neumf = {**entry, "pretrained_from": ["gmf", "mlp"]}
    gmf = {**entry, "train_seconds": 10.0}
    mlp = {**entry, "train_seconds": 20.0}
    report = combine_ranking_metrics(gmf=gmf, mlp=mlp, neumf=neumf)
    assert report["neumf"]["seconds_to_best_with_pretraining"] == 33.0
    assert "seconds_to_best_with_pretraining" not in neumf  # inputs left as they were
    alone = combine_ranking_metrics(neumf=neumf)  # e.g. --tags neumf
    assert "seconds_to_best_with_pretraining" not in alone["neumf"]


def test_one_template_is_reused_per_model_type():
    pipeline = modelling.create_pipeline(modelling.MODELS)
    assert modelling.MODELS == modelling.NCF_MODELS + modelling.SEQUENCE_MODELS
    for name in modelling.MODELS:
        nodes = pipeline.only_nodes_with_namespaces([name]).nodes
        assert sorted(node.name for node in nodes) == [
            f"{name}.describe_model",
            f"{name}.evaluate_model",
            f"{name}.train_model",
        ]
        train = next(node for node in nodes if node.name.endswith("train_model"))
        shared = (
            "params:sequence_training"
            if name in modelling.SEQUENCE_MODELS
            else "params:training"
        )
        assert f"params:{name}.model" in train.inputs and shared in train.inputs
        assert f"{name}_model" in train.outputs
        describe = next(n for n in nodes if n.name.endswith("describe_model"))
        assert describe.inputs == [f"{name}_model", "user_mapping", "item_mapping"]
        assert describe.outputs == [f"{name}_model_info"]
    neumf_train = pipeline.only_nodes("neumf.train_model").nodes[0]
    assert {"gmf_model", "mlp_model"} <= set(neumf_train.inputs)
    content_train = pipeline.only_nodes("content_sasrec.train_model").nodes[0]
    assert {"item_features", "item_feature_vocabulary"} <= set(content_train.inputs)
    assert pipeline.outputs() == {
        "learning_curves_plot",
        "model_comparison_plot",
        *(f"{name}_model_info" for name in modelling.MODELS),
    }


def test_artifacts_are_versioned_catalog_entries(conf):
    catalog = ResolvedCatalog(conf["catalog"])
    for name in modelling.MODELS:
        model = catalog[f"{name}_model"]
        assert model["type"] == "ncf_recommender.atomic.TensorFlowModelDataset"
        assert model["filepath"].endswith(f"{name}_model.keras")
        assert model["load_args"]["safe_mode"] is True
        assert catalog[f"{name}_training_history"]["versioned"] is True
    assert catalog["ranking_metrics"]["type"] == "ncf_recommender.atomic.JSONDataset"
    for name in (
        "gmf_model",
        "ranking_metrics",
        "learning_curves_plot",
        "model_comparison_plot",
    ):
        assert catalog[name]["versioned"] is True, name


@pytest.mark.parametrize("env", ["base", "movielens"])
def test_parameters_of_each_environment_validate(env):
    params = EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env=env
    )["parameters"]
    TrainingParams.model_validate(params["training"])
    EvaluationParams.model_validate(params["evaluation"])
    BaselineParams.model_validate(params["baselines"])
    for name in modelling.NCF_MODELS:
        spec = ModelParams.model_validate(params[name]["model"]).root
        assert spec.architecture == name
        TrainingOverrides.model_validate(params[name]["training_overrides"])
    neumf = params["neumf"]["model"]
    if neumf["pretrained"]:  # the towers take the trained GMF's and MLP's weights
        assert neumf["gmf_dim"] == params["gmf"]["model"]["embedding_dim"]
        assert neumf["mlp_dim"] == params["mlp"]["model"]["embedding_dim"]
        assert neumf["layers"] == params["mlp"]["model"]["layers"]


def test_overrides_change_only_what_they_set():
    shared = TrainingParams(learning_rate=0.001, epochs=10)
    merged = shared.with_overrides(TrainingOverrides(learning_rate=0.01))
    assert merged.learning_rate == 0.01 and merged.epochs == 10


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"architecture": "gmf", "embedding_dim": 0}, "embedding_dim"),
        ({"architecture": "gmf", "embeding_dim": 8}, "embeding_dim"),
        ({"architecture": "transformer"}, "architecture"),
        ({"architecture": "neumf", "alpha": 1.5}, "alpha"),
        ({"architecture": "mlp", "dropout": 1.0}, "dropout"),
    ],
)
def test_bad_model_parameters_name_the_key(model, message):
    with pytest.raises(ValidationError, match=message):
        ModelParams.model_validate(model)


def test_bad_parameter_fails_the_session_before_any_node_runs():
    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"training": {"batch_size": 0}}
    ) as session:
        with pytest.raises(Exception, match="training") as info:
            session.run(pipeline_names=["modelling"], node_names=["gmf.train_model"])
    assert "batch_size" in str(info.value)


def test_als_keeps_the_setting_that_validation_ranks_best():
    splits = planted_splits()
    inputs = [
        splits[name]
        for name in (
            "train_interactions",
            "val_interactions",
            "test_interactions",
            "test_candidates",
            "user_mapping",
            "item_mapping",
        )
    ]
    evaluation = EvaluationParams(ks=(5, 20))  # the choice reads NDCG@10 anyway
    grid = BaselineParams.model_validate(
        {
            "als": {
                "factors": 8,
                "iterations": 5,
                "regularization": [0.1, 1e6],
                "alpha": [0.0, 5.0],
            }
        }
    )
    entry = evaluate_als(*inputs, grid, evaluation)
    selection = entry["als_selection"]
    assert [(row["regularization"], row["alpha"]) for row in selection["tried"]] == [
        (0.1, 0.0),
        (0.1, 5.0),
        (1e6, 0.0),
        (1e6, 5.0),
    ]
    best = max(selection["tried"], key=lambda row: row["val_ndcg@10"])
    assert (selection["regularization"], selection["alpha"]) == (
        best["regularization"],
        best["alpha"],
    )
    # the planted taste groups are learnt with little L2, not with a crushing one
    assert selection["regularization"] == 0.1
    # the evaluated model is the chosen one: refit it alone and compare test
    alone = BaselineParams.model_validate(
        {
            "als": {
                "factors": 8,
                "iterations": 5,
                "regularization": 0.1,
                "alpha": best["alpha"],
            }
        }
    )
    single = evaluate_als(*inputs, alone, evaluation)
    assert "als_selection" not in single
    assert single["full"] == entry["full"]
