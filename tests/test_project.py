"""Project-level behaviour through a real KedroSession: configuration and start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.hooks import MissingSourceError

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _bootstrap():
    bootstrap_project(PROJECT)


@pytest.mark.parametrize(
    ("env", "filename", "where"),
    [
        ("amazon-2014", "ratings_Electronics.csv", "jmcauley.ucsd.edu"),
        ("amazon-2018", "Electronics_5.json.gz", "nijianmo.github.io"),
        ("amazon-2023", "Electronics.jsonl", "amazon-reviews-2023"),
        ("movielens", "ml-100k.inter", "get_ml100k.sh"),
        ("amazon-2014-reviews", "reviews_Electronics_5.json.gz", "jmcauley.ucsd.edu"),
        (
            "amazon-grocery",
            "grocery-2014-5core/interactions.tsv",
            "shared/datasets/amazon",
        ),
    ],
)
def test_missing_source_file_says_which_and_where(
    env, filename, where, monkeypatch, tmp_path
):
    if (PROJECT / "data" / env / "01_raw" / filename).exists():
        pytest.skip(f"{filename} is present in this checkout")
    with KedroSession.create(project_path=PROJECT, env=env) as session:
        with pytest.raises(MissingSourceError) as info:
            session.run(pipeline_names=["data_processing"])
    message = str(info.value)
    assert (
        f"data/{env}/01_raw/{filename}" in message
        and where in message
        and env in message
    )


def test_bad_parameter_fails_before_any_node_runs():
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"kcore": {"min_user_interactions": 0}}
    ) as session:
        with pytest.raises(Exception, match="min_user_interactions") as info:
            session.run(
                pipeline_names=["data_processing"], node_names=["validate_schema"]
            )
    assert "greater than or equal to 1" in str(info.value)
