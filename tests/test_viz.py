"""``kedro viz build`` works offline and shows the project's lineage.

The build runs in a temporary copy of the project (``kedro viz build`` always
writes ``./build`` under the working directory, and exits 0 even when it fails,
so the test checks the files it wrote). The expectations on datasets are
data-driven: for every registered pipeline, the public datasets of the catalog
contract (docs/pipelines.md) that it owns must be in the lineage, produced by a node and
on their contract layer, so the test grows with the project and fails if a
contract dataset goes missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog
from matplotlib.figure import Figure

from ncf_recommender.config import EnvironmentConfigLoader
from tests.conftest import make_project_copy

PROJECT = Path(__file__).resolve().parents[1]

#: The layers of the project, in lineage order.
LAYERS = (
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
)

#: Public datasets of the catalog contract (docs/pipelines.md), by the pipeline that owns
#: them, with their layer.
CONTRACT: dict[str, dict[str, str]] = {
    "data_processing": {
        "raw_ratings": "raw",
        "cleaning_report": "intermediate",
        "interactions": "primary",
        "user_mapping": "primary",
        "item_mapping": "primary",
        "train_interactions": "model_input",
        "val_interactions": "model_input",
        "test_interactions": "model_input",
    },
    "feature_engineering": {
        "training_examples": "model_input",
        "val_candidates": "model_input",
        "test_candidates": "model_input",
    },
    "modelling": {
        "gmf_model": "models",
        "mlp_model": "models",
        "neumf_model": "models",
        "sasrec_model": "models",
        "gru_model": "models",
        "ranking_metrics": "reporting",
    },
    "recommendation": {"recommendations": "model_output"},
    "reporting": {
        "user_activity_plot": "reporting",
        "item_popularity_plot": "reporting",
        "interactions_over_time_plot": "reporting",
        "rating_distribution_plot": "reporting",
        "cleaning_summary_plot": "reporting",
        "hit_rate_at_k_plot": "reporting",
        "ndcg_at_k_plot": "reporting",
    },
}

#: A readable node name: lower-case words joined by underscores (verb_object).
NODE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")

pytestmark = pytest.mark.slow


def _registered_pipelines() -> set[str]:
    bootstrap_project(PROJECT)
    from kedro.framework.project import pipelines  # noqa: PLC0415 (after bootstrap)

    return set(pipelines)


def _save_one_plot(project: Path, name: str) -> None:
    """Save a figure through the catalog entry, so kedro-viz has a file to preview."""
    config = EnvironmentConfigLoader(
        conf_source=str(project / "conf"), base_env="base", default_run_env="local"
    )["catalog"]
    entry = dict(config[name], filepath=str(project / config[name]["filepath"]))
    figure = Figure()
    figure.add_subplot().plot([1, 2, 3])
    DataCatalog.from_config({name: entry}).save(name, figure)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project_copy(tmp_path_factory.mktemp("viz_project"))
    _save_one_plot(project, "user_activity_plot")
    env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1")
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build", "--include-previews"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output, output
    assert (project / "build" / "api" / "main").is_file(), output
    return project / "build"


@pytest.fixture(scope="module")
def main(build: Path) -> dict[str, Any]:
    return json.loads((build / "api" / "main").read_text())


@pytest.fixture(scope="module")
def registered() -> set[str]:
    return _registered_pipelines()


def _data_nodes(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in response["nodes"] if node["type"] == "data"}


def test_build_is_a_static_site(build):
    assert (build / "index.html").is_file()
    assert (build / "api" / "version").is_file()


def test_every_registered_pipeline_is_in_the_build(main, registered, build):
    assert registered >= {"__default__", "data_processing", "reporting"}
    assert {pipeline["id"] for pipeline in main["pipelines"]} == registered
    for name in registered:
        response = json.loads((build / "api" / "pipelines" / name).read_text())
        assert any(node["type"] == "task" for node in response["nodes"]), name


def test_contract_datasets_of_registered_pipelines_are_produced_on_their_layer(
    main, registered
):
    data = _data_nodes(main)
    producers = {
        edge["target"]
        for edge in main["edges"]
        if any(
            node["id"] == edge["source"] and node["type"] in {"task", "modularPipeline"}
            for node in main["nodes"]
        )
    }
    owned = {
        name: layer
        for pipeline, datasets in CONTRACT.items()
        if pipeline in registered
        for name, layer in datasets.items()
    }
    assert {"interactions", "train_interactions", "user_activity_plot"} <= set(owned)
    missing = sorted(set(owned) - set(data))
    assert not missing, f"contract datasets missing from the lineage: {missing}"
    unproduced = sorted(name for name in owned if data[name]["id"] not in producers)
    assert not unproduced, f"contract datasets that no node produces: {unproduced}"
    wrong = {
        name: data[name]["layer"]
        for name, layer in owned.items()
        if data[name]["layer"] != layer
    }
    assert not wrong, f"contract datasets on the wrong layer (name: layer): {wrong}"


def test_layers_are_the_projects_in_lineage_order(main):
    layers = main["layers"]
    assert set(layers) <= set(LAYERS), layers
    # Data layers come in pipeline order, and every output layer after them. The two
    # output layers may come in either order: `recommendation` reads `ranking_metrics`
    # (reporting) to pick the served model, so kedro-viz can draw reporting first.
    outputs = {"model_output", "reporting"}
    stages = [layer for layer in layers if layer not in outputs]
    assert stages == [layer for layer in LAYERS if layer in stages], layers
    assert all(
        layers.index(o) > layers.index(s) for o in outputs & set(layers) for s in stages
    )


def test_every_persisted_dataset_has_a_layer(main):
    unlayered = sorted(
        name
        for name, node in _data_nodes(main).items()
        if node["dataset_type"] and "MemoryDataset" not in node["dataset_type"]
        if node["layer"] is None
    )
    assert not unlayered, f"catalog datasets without a kedro-viz layer: {unlayered}"


def test_node_names_are_readable(main):
    tasks = [node for node in main["nodes"] if node["type"] == "task"]
    unreadable = sorted(
        node["full_name"] for node in tasks if not NODE_NAME.match(node["name"])
    )
    assert not unreadable, (
        f"node names that are not verb_object snake case: {unreadable}"
    )


def test_reporting_nodes_collapse_into_one_modular_pipeline(main):
    assert "reporting" in main["modular_pipelines"]
    plots = [
        node
        for node in main["nodes"]
        if node["type"] == "task" and node["full_name"].startswith("reporting.")
    ]
    assert len(plots) == len(CONTRACT["reporting"])
    assert all(node["modular_pipelines"] == ["reporting"] for node in plots)


def test_plots_preview_as_images(main, build):
    node = _data_nodes(main)["user_activity_plot"]
    metadata = json.loads((build / "api" / "nodes" / node["id"]).read_text())
    assert metadata["preview_type"] == "ImagePreview"
    assert metadata["preview"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
