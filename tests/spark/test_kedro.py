"""The Spark pipelines through Kedro: session hook, catalog handover, a real cluster.

``spark_data_processing`` runs in a private project copy, on ``local[2]`` and on
a Spark standalone master with one worker on loopback; the tables it hands over
(read back by the pandas catalog entries) must equal those of the pandas
``data_processing`` (and candidate nodes) run on the same generated source.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from pyspark.find_spark_home import _find_spark_home

from ncf_recommender.hooks import SparkHooks
from ncf_recommender.spark.pipeline import HANDOVER_TABLES
from tests.conftest import make_project_copy

pytestmark = pytest.mark.slow

SOURCE = {
    "type": "ncf_recommender.datasets.SyntheticRatingsDataset",
    "n_ratings": 60_000,
    "seed": 11,
    "dirt": 0.03,
}
CANDIDATE_NODES = ["sample_val_candidates", "sample_test_candidates"]


def _project(dest: Path) -> Path:
    """A project copy whose pandas and Spark sources are the same small generation."""
    root = make_project_copy(dest)
    catalog = {"source_ratings": SOURCE, "spark_source_ratings": SOURCE}
    (root / "conf" / "local" / "catalog.yml").write_text(yaml.safe_dump(catalog))
    return root


def _tables(root: Path, suffix: str) -> dict:
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        catalog = session.load_context().catalog
        tables = {name: catalog.load(f"{name}{suffix}") for name in HANDOVER_TABLES}
        return tables | {"cleaning_report": catalog.load("cleaning_report")}


@pytest.fixture(scope="module")
def pandas_tables(tmp_path_factory) -> dict:
    """The pandas path's tables on the shared source."""
    root = _project(tmp_path_factory.mktemp("pandas"))
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_processing"])
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["feature_engineering"], node_names=CANDIDATE_NODES)
    return _tables(root, "")


def _assert_same_tables(expected: dict, got: dict) -> None:
    assert got["cleaning_report"] == expected["cleaning_report"]
    for name in HANDOVER_TABLES:
        # raw_ratings: the pandas path writes the nullable Int64 timestamp with
        # pandas metadata, Spark a plain nullable int64 (read back as float).
        pd.testing.assert_frame_equal(
            got[name], expected[name], check_dtype=name != "raw_ratings", obj=name
        )


def test_spark_data_processing_hands_over_the_pandas_tables(
    spark, pandas_tables, tmp_path
):
    root = _project(tmp_path)
    bootstrap_project(root)
    with KedroSession.create(
        project_path=root, runtime_params={"spark_master": "local[2]"}
    ) as session:
        session.run(pipeline_names=["spark_data_processing"])
    assert (
        root / "data/default/03_primary/interactions.parquet"
    ).is_dir()  # Spark wrote it
    _assert_same_tables(pandas_tables, _tables(root, "@pandas"))


def test_full_spark_pipeline_hands_over_through_transcoded_parquet():
    from ncf_recommender.pipeline_registry import register_pipelines  # noqa: PLC0415

    pipelines = register_pipelines()
    full = pipelines["spark"]
    assert not set(pipelines["__default__"].nodes) & set(
        pipelines["spark_data_processing"].nodes
    )
    outputs, inputs = full.all_outputs(), full.all_inputs()
    for table in ("interactions", "user_mapping", "train_interactions"):
        assert f"{table}@spark" in outputs and f"{table}@pandas" in inputs
        assert table not in inputs | outputs
    # The pandas side starts only after Spark wrote its tables.
    order = [node.name for node in full.nodes]
    assert order.index("spark_encode_ids") < order.index("sample_training_examples")


