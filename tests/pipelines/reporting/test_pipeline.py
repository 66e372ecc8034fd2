"""The reporting pipeline run end to end on tiny data, and its catalog entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.reporting import pipeline as reporting
from ncf_recommender.pipelines.reporting.nodes import ReportingParams

PROJECT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def conf() -> EnvironmentConfigLoader:
    return EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
    )


def _inputs() -> dict:
    interactions = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "b"],
            "item_id": ["x", "y", "z", "x", "y", "z"],
            "user_idx": np.array([0, 0, 0, 1, 1, 1], dtype=np.int32),
            "item_idx": np.array([0, 1, 2, 0, 1, 2], dtype=np.int32),
            "rating": [5.0, 4.0, 3.0, 5.0, 1.0, 2.0],
            "timestamp": 1_388_534_400 + np.arange(6) * 86_400,
        }
    )
    ks = np.arange(1, 21)
    return {
        "raw_ratings": interactions[["user_id", "item_id", "rating", "timestamp"]],
        "interactions": interactions,
        "cleaning_report": {
            "rows_in": 8,
            "rows_dropped": {"missing_user_id": 1},
            "duplicates_collapsed": 1,
            "kcore": {"rounds": 0, "rows_dropped": 0, "min_user_interactions": 1},
            "rows_out": 6,
        },
        "ranking_metrics": {
            "gmf": {"full": {"curve": {"hr": list(ks / 20), "ndcg": list(ks / 40)}}},
            "most_popular": {
                "full": {"curve": {"hr": list(ks / 40), "ndcg": list(ks / 80)}}
            },
        },
    }


def test_pipeline_turns_its_inputs_into_one_figure_per_output(conf):
    pipeline = reporting.create_pipeline()
    # A session validates ``params:reporting`` into ReportingParams before the run.
    params = ReportingParams.model_validate(conf["parameters"]["reporting"])
    catalog = DataCatalog(
        {name: MemoryDataset(value) for name, value in _inputs().items()}
        | {"params:reporting": MemoryDataset(params)}
    )
    assert pipeline.inputs() == set(catalog.keys())
    SequentialRunner().run(pipeline, catalog)
    for name in pipeline.outputs():
        assert isinstance(catalog.load(name), Figure), name
    assert len(catalog.load("ndcg_at_k_plot").axes[0].get_lines()) == 2


def test_tags_split_data_plots_from_model_plots():
    pipeline = reporting.create_pipeline()
    data = pipeline.only_nodes_with_tags(reporting.DATA_PLOTS_TAG)
    model = pipeline.only_nodes_with_tags(reporting.MODEL_PLOTS_TAG)
    assert "ranking_metrics" not in data.inputs()
    assert model.inputs() == {"ranking_metrics", "params:reporting"}
    assert len(data.nodes) + len(model.nodes) == len(pipeline.nodes)


def test_every_plot_is_a_versioned_matplotlib_dataset_on_the_reporting_layer(conf):
    entries = conf["catalog"]
    for name in reporting.create_pipeline().outputs():
        entry = entries.get(name)
        assert entry is not None, f"{name} has no catalog entry"
        assert entry["type"] == "ncf_recommender.atomic.MatplotlibDataset", name
        assert entry["versioned"] is True, name
        assert entry["filepath"].startswith("data/default/08_reporting/"), name
        assert entry["metadata"]["kedro-viz"]["layer"] == "reporting", name


def test_catalog_entry_saves_a_versioned_png(conf, tmp_path):
    entry = dict(conf["catalog"]["user_activity_plot"])
    entry["filepath"] = str(tmp_path / "user_activity.png")
    catalog = DataCatalog.from_config({"user_activity_plot": entry})
    inputs = _inputs()
    catalog.save(
        "user_activity_plot",
        reporting.plot_user_activity(
            inputs["raw_ratings"], inputs["interactions"], inputs["cleaning_report"]
        ),
    )
    saved = list((tmp_path / "user_activity.png").glob("*/user_activity.png"))
    assert len(saved) == 1 and saved[0].read_bytes()[:4] == b"\x89PNG"


def test_bad_reporting_parameter_fails_the_session_before_any_node_runs():
    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"reporting": {"time_bin": "hour"}}
    ) as session:
        with pytest.raises(Exception, match="reporting") as info:
            session.run(
                pipeline_names=["reporting"],
                node_names=["reporting.plot_interactions_over_time"],
            )
    assert "time_bin" in str(info.value)
