"""The notebooks: stored without outputs, load data only through the catalog, and
execute top to bottom on the embedded data.

Execution happens in a temporary copy of the project (so the runs never touch the
checkout's ``data/``): the fixture runs the pipelines each notebook reads once, then
nbclient executes the notebook with the kernel's working directory in the copy's
``notebooks/``, where the Kedro extension finds the project, as ``kedro jupyter``
would.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import TEST_SOURCE, make_project_copy

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = PROJECT / "notebooks"
NOTEBOOK_NAMES = ("01_data_exploration.ipynb", "02_model_experiments.ipynb")

#: Per notebook: the modules it imports beyond the data pipeline, and the
#: ``kedro run`` arguments (in order) that produce the datasets it loads.
PREREQUISITES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "01_data_exploration.ipynb": (
        ("ncf_recommender.datasets",),
        (("--pipeline", "data_processing"),),
    ),
    "02_model_experiments.ipynb": (
        (
            "ncf_recommender.datasets",
            "ncf_recommender.models.gmf",
            "ncf_recommender.training.ncf",
            "ncf_recommender.training.sampling",
            "ncf_recommender.evaluation",
            "ncf_recommender.serving",
        ),
        (
            ("--pipeline", "data_processing"),
            # The stored test negatives, and a (2-epoch) GMF for recommend_items.
            (
                "--from-inputs",
                "train_interactions,val_interactions,test_interactions",
                "--to-outputs",
                "test_candidates,gmf_model",
                "--params",
                "training.epochs=2",
            ),
        ),
    ),
}

#: Reading a file by path instead of through the catalog.
RAW_PATH = re.compile(r"data/0\d_|read_(csv|parquet|json)|open\(")

ENV = {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_is_stored_without_outputs(name):
    notebook = _read(name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count]
    assert not dirty, (
        f"{name}: code cells {dirty} hold outputs; clear them before committing"
    )


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_loads_data_through_the_catalog(name):
    sources = [cell.source for cell in _read(name).cells if cell.cell_type == "code"]
    assert 'catalog.load("' in "\n".join(sources)
    raw = [source for source in sources if RAW_PATH.search(source)]
    assert not raw, f"{name} reads files by path instead of catalog.load: {raw}"


def _require(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            pytest.skip(f"prerequisite {module} is not importable yet ({error})")


def _kedro_run(project: Path, arguments: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", *arguments],
        cwd=project,
        env=os.environ | ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"kedro run {' '.join(arguments)}:\n{result.stderr[-4000:]}"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project copy with the (small) embedded source and the notebooks."""
    _require(("ncf_recommender.datasets",))
    root = make_project_copy(tmp_path_factory.mktemp("notebook_project"), TEST_SOURCE)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=ignore)
    yield root


@pytest.fixture(scope="module")
def runs_done(project: Path) -> set[tuple[str, ...]]:
    """The ``kedro run`` argument lists already run in ``project`` (each runs once)."""
    return set()


def _execute(project: Path, name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(project / "notebooks" / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENV.items():
            patch.setenv(key, value)
        try:
            client.execute()
        except CellExecutionError as error:
            pytest.fail(f"{name} failed in a cell:\n{error}")
    return notebook


def _outputs(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        output["data"][mime]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") in {"display_data", "execute_result"}
        and mime in output.get("data", {})
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_executes_top_to_bottom(name, project, runs_done):
    modules, runs = PREREQUISITES[name]
    _require(modules)
    for arguments in runs:
        if arguments not in runs_done:
            _kedro_run(project, arguments)
            runs_done.add(arguments)
    notebook = _execute(project, name)
    images = _outputs(notebook, "image/png")
    assert images, f"{name} displayed no figure"
    errors = [
        json.dumps(output)[:500]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
