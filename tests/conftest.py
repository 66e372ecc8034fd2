"""Shared fixtures: a throw-away copy of the project for tests that run Kedro sessions.

Kedro resolves the catalog's relative paths against the project path, so a copy of
``pyproject.toml`` and ``conf/`` in a temporary folder gives a session whose ``data/``
is private to the test: runs never touch the checkout's own ``data/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# Property tests check correctness, not speed: no per-example deadline, which would
# make them flaky on a loaded 2-core machine.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Size of the generated source for end-to-end tests: small enough for seconds per run.
TEST_SOURCE = {"n_ratings": 60_000, "seed": 7}


def make_project_copy(dest: Path, source_args: dict | None = None) -> Path:
    """Copy the project's configuration into ``dest`` and return it.

    Args:
        dest: Empty folder to become the project root.
        source_args: Generator arguments written to ``conf/local/catalog.yml``
            to override the default ``source_ratings`` size; ``None`` keeps it.
    """
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    # Kedro insists on a source folder inside the project; the package itself is
    # imported from the editable install.
    (dest / "src").mkdir()
    shutil.copytree(
        PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local")
    )
    (dest / "conf" / "local").mkdir()
    # Runs write under data/<env>/<layer>; the datasets create those folders.
    (dest / "data").mkdir()
    if source_args is not None:
        entry = {
            "type": "ncf_recommender.datasets.SyntheticRatingsDataset",
            **source_args,
            "metadata": {"kedro-viz": {"layer": "raw"}},
        }
        (dest / "conf" / "local" / "catalog.yml").write_text(
            yaml.safe_dump({"source_ratings": entry})
        )
    return dest


def make_metadata_project(dest: Path) -> Path:
    """:func:`make_project_copy` of the test source, with the generator's metadata
    (2014 format) as ``source_item_metadata``."""
    project = make_project_copy(dest, TEST_SOURCE)
    local = project / "conf" / "local" / "catalog.yml"
    catalog = yaml.safe_load(local.read_text())
    catalog["source_item_metadata"] = {
        "type": "ncf_recommender.metadata.synthetic.SyntheticItemMetadataDataset",
        "format": "amazon-2014",
        **TEST_SOURCE,
    }
    local.write_text(yaml.safe_dump(catalog))
    return project


@pytest.fixture(scope="session", autouse=True)
def mlflow_test_store(tmp_path_factory) -> str:
    """Kedro sessions in tests track to a throw-away MLflow store, never the checkout's.

    Every ``kedro run`` is tracked (``conf/base/mlflow.yml``); without this, tests
    that run sessions on the checkout itself would write its ``mlruns/``. A test
    that checks the default store unsets ``MLFLOW_TRACKING_URI`` itself.
    """
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow').as_posix()}/mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield uri


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private project copy with a small generated source."""
    return make_project_copy(tmp_path, TEST_SOURCE)
