"""``modelling.models``: a run trains only the models it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import MemoryDataset
from kedro.runner import SequentialRunner
from pydantic import ValidationError

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.modelling import pipeline as modelling
from ncf_recommender.pipelines.modelling.nodes import full_ranking_users
from ncf_recommender.pipelines.modelling.params import EvaluationParams
from ncf_recommender.pipelines.modelling.selection import (
    DEFAULT_MODELS,
    MODELS,
    ModellingParams,
    select_models,
)
from ncf_recommender.pipelines.recommendation import pipeline as recommendation
from tests.pipelines.modelling.test_pipeline import (
    _catalog,
    planted_splits,
    small_parameters,
)

PROJECT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _reset_selection():
    yield
    select_models(None)
    pipelines.configure("ncf_recommender.pipeline_registry")


def test_selection_is_validated_and_put_in_dependency_order():
    assert ModellingParams().models == DEFAULT_MODELS
    assert "content_sasrec" in MODELS and "content_sasrec" not in DEFAULT_MODELS
    assert ModellingParams(models=["gru", "gmf", "als"]).models == ("gmf", "gru")
    assert ModellingParams(models="sasrec+gru").models == ("sasrec", "gru")
    with pytest.raises(ValidationError, match=r"unknown model\(s\) \['bert4rec'\]"):
        ModellingParams(models=["gmf", "bert4rec"])
    with pytest.raises(ValidationError, match="at least one of"):
        ModellingParams(models=["als"])
    with pytest.raises(ValidationError, match="more than once"):
        ModellingParams(models=["gmf", "gmf"])


def test_pipelines_hold_only_the_selected_models():
    names = {node.namespace for node in modelling.create_pipeline(("gru",)).nodes}
    assert names == {"gru", "baselines", None}
    inputs = recommendation.create_pipeline(("gmf", "gru")).inputs()
    assert {"gmf_model", "gru_model"} <= inputs
    assert not {"mlp_model", "neumf_model", "sasrec_model"} & inputs


@pytest.mark.slow
def test_a_subset_run_reports_only_it_and_the_baselines(tmp_path):
    conf = EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
    )
    pipeline = modelling.create_pipeline(("gmf",))
    catalog = _catalog(conf, tmp_path)
    for name, value in {**planted_splits(), **small_parameters(conf)}.items():
        catalog[name] = MemoryDataset(value)
    SequentialRunner().run(pipeline, catalog)
    assert list(catalog.load("ranking_metrics")) == ["gmf", "most_popular", "als"]
    assert not (tmp_path / "mlp_model.keras").exists()


def test_the_session_builds_pipelines_from_runtime_params():
    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"modelling": {"models": "sasrec+gru"}}
    ) as session:
        session.load_context()
        trained = {
            node.namespace
            for node in pipelines["modelling"].nodes
            if node.name.endswith("train_model")
        }
        assert trained == {"sasrec", "gru"}
        assert "gmf_model" not in pipelines["recommendation"].inputs()
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"modelling": {"models": ["gmf"]}}
    ) as session:
        session.load_context()
        assert "gmf.train_model" in {n.name for n in pipelines["modelling"].nodes}
        assert "sasrec_model" not in pipelines["__default__"].all_outputs()


def test_an_unknown_model_stops_the_session_naming_it():
    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"modelling": {"models": ["gmff"]}}
    ) as session:
        with pytest.raises(ValidationError, match="gmff"):
            session.load_context()


class _Scorer:
    def __init__(self, n_items: int, pairwise: bool | None) -> None:
        self.n_items = n_items
        if pairwise is not None:
            self.pairwise = pairwise


def test_only_pairwise_scorers_above_the_pair_budget_are_sampled():
    budget = EvaluationParams(pairwise_max_pairs=1_000)
    assert full_ranking_users(_Scorer(10, True), 100, budget) is None  # 1,000 pairs
    assert full_ranking_users(_Scorer(10, True), 101, budget) == 100
    assert full_ranking_users(_Scorer(10, False), 10**6, budget) is None
    assert full_ranking_users(_Scorer(10, None), 10**6, budget) is None
    assert full_ranking_users(_Scorer(10, True), 10**6, EvaluationParams()) is None
