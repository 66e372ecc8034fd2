"""The real service over HTTP (uvicorn subprocess) and the ``ncf-recommend`` script.

Both read a tiny Kedro project holding a GMF trained for one epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ncf_recommender.serving import (
    PROJECT_PATH_ENV,
    clear_cache,
    recommend_items,
)
from ncf_recommender.serving.cli import main
from tests.serving import save_artifacts, tiny_frames, tiny_gmf, write_project

pytestmark = pytest.mark.slow

N_USERS, N_ITEMS = 12, 25
START_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    interactions, user_mapping, item_mapping = tiny_frames(N_USERS, N_ITEMS)
    root = write_project(tmp_path_factory.mktemp("e2e"))
    version = save_artifacts(
        root,
        {
            "interactions": interactions,
            "user_mapping": user_mapping,
            "item_mapping": item_mapping,
            "gmf_model": tiny_gmf(interactions, N_USERS, N_ITEMS),
            "ranking_metrics": {"gmf": {"validation": {"ndcg@10": 0.3}}},
        },
    )
    yield root, version
    clear_cache()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(project):
    """``uvicorn ncf_recommender.serving.api:app`` on a free loopback port."""
    root, _ = project
    port = _free_port()
    env = {**os.environ, PROJECT_PATH_ENV: str(root)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ncf_recommender.serving.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{process.stdout.read()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer /health in {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_real_server_answers_over_http(server, project):
    root, version = project
    with httpx.Client(base_url=server, timeout=30) as client:
        health = client.get("/health").json()
        assert health == {"status": "ok", "model": "gmf", "model_version": version}
        answer = client.get("/recommendations/U005", params={"top_n": 4})
        assert answer.status_code == 200
        expected = recommend_items("U005", 4, project_path=root).to_dict()
        body = answer.json()
        assert [r["item_id"] for r in body["recommendations"]] == [
            r["item_id"] for r in expected["recommendations"]
        ]
        assert body["model_version"] == version and body["cold_start"] is False
        many = client.post(
            "/recommendations", json={"user_ids": ["U001", "ghost"], "top_n": 2}
        )
        assert [r["cold_start"] for r in many.json()["results"]] == [False, True]
        assert client.get("/recommendations/U001?top_n=0").status_code == 422
        assert (
            client.post("/recommendations", json={"user_ids": ["u"] * 101}).status_code
            == 422
        )
        info = client.get("/model").json()
        assert info["metrics"] == {"validation": {"ndcg@10": 0.3}}
        assert "validation.ndcg@10" in info["selected_by"]
        assert client.get("/docs").status_code == 200


def test_cli_prints_a_table(project, capsys):
    root, version = project
    assert main(["U002", "--top-n", "3", "--model", "gmf", "--project", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = recommend_items("U002", 3, model="gmf", project_path=root)
    assert out[0].startswith(f"Top 3 for user U002 (model gmf, version {version}")
    assert out[1].split() == ["rank", "item_id", "score"]
    assert [line.split()[1] for line in out[2:]] == [
        r.item_id for r in expected.recommendations
    ]


def test_cli_json_and_cold_start(project, capsys):
    root, _ = project
    assert main(["newcomer", "--top-n", "2", "--json", "--project", str(root)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["cold_start"] is True and len(answer["recommendations"]) == 2


@pytest.mark.parametrize("top_n", ["0", "-1", "two"])
def test_cli_rejects_a_bad_top_n(project, capsys, top_n):
    with pytest.raises(SystemExit) as exit_info:
        main(["U001", "--top-n", top_n, "--project", str(project[0])])
    assert exit_info.value.code == 2
    assert "--top-n: must be a positive integer" in capsys.readouterr().err


def test_installed_console_script(project):
    script = Path(sys.executable).with_name("ncf-recommend")
    if shutil.which(str(script)) is None:
        pytest.skip("ncf-recommend is not installed in this environment")
    result = subprocess.run(
        [str(script), "U000", "--top-n", "2", "--project", str(project[0])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Top 2 for user U000 (model gmf")
    assert len(lines) == 4


def test_cli_unknown_user_with_cold_start_disabled_exits_1(project, tmp_path, capsys):
    root = shutil.copytree(project[0], tmp_path / "strict")
    (root / "conf" / "local" / "parameters.yml").write_text(
        "recommendation:\n  model: gmf\n  cold_start: raise\n"
    )
    assert main(["ghost", "--project", str(root)]) == 1
    assert "unknown user_id 'ghost'" in capsys.readouterr().err