def test_hook_starts_no_spark_for_pandas_pipelines(monkeypatch):
    import ncf_recommender.spark.session as session_module  # noqa: PLC0415
    from ncf_recommender.pipelines.data_processing import create_pipeline  # noqa: PLC0415

    def refuse(*args, **kwargs):
        raise AssertionError("a pandas run must not start Spark")

    monkeypatch.setattr(session_module, "start_session", refuse)
    hooks = SparkHooks()
    hooks.before_pipeline_run(run_params={}, pipeline=create_pipeline(), catalog=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _master_state(web_port: int) -> dict:
    """The master's status (its web UI's JSON), empty while it is not up."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{web_port}/json/", timeout=2
        ) as response:
            return json.load(response)
    except OSError:
        return {}


@pytest.fixture
def standalone_cluster(tmp_path) -> Iterator[tuple[str, int]]:
    """A Spark standalone master and one worker on loopback; always shut down.

    The pip wheel of pyspark ships ``bin/spark-class`` but not
    ``sbin/start-master.sh`` / ``start-worker.sh``, so the two daemons are
    started in the foreground with ``spark-class`` (what those scripts run).
    """
    spark_class = Path(_find_spark_home()) / "bin" / "spark-class"
    port, web, worker_web = _free_port(), _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: list[subprocess.Popen] = []
    try:
        master_cmd = [str(spark_class), "org.apache.spark.deploy.master.Master"]
        master_cmd += ["--host", "127.0.0.1", "--port", str(port)]
        master_cmd += ["--webui-port", str(web)]
        worker_cmd = [str(spark_class), "org.apache.spark.deploy.worker.Worker"]
        worker_cmd += ["--host", "127.0.0.1", "--cores", "2", "--memory", "1g"]
        worker_cmd += ["--webui-port", str(worker_web)]
        worker_cmd += ["--work-dir", str(tmp_path / "work"), url]
        for name, command in (("master", master_cmd), ("worker", worker_cmd)):
            log = (logs / f"{name}.log").open("w")
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        deadline = time.monotonic() + 120
        while int(_master_state(web).get("aliveworkers", 0)) < 1:
            if time.monotonic() > deadline or any(
                p.poll() is not None for p in processes
            ):
                pytest.fail(
                    "standalone cluster did not come up:\n"
                    + "\n".join(p.read_text()[-2000:] for p in logs.iterdir())
                )
            time.sleep(1)
        yield url, web
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_data_processing_on_a_standalone_cluster(
    standalone_cluster, pandas_tables, tmp_path
):
    (tmp_path / "project").mkdir()
    root = _project(tmp_path / "project")
    url, web_port = standalone_cluster
    params = f"spark_master={url},spark_driver_memory=1g"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("kedro")),
            "run",
            "--pipeline",
            "spark_data_processing",
            "--params",
            params,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The run was an application of this cluster, not a local session.
    apps = _master_state(web_port).get("completedapps", [])
    assert [app["name"] for app in apps] == ["ncf-recommender"]
    _assert_same_tables(pandas_tables, _tables(root, "@pandas"))


def test_whole_spark_run_trains_and_recommends_from_the_handover(spark, tmp_path):
    """``--pipeline spark``: Spark data steps, then Keras, recommendation, reporting."""
    root = _project(tmp_path)
    bootstrap_project(root)
    with KedroSession.create(
        project_path=root, runtime_params={"spark_master": "local[2]"}
    ) as session:
        session.run(pipeline_names=["spark"])
        catalog = session.load_context().catalog
        metrics = catalog.load("ranking_metrics")
        recommendations = catalog.load("recommendations")
        users = catalog.load("user_mapping@pandas")
    assert {"gmf", "mlp", "neumf"} <= set(metrics)
    assert set(recommendations["user_id"]) <= set(users["user_id"])
    assert len(recommendations) > 0


def test_missing_spark_source_file_is_named_with_how_to_get_it(spark, tmp_path):
    from ncf_recommender.hooks import MissingSourceError  # noqa: PLC0415

    root = make_project_copy(tmp_path)
    bootstrap_project(root)
    with KedroSession.create(project_path=root, env="amazon-2014") as session:
        with pytest.raises(MissingSourceError, match="spark_source_ratings") as error:
            session.run(pipeline_names=["spark_data_processing"])
    assert "ratings_Electronics.csv" in str(error.value)
    assert "jmcauley.ucsd.edu" in str(error.value)
