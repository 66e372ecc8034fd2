"""Experiment tracking: a ``kedro run`` is one MLflow run; switched off, nothing is written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking import MlflowClient

from ncf_recommender.tracking.hooks import (
    ExperimentTrackingHook,
    TrackingParams,
    local_store_config,
)
from ncf_recommender.tracking.records import (
    entry_metrics,
    history_metrics,
    metric_key,
    plain_parameters,
    split_fingerprint,
)
from tests.conftest import TEST_SOURCE, make_project_copy

EPOCHS = 2
#: Seconds-sized modelling parameters for the tracked run.
SMALL = {
    "training": {
        "epochs": EPOCHS,
        "patience": EPOCHS,
        "smoothing": 1,
        "batch_size": 256,
        "steps_per_execution": 5,
        "max_validation_users": 300,
    },
    "gmf": {"model": {"embedding_dim": 8}},
    "baselines": {"als": {"factors": 8, "iterations": 2}},
}
OFF = {"tracking": {"enabled": False}}


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """Data prepared with tracking off, then one tracked GMF + baselines run.

    Returns the project, the files the untracked run left outside ``data/``, and
    the client of the local store.
    """
    root = make_project_copy(tmp_path_factory.mktemp("tracked"), TEST_SOURCE)
    bootstrap_project(root)
    mp = pytest.MonkeyPatch()
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.chdir(root)  # a store written relative to the working folder would show here
    try:
        before = _files(root)
        with KedroSession.create(project_path=root, runtime_params=OFF) as session:
            session.run(pipeline_names=["data_processing", "feature_engineering"])
        # kedro-viz's hook writes .viz/stats.json on every run
        untracked = {
            p for p in _files(root) - before if p.parts[0] not in {"data", ".viz"}
        }
        with KedroSession.create(project_path=root, runtime_params=SMALL) as session:
            session.run(pipeline_names=["modelling"], tags=["gmf", "baselines"])
        client = MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
        yield root, untracked, client
    finally:
        # The process keeps MLflow pointed at this store: unsetting the URI makes
        # MLflow create its default ./mlflow.db at exit.
        mp.undo()


@pytest.mark.slow
def test_untracked_run_writes_nothing(tracked):
    root, untracked, _ = tracked
    assert untracked == set()
    # ... while the tracked run afterwards wrote its store there
    assert (root / "mlruns" / "mlflow.db").is_file()


@pytest.mark.slow
def test_tracked_run_is_one_run_in_the_environment_experiment(tracked):
    root, _, client = tracked
    experiments = [e.name for e in client.search_experiments()]
    assert "default" in experiments
    runs = client.search_runs([client.get_experiment_by_name("default").experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["training.epochs"] == str(EPOCHS)
    assert params["gmf.model.embedding_dim"] == "8"
    assert params["tracking.enabled"] == "True"
    assert int(params["data.rows"]) > 0 and int(params["data.users"]) > 0
    assert len(params["data.split_sha256"]) == 64
    assert "git.commit" in run.data.tags


@pytest.mark.slow
def test_tracked_run_logs_history_metrics_and_model(tracked):
    root, _, client = tracked
    (run,) = client.search_runs(
        [client.get_experiment_by_name("default").experiment_id]
    )
    run_id = run.info.run_id
    history = pd.read_csv(
        next(
            (root / "data/default/08_reporting/gmf_training_history.csv").rglob("*.csv")
        )
    )
    ndcg = client.get_metric_history(run_id, "gmf.val_ndcg_at_10")
    assert [m.step for m in ndcg] == history["epoch"].tolist()
    assert [m.value for m in ndcg] == pytest.approx(history["val_ndcg@10"].tolist())
    loss = client.get_metric_history(run_id, "gmf.loss")
    assert [m.step for m in loss] == history["epoch"][history["loss"].notna()].tolist()
    metrics = run.data.metrics
    for name in ("gmf", "most_popular", "als"):
        assert 0.0 <= metrics[f"{name}.full.ndcg_at_10"] <= 1.0
        assert 0.0 <= metrics[f"{name}.sampled.hr_at_10"] <= 1.0
    artifacts = {a.path for a in client.list_artifacts(run_id, "models")}
    assert artifacts == {"models/gmf_model.keras"}
    local = Path(client.download_artifacts(run_id, "models/gmf_model.keras"))
    assert local.stat().st_size > 0
    assert {a.path for a in client.list_artifacts(run_id)} >= {
        "models",
        "data_fingerprint.json",
    }


@pytest.mark.slow
def test_a_failed_run_is_marked_failed_and_the_next_run_is_its_own(
    tmp_path, monkeypatch
):
    root = make_project_copy(tmp_path, TEST_SOURCE)
    bootstrap_project(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    too_much = {"minimum_data": {"items": 10**9}}
    with KedroSession.create(project_path=root, runtime_params=too_much) as session:
        with pytest.raises(Exception, match="items"):
            session.run(pipeline_names=["data_processing"])
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_processing"])
    client = MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs(
        [client.get_experiment_by_name("default").experiment_id],
        order_by=["attributes.start_time ASC"],
    )
    assert [r.info.status for r in runs] == ["FAILED", "FINISHED"]
    assert runs[0].data.params["minimum_data.items"] == str(10**9)
    assert runs[1].data.params["minimum_data.items"] == "100"
    assert "data.split_sha256" in runs[1].data.params


def test_default_store_is_inside_the_project(tmp_path):
    conf = {"tracking": {"experiment": {"name": "synthetic-full"}}}
    filled = local_store_config(conf, tmp_path, environ={})
    assert filled["server"]["mlflow_tracking_uri"] == (
        f"sqlite:///{tmp_path.resolve().as_posix()}/mlruns/mlflow.db"
    )
    location = filled["tracking"]["experiment"]["create_experiment_kwargs"]
    assert location["artifact_location"].endswith("/mlruns/artifacts/synthetic-full")
    assert conf == {"tracking": {"experiment": {"name": "synthetic-full"}}}


def test_environment_or_configured_uri_wins(tmp_path):
    via_env = local_store_config(
        {}, tmp_path, environ={"MLFLOW_TRACKING_URI": "http://x"}
    )
    assert via_env == {}
    configured = {"server": {"mlflow_tracking_uri": "databricks"}}
    assert local_store_config(configured, tmp_path, environ={}) == configured
    assert not (tmp_path / "mlruns").exists()


def test_a_sqlite_store_keeps_its_artifacts_beside_it(tmp_path):
    uri = f"sqlite:///{tmp_path.as_posix()}/runs/mlflow.db"
    filled = local_store_config(
        {}, Path("/elsewhere"), environ={"MLFLOW_TRACKING_URI": uri}
    )
    assert filled["server"] == {}  # kedro-mlflow reads the variable itself
    location = filled["tracking"]["experiment"]["create_experiment_kwargs"]
    assert (
        location["artifact_location"] == (tmp_path / "runs/artifacts/default").as_uri()
    )


def test_the_project_registers_the_tracking_hook_instead_of_the_plugin(tmp_path):
    root = make_project_copy(tmp_path)
    bootstrap_project(root)
    assert any(isinstance(h, ExperimentTrackingHook) for h in settings.HOOKS)
    assert "kedro_mlflow" in settings.DISABLE_HOOKS_FOR_PLUGINS


def test_tracking_parameters_reject_unknown_keys():
    with pytest.raises(ValueError, match="enable"):
        TrackingParams.model_validate({"enable": False})


def test_history_metrics_are_steps_per_epoch():
    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "loss": [float("nan"), 0.5, 0.4],
            "val_ndcg@10": [0.1, 0.2, 0.3],
        }
    )
    records = history_metrics("gmf", history)
    assert ("gmf.loss", 0.5, 1) in records
    assert [r for r in records if r[0] == "gmf.loss"] == [
        ("gmf.loss", 0.5, 1),
        ("gmf.loss", 0.4, 2),
    ]
    assert [r[2] for r in records if r[0] == "gmf.val_ndcg_at_10"] == [0, 1, 2]
    with pytest.raises(KeyError, match="gmf_training_history"):
        history_metrics("gmf", history.drop(columns="epoch"))


def test_entry_metrics_name_block_and_metric():
    entry = {
        "full": {"ndcg@10": 0.2, "users": 5},
        "sampled": {"hr@10": 0.5},
        "best_epoch": 3,
    }
    assert entry_metrics("als", entry) == {
        "als.full.ndcg_at_10": 0.2,
        "als.full.users": 5.0,
        "als.sampled.hr_at_10": 0.5,
        "als.best_epoch": 3.0,
    }
    with pytest.raises(KeyError, match="'als' has no 'sampled'"):
        entry_metrics("als", {"full": {}})
    assert metric_key("gmf", "coverage@10") == "gmf.coverage_at_10"


def test_split_fingerprint_counts_and_changes_with_the_split():
    train = pd.DataFrame({"user_idx": [0, 0, 1, 2], "item_idx": [0, 1, 1, 3]})
    val = pd.DataFrame({"user_idx": [0, 1], "item_idx": [2, 2]})
    test = pd.DataFrame({"user_idx": [0, 1], "item_idx": [3, 4]})
    splits = {
        "train_interactions": train,
        "val_interactions": val,
        "test_interactions": test,
    }
    fingerprint = split_fingerprint(splits)
    assert (fingerprint["rows"], fingerprint["users"], fingerprint["items"]) == (
        8,
        3,
        5,
    )
    assert fingerprint["train_rows"] == 4
    assert split_fingerprint(dict(splits)) == fingerprint
    moved = {**splits, "test_interactions": test.assign(item_idx=[3, 0])}
    assert split_fingerprint(moved)["split_sha256"] != fingerprint["split_sha256"]
    with pytest.raises(KeyError, match="val_interactions"):
        split_fingerprint({"train_interactions": train, "test_interactions": test})


def test_validated_parameter_groups_become_plain_values():
    params = {"tracking": TrackingParams(enabled=False), "ks": (5, 10), "x": {"y": 1}}
    assert plain_parameters(params) == {
        "tracking": {"enabled": False, "log_models": True},
        "ks": [5, 10],
        "x": {"y": 1},
    }
