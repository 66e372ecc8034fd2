"""Every environment keeps its files under ``data/<env>``; real samples stop clearly when too sparse."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.config import (
    DEFAULT_DATA_ENV,
    EnvironmentConfigLoader,
    data_env_name,
)
from ncf_recommender.pipelines.data_processing.nodes import InsufficientDataError
from tests.conftest import PROJECT_ROOT, make_project_copy

#: The first 50,698 lines of the real 2014 ratings_Electronics.csv (see its README).
REAL_HEAD = (
    PROJECT_ROOT.parent
    / "shared"
    / "datasets"
    / "amazon"
    / "ratings_Electronics_head50k.csv"
)
needs_real_head = pytest.mark.skipif(
    not REAL_HEAD.exists(), reason=f"real Amazon sample not found at {REAL_HEAD}"
)
TWO_CORE = {"kcore": {"min_user_interactions": 2, "min_item_interactions": 2}}


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _with_real_head(project: Path) -> Path:
    raw = project / "data" / "amazon-2014" / "01_raw"
    raw.mkdir(parents=True)
    shutil.copy(REAL_HEAD, raw / "ratings_Electronics.csv")
    bootstrap_project(project)
    return project


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, DEFAULT_DATA_ENV),
        ("local", DEFAULT_DATA_ENV),
        ("amazon-2014", "amazon-2014"),
    ],
)
def test_data_env_name(env, expected):
    assert data_env_name(env) == expected


@pytest.mark.parametrize("env", [None, "amazon-2014", "movielens", "synthetic-full"])
def test_every_path_of_an_environment_is_under_its_own_data_root(env):
    catalog = EnvironmentConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        base_env="base",
        default_run_env="local",
    )["catalog"]
    root = f"data/{data_env_name(env)}/"
    paths = {
        name: entry["filepath"]
        for name, entry in catalog.items()
        if isinstance(entry, dict) and "filepath" in entry
    }
    assert paths, "no catalog entry has a filepath"
    outside = {name: path for name, path in paths.items() if not path.startswith(root)}
    assert not outside, f"entries outside {root}: {outside}"


def test_a_globals_file_can_move_the_data_root(tmp_path):
    conf = shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf")
    (conf / "movielens" / "globals.yml").write_text("data_root: /mnt/big/movielens\n")
    catalog = EnvironmentConfigLoader(
        conf_source=str(conf), env="movielens", base_env="base", default_run_env="local"
    )["catalog"]
    assert catalog["interactions"]["filepath"] == (
        "/mnt/big/movielens/03_primary/interactions.parquet"
    )


@pytest.mark.slow
@needs_real_head
def test_a_run_in_one_environment_leaves_another_byte_identical(tmp_path):
    project = _with_real_head(
        make_project_copy(tmp_path, {"n_ratings": 20_000, "seed": 3})
    )
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "feature_engineering"])
    default = project / "data" / DEFAULT_DATA_ENV
    before = _digests(default)
    assert "03_primary/interactions.parquet" in before
    with KedroSession.create(
        project_path=project, env="amazon-2014", runtime_params=TWO_CORE
    ) as session:
        session.run(pipeline_names=["data_processing", "feature_engineering"])
    assert _digests(default) == before
    written = _digests(project / "data" / "amazon-2014")
    assert "03_primary/interactions.parquet" in written
    assert "05_model_input/test_candidates.parquet" in written
    assert sorted(p.name for p in (project / "data").iterdir()) == [
        "amazon-2014",
        DEFAULT_DATA_ENV,
    ]


@pytest.mark.slow
@needs_real_head
def test_the_real_head_stops_with_a_clear_message_under_a_5_core(tmp_path):
    project = _with_real_head(make_project_copy(tmp_path))
    with KedroSession.create(project_path=project, env="amazon-2014") as session:
        with pytest.raises(InsufficientDataError) as info:
            session.run(pipeline_names=["data_processing"])
    message = str(info.value)
    assert message.startswith(
        "k-core (5, 5) left 0 of 50,698 ratings (0 users, 0 items"
    )
    assert "too sparse for a 5-core" in message
    assert "kcore.min_user_interactions" in message and "minimum_data.items" in message
    # Nothing downstream of the stop was written.
    assert not (project / "data" / "amazon-2014" / "03_primary").exists()


@pytest.mark.slow
@needs_real_head
def test_the_real_head_runs_every_pipeline_under_a_2_core(tmp_path):
    project = _with_real_head(make_project_copy(tmp_path))
    with KedroSession.create(
        project_path=project, env="amazon-2014", runtime_params=TWO_CORE
    ) as session:
        session.run()
    data = project / "data" / "amazon-2014"
    metrics = list((data / "08_reporting" / "ranking_metrics.json").glob("*/*.json"))
    recommendations = list(
        (data / "07_model_output" / "recommendations.parquet").glob("*/*.parquet")
    )
    assert len(metrics) == 1 and len(recommendations) == 1
    report = json.loads(metrics[0].read_text())
    assert {"gmf", "most_popular", "als"} <= set(report)
    top = pd.read_parquet(recommendations[0])
    mapping = pd.read_parquet(data / "03_primary" / "user_mapping.parquet")
    assert set(top["user_id"]) == set(mapping["user_id"])


@pytest.mark.parametrize(
    ("env", "variable", "folder"),
    [
        ("amazon-2014", None, "amazon-2014"),
        (None, "movielens", "movielens"),
        (None, None, DEFAULT_DATA_ENV),
    ],
)
def test_serving_reads_the_environment_it_is_given(
    tmp_path, monkeypatch, env, variable, folder
):
    from ncf_recommender.serving._loading import KEDRO_ENV_ENV, open_project  # noqa: PLC0415

    project = make_project_copy(tmp_path)
    if variable is None:
        monkeypatch.delenv(KEDRO_ENV_ENV, raising=False)
    else:
        monkeypatch.setenv(KEDRO_ENV_ENV, variable)
    store, _ = open_project(project, env)
    for name in ("interactions", "user_mapping", "gmf_model", "ranking_metrics"):
        path = Path(store.catalog.get(name)._describe()["filepath"])
        assert path.is_relative_to(project / "data" / folder), (name, path)


@pytest.mark.parametrize("env", ["amazon-grocery", "movielens", None])
def test_params_merge_key_by_key_in_every_environment(env):
    """``--params training.seed=3`` changes that key only, in any environment."""
    runtime = {"training": {"seed": 3}, "baselines": {"als": {"seed": 4}}}
    plain, overridden = (
        EnvironmentConfigLoader(
            conf_source=str(PROJECT_ROOT / "conf"),
            env=env,
            base_env="base",
            default_run_env="local",
            runtime_params=params,
        )["parameters"]
        for params in (None, runtime)
    )
    expected = {
        **plain,
        "training": {**plain["training"], "seed": 3},
        "baselines": {
            **plain["baselines"],
            "als": {**plain["baselines"]["als"], "seed": 4},
        },
    }
    assert overridden == expected
    assert len(plain["training"]) > 5, "the base group reaches the environment"


@pytest.mark.parametrize(("env", "budget"), [(None, None), ("synthetic-full", 90)])
def test_the_training_budget_comes_from_the_environment_globals(env, budget):
    """Only synthetic-full bounds training by wall clock; both groups read one value."""
    params = EnvironmentConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        base_env="base",
        default_run_env="local",
    )["parameters"]
    assert params["training"]["max_train_seconds"] == budget
    assert params["sequence_training"]["max_train_seconds"] == budget
