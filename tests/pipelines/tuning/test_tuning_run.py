"""``kedro run --pipeline tuning`` end to end on the small generated source.

One project copy (``TEST_SOURCE``) is processed once; GMF is tuned with a
2-value embedding space and 1-epoch trials, first 1 trial, then resumed to 2;
``modelling`` with ``use_tuned: true`` then trains GMF with the tuned values.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.pipelines.modelling.selection import (
    select_models,
    use_tuned_parameters,
)
from ncf_recommender.pipelines.tuning.hooks import MissingTunedParametersError
from ncf_recommender.pipelines.tuning.selection import select_tuned_models
from tests.conftest import TEST_SOURCE, make_project_copy

#: The copy's whole ``tuning`` group (conf/local replaces conf/base's group).
TUNING = {
    "tuning": {
        "seeds": [3],
        "pruner": "none",
        "spaces": {
            "gmf": {
                "model.embedding_dim": {"type": "categorical", "choices": [4, 12]},
                "negative_sampling.negatives_per_positive": {
                    "type": "int",
                    "low": 1,
                    "high": 2,
                },
            }
        },
        "fixed": {"gmf": {"training_overrides.epochs": 1}},
    },
}
#: Quick settings of every run here (merged key by key into the configuration).
QUICK = {
    "modelling": {"models": ["gmf"]},
    "training": {"epochs": 2, "max_validation_users": 300},
    "baselines": {"als": {"factors": 8, "iterations": 2}},
}


def _merge(base: dict, change: dict) -> dict:
    merged = dict(base)
    for key, value in change.items():
        merged[key] = (
            _merge(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return merged


def _run(project: Path, pipeline: str, **changes) -> None:
    params = _merge(QUICK, changes)
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[pipeline])


def _versions(project: Path, name: str) -> list[dict]:
    folder = project / "data" / "default" / "06_models" / f"{name}.json"
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"*/{name}.json"))]


@pytest.fixture(scope="module")
def tuned_project(tmp_path_factory: pytest.TempPathFactory):
    project = make_project_copy(tmp_path_factory.mktemp("tuning"), TEST_SOURCE)
    (project / "conf" / "local" / "parameters_tuning.yml").write_text(
        yaml.safe_dump(TUNING)
    )
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "feature_engineering"])
    _run(project, "tuning", tuning={"n_trials": 1})
    _run(project, "tuning", tuning={"n_trials": 2})
    yield project
    select_models(None)
    select_tuned_models(None)
    use_tuned_parameters(False)
    pipelines.configure("ncf_recommender.pipeline_registry")


@pytest.mark.slow
def test_a_resumed_study_runs_only_the_missing_trial(tuned_project):
    first, second = _versions(tuned_project, "gmf_tuned_parameters")
    assert first["trials"] == {"complete": 1, "pruned": 0, "failed": 0, "this_run": 1}
    assert second["trials"] == {"complete": 2, "pruned": 0, "failed": 0, "this_run": 1}
    assert first["study_name"] == second["study_name"]
    storage = tuned_project / "data" / "default" / "06_models" / "tuning" / "gmf.db"
    assert Path(second["storage"]) == storage
    trials = optuna.load_study(
        study_name=second["study_name"], storage=f"sqlite:///{storage}"
    ).trials
    assert [t.number for t in trials] == [0, 1]
    # The first trial is the configured setting where it lies in the space (here
    # neither 64 nor 8 does): the rest are sampled.
    assert trials[0].user_attrs["configured"] is True
    # tuning.fixed applies to every trial: one epoch each.
    assert [t.user_attrs["seed_3"]["epochs_run"] for t in trials] == [1, 1]
    assert second["seeds"] == [3] and "other seeds" in second["note"]
    assert second["best_val_ndcg@10"] == max(t.value for t in trials)
    assert set(second["best_overrides"]) == {
        "model.embedding_dim",
        "negative_sampling.negatives_per_positive",
    }
    reporting = tuned_project / "data" / "default" / "08_reporting"
    for plot in ("gmf_tuning_history.png", "gmf_tuning_importance.png"):
        assert len(list(reporting.glob(f"{plot}/*/{plot}"))) == 2


@pytest.mark.slow
def test_modelling_trains_with_the_tuned_values(tuned_project):
    tuned = _versions(tuned_project, "gmf_tuned_parameters")[-1]["best_overrides"]
    _run(tuned_project, "modelling", modelling={"use_tuned": True})
    with KedroSession.create(
        project_path=tuned_project, runtime_params=QUICK
    ) as session:
        catalog = session.load_context().catalog
        model = catalog.load("gmf_model")
        history = catalog.load("gmf_training_history")
        train = catalog.load("train_interactions")
    embedding = next(
        layer for layer in model.layers if "embedding" in layer.name.lower()
    )
    assert embedding.get_weights()[0].shape[1] == tuned["model.embedding_dim"]
    k = tuned["negative_sampling.negatives_per_positive"]
    trained = history[history["epoch"] >= 1]  # epoch 0: the untrained model
    assert (trained["examples"] == len(train) * (1 + k)).all()
    assert len(trained) == 2  # modelling's epochs, not the trials' fixed 1


@pytest.mark.slow
def test_use_tuned_without_a_study_says_to_run_tuning(tuned_project):
    with pytest.raises(MissingTunedParametersError, match="--pipeline tuning"):
        _run(
            tuned_project, "modelling", modelling={"models": ["mlp"], "use_tuned": True}
        )
