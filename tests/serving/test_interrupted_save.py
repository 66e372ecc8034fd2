"""A model save killed halfway: serving and the batch pipeline use the previous version.

A tiny project holds one complete run (all five models); a second run's
``gmf_model`` save is SIGKILLed in the middle of writing the file. Then
``recommend_items``, the HTTP service and ``kedro run --pipeline recommendation``
must load the complete version and name the interrupted folder in a warning.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ncf_recommender.atomic import PARTIAL_MARK
from ncf_recommender.lineage import model_info
from ncf_recommender.serving import (
    PROJECT_PATH_ENV,
    clear_cache,
    load_recommender,
    recommend_items,
)
from ncf_recommender.serving.api import create_app
from tests.serving import (
    build_sequence_model,
    save_artifacts,
    tiny_frames,
    tiny_gmf,
    write_project,
)
from tests.test_atomic import kill_during_save

pytestmark = pytest.mark.slow

N_USERS, N_ITEMS = 12, 25

KILLED_MODEL_SAVE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fsspec.implementations.local import LocalFileSystem
    from ncf_recommender.models.gmf import build_gmf
    from ncf_recommender.serving import open_project

    def slow_put(self, source, target, *args, **kwargs):
        data = Path(source).read_bytes()
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data[: len(data) // 2])  # half the model...
            handle.flush()
            print("WRITING", flush=True)
            time.sleep(120)  # ...and the kill arrives before the rest

    LocalFileSystem.put = slow_put
    store, _ = open_project(sys.argv[1])
    store.catalog.save("gmf_model", build_gmf(12, 25, embedding_dim=8))
    """
)


def _squash(text: str) -> str:
    """Text without whitespace (log lines may be wrapped anywhere)."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """``(root, complete version, interrupted folder)``."""
    from ncf_recommender.models.mlp import build_mlp  # noqa: PLC0415
    from ncf_recommender.models.neumf import build_neumf  # noqa: PLC0415

    interactions, user_mapping, item_mapping = tiny_frames(N_USERS, N_ITEMS)
    root = write_project(
        tmp_path_factory.mktemp("interrupted"),
        {"recommendation": {"model": "gmf"}},
    )
    good = save_artifacts(
        root,
        {
            "gmf_model": tiny_gmf(interactions, N_USERS, N_ITEMS),
            "interactions": interactions,
            "user_mapping": user_mapping,
            "item_mapping": item_mapping,
            "mlp_model": build_mlp(N_USERS, N_ITEMS, 8, (16, 8)),
            "neumf_model": build_neumf(N_USERS, N_ITEMS, 8, 8, (16, 8)),
            "sasrec_model": build_sequence_model("sasrec", N_ITEMS),
            "gru_model": build_sequence_model("gru", N_ITEMS),
            "ranking_metrics": {"gmf": {"validation": {"ndcg@10": 0.3}}},
            **{
                f"{name}_model_info": model_info(user_mapping, item_mapping)
                for name in ("gmf", "mlp", "neumf", "sasrec", "gru")
            },
        },
    )
    kill_during_save(KILLED_MODEL_SAVE, str(root))
    models = root / "data" / "06_models" / "gmf_model.keras"
    interrupted = [p for p in models.iterdir() if not (p / models.name).exists()]
    assert len(interrupted) == 1
    leftovers = list(interrupted[0].iterdir())
    assert len(leftovers) == 1 and PARTIAL_MARK in leftovers[0].name
    assert interrupted[0].name > good
    yield root, good, interrupted[0]
    clear_cache()


def _warned(caplog, folder: Path) -> bool:
    return any(
        str(folder) in r.getMessage()
        for r in caplog.records
        if r.name == "ncf_recommender.atomic" and r.levelno == logging.WARNING
    )


def test_recommend_items_loads_the_complete_version(project, caplog):
    root, good, interrupted = project
    clear_cache()
    with caplog.at_level(logging.WARNING, logger="ncf_recommender.atomic"):
        answer = recommend_items("U003", 4, project_path=root)
        assert load_recommender(project_path=root).model_version == good
    assert answer.model_version == good and len(answer.recommendations) == 4
    assert _warned(caplog, interrupted)


def test_service_serves_the_complete_version(project, caplog, monkeypatch):
    root, good, interrupted = project
    monkeypatch.setenv(PROJECT_PATH_ENV, str(root))
    with caplog.at_level(logging.WARNING, logger="ncf_recommender.atomic"):
        with TestClient(create_app()) as client:
            health = client.get("/health").json()
            answer = client.get("/recommendations/U003", params={"top_n": 3})
    assert health["model_version"] == good
    assert answer.status_code == 200 and answer.json()["model_version"] == good
    assert _warned(caplog, interrupted)


def test_recommendation_pipeline_uses_the_complete_version(project):
    root, good, interrupted = project
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipeline", "recommendation"],
        cwd=root,
        env={**os.environ, "COLUMNS": "400", "KEDRO_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    squashed = _squash(output)
    assert _squash(str(interrupted)) in squashed, output
    assert "Skippingincompleteversionfolder" in squashed
    summaries = list(
        (root / "data" / "default" / "08_reporting").glob("recommendation_summary*")
    )
    assert summaries, output
