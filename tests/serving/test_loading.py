"""Loading through a real Kedro project: latest and pinned versions, model choice, cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from ncf_recommender.evaluation import top_k
from ncf_recommender.serving import (
    UnknownUserError,
    clear_cache,
    get_recommender,
    load_recommender,
    recommend_items,
)
from ncf_recommender.serving.cli import main as cli_main
from tests.serving import (
    PLANTED_ITEMS,
    PLANTED_USERS,
    planted_frames,
    save_artifacts,
    tiny_frames,
    tiny_gmf,
    trained_sequence_model,
    write_project,
)

pytestmark = pytest.mark.slow

N_USERS, N_ITEMS = 12, 25
METRICS_1 = {
    "gmf": {"full": {"ndcg@10": 0.30}, "validation": {"ndcg@10": 0.20}},
    "most_popular": {"full": {"ndcg@10": 0.90}, "validation": {"ndcg@10": 0.90}},
}
METRICS_2 = {
    "gmf": {"full": {"ndcg@10": 0.40}, "validation": {"ndcg@10": 0.10}},
    "mlp": {"full": {"ndcg@10": 0.20}, "validation": {"ndcg@10": 0.25}},
    "als": {"full": {"ndcg@10": 0.95}, "validation": {"ndcg@10": 0.95}},
}


@pytest.fixture(scope="module")
def frames():
    return tiny_frames(N_USERS, N_ITEMS)


@pytest.fixture(scope="module")
def trained_gmf(frames):
    return tiny_gmf(frames[0], N_USERS, N_ITEMS)


@pytest.fixture(scope="module")
def project(tmp_path_factory, frames, trained_gmf):
    """Two runs: v1 saved a trained GMF; v2 a different GMF and an MLP."""
    import keras  # noqa: PLC0415

    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415
    from ncf_recommender.models.mlp import build_mlp  # noqa: PLC0415

    root = write_project(tmp_path_factory.mktemp("project"))
    interactions, user_mapping, item_mapping = frames
    v1 = save_artifacts(
        root,
        {
            "interactions": interactions,
            "user_mapping": user_mapping,
            "item_mapping": item_mapping,
            "gmf_model": trained_gmf,
            "ranking_metrics": METRICS_1,
        },
    )
    time.sleep(0.01)
    keras.utils.set_random_seed(1)
    v2 = save_artifacts(
        root,
        {
            "gmf_model": build_gmf(N_USERS, N_ITEMS, embedding_dim=8),
            "mlp_model": build_mlp(N_USERS, N_ITEMS, embedding_dim=4, layers=(8, 4)),
            "ranking_metrics": METRICS_2,
        },
    )
    assert v1 < v2
    yield root, v1, v2
    clear_cache()


def test_auto_serves_the_best_model_on_validation_of_the_latest_run(project):
    root, _, v2 = project
    recommender = load_recommender(project_path=root)
    assert recommender.model_name == "mlp"
    assert recommender.model_version == v2
    assert "validation.ndcg@10" in recommender.selected_by
    assert recommender.metrics == METRICS_2["mlp"]
    assert recommender.metrics_version == v2


def test_pinned_version_loads_that_model_and_the_metrics_of_its_run(
    project, trained_gmf
):
    from ncf_recommender.models.scorers import KerasScorer  # noqa: PLC0415

    root, v1, v2 = project
    old = load_recommender("gmf", v1, project_path=root)
    new = load_recommender("gmf", project_path=root)
    assert (old.model_version, new.model_version) == (v1, v2)
    assert old.metrics == METRICS_1["gmf"] and old.metrics_version == v1
    users = np.arange(N_USERS)
    expected = KerasScorer(trained_gmf, N_ITEMS).score(users)
    np.testing.assert_allclose(old.scorer.score(users), expected, rtol=1e-5)
    assert not np.allclose(new.scorer.score(users), expected, rtol=1e-3)


def test_recommend_items_ranks_the_models_scores_without_seen_items(
    project, trained_gmf, frames
):
    from ncf_recommender.models.scorers import KerasScorer  # noqa: PLC0415

    root, v1, _ = project
    result = recommend_items("U003", 5, model="gmf", version=v1, project_path=root)
    recommender = get_recommender("gmf", v1, project_path=root)
    items, scores = top_k(
        KerasScorer(trained_gmf, N_ITEMS), np.array([3]), recommender.data.seen, 5
    )
    assert [r.item_id for r in result.recommendations] == [
        f"I{i:03d}" for i in items[0]
    ]
    np.testing.assert_allclose(
        [r.score for r in result.recommendations], scores[0], rtol=1e-5
    )
    interactions = frames[0]
    seen = set(interactions.loc[interactions.user_id == "U003", "item_id"])
    assert not seen & {r.item_id for r in result.recommendations}
    assert result.model == "gmf" and result.model_version == v1


def test_repeated_calls_reuse_the_loaded_model(project, tmp_path):
    root = shutil.copytree(project[0], tmp_path / "copy")
    clear_cache()
    first = recommend_items("U001", 3, model="gmf", project_path=root)
    shutil.move(root / "data", tmp_path / "moved-away")
    # Nothing is read from disk any more: the cached recommender answers.
    assert recommend_items("U001", 3, model="gmf", project_path=root) == first
    assert get_recommender("gmf", project_path=root) is get_recommender(
        "gmf", project_path=root
    )
    clear_cache()
    with pytest.raises(ValueError, match="no saved 'gmf_model'"):
        recommend_items("U001", 3, model="gmf", project_path=root)


def test_bad_top_n_fails_before_anything_loads(tmp_path):
    with pytest.raises(ValueError, match="top_n must be a positive integer"):
        recommend_items("U001", 0, project_path=tmp_path / "no-project-here")


def test_unknown_model_or_version_is_a_clear_error(project):
    root = project[0]
    with pytest.raises(ValueError, match="unknown model 'svd'"):
        load_recommender("svd", project_path=root)
    with pytest.raises(ValueError, match="version '2001-01-01T00.00.00.000Z'"):
        load_recommender("gmf", "2001-01-01T00.00.00.000Z", project_path=root)


@pytest.fixture(scope="module")
def strict_project(tmp_path_factory, frames, trained_gmf):
    """No ranking_metrics; cold start disabled in conf/local."""
    root = write_project(
        tmp_path_factory.mktemp("strict"),
        {"recommendation": {"model": "auto", "cold_start": "raise"}},
    )
    interactions, user_mapping, item_mapping = frames
    save_artifacts(
        root,
        {
            "interactions": interactions,
            "user_mapping": user_mapping,
            "item_mapping": item_mapping,
            "gmf_model": trained_gmf,
        },
    )
    return root


def test_auto_without_metrics_says_what_to_do(strict_project):
    with pytest.raises(ValueError, match="ranking_metrics.*set recommendation.model"):
        load_recommender(project_path=strict_project)


def test_cold_start_disabled_by_parameter_raises_for_unknown_users(strict_project):
    recommender = load_recommender("gmf", project_path=strict_project)
    assert recommender.cold_start == "raise" and recommender.metrics is None
    with pytest.raises(UnknownUserError, match="unknown user_id 'nobody'"):
        recommender.recommend("nobody")
    assert recommender.recommend("U000", 2).cold_start is False


# --- sequence models through the catalog --------------------------------------------

SEQUENCE_METRICS = {
    "gmf": {"validation": {"ndcg@10": 0.20}},
    "sasrec": {"validation": {"ndcg@10": 0.60}},
    "gru": {"validation": {"ndcg@10": 0.40}},
    "most_popular": {"validation": {"ndcg@10": 0.99}},
}


@pytest.fixture(scope="module")
def sequence_project(tmp_path_factory):
    """One run with a GMF, a SASRec and a GRU4Rec on the planted walk data."""
    root = write_project(tmp_path_factory.mktemp("sequences"))
    interactions, user_mapping, item_mapping = planted_frames()
    save_artifacts(
        root,
        {
            "interactions": interactions,
            "user_mapping": user_mapping,
            "item_mapping": item_mapping,
            "gmf_model": tiny_gmf(interactions, PLANTED_USERS, PLANTED_ITEMS),
            "sasrec_model": trained_sequence_model("sasrec"),
            "gru_model": trained_sequence_model("gru"),
            "ranking_metrics": SEQUENCE_METRICS,
        },
    )
    yield root
    clear_cache()


def test_auto_choice_includes_the_sequence_models(sequence_project):
    recommender = load_recommender(project_path=sequence_project)
    assert recommender.model_name == "sasrec"
    assert "'gru'" in recommender.selected_by and "'gmf'" in recommender.selected_by
    assert recommender.metrics == SEQUENCE_METRICS["sasrec"]
    assert recommender.info()["uses_history"] is True


def test_recommend_items_serves_a_sequence_model_by_name_with_a_history(
    sequence_project,
):
    clear_cache()
    plain = recommend_items("U003", 3, model="gru", project_path=sequence_project)
    assert plain.model == "gru" and not plain.cold_start
    new = recommend_items(
        "newcomer",
        3,
        model="gru",
        history=["I011", "I012", "nope"],
        project_path=sequence_project,
    )
    assert new.cold_start and new.history_used == 2 and new.ignored_items == ("nope",)
    assert "I013" in [r.item_id for r in new.recommendations]


def _run_python(code: str) -> str:
    """Run code in a fresh interpreter (nothing imported yet); its last stdout line."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_fresh_process_loads_saved_sequence_models_in_safe_mode(sequence_project):
    # Nothing registers the custom layers beforehand: serving must do it itself.
    served = json.loads(
        _run_python(
            "import json, sys\n"
            "assert 'ncf_recommender.models.sasrec' not in sys.modules\n"
            "from ncf_recommender.serving import load_recommender\n"
            f"r = load_recommender('sasrec', project_path={str(sequence_project)!r})\n"
            "print(json.dumps(r.recommend('U003', 5).to_dict()))"
        )
    )
    expected = load_recommender("sasrec", project_path=sequence_project).recommend(
        "U003", 5
    )
    assert [r["item_id"] for r in served["recommendations"]] == [
        r.item_id for r in expected.recommendations
    ]
    np.testing.assert_allclose(
        [r["score"] for r in served["recommendations"]],
        [r.score for r in expected.recommendations],
        rtol=1e-5,
    )
    # The batch pipeline's nodes module registers them for the Kedro runner.
    name = _run_python(
        "import ncf_recommender.pipelines.recommendation.nodes\n"
        "from ncf_recommender.serving import open_project\n"
        f"store, _ = open_project({str(sequence_project)!r})\n"
        "print(store.load('gru_model').name)"
    )
    assert name == "gru4rec"


def test_cli_takes_a_history_for_sequence_models_and_refuses_it_for_ncf(
    sequence_project, capsys
):
    clear_cache()
    args = ["newcomer", "--top-n", "3", "--project", str(sequence_project)]
    status = cli_main([*args, "--model", "sasrec", "--history", "I004", "x", "--json"])
    assert status == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["model"] == "sasrec" and answer["ignored_items"] == ["x"]
    assert answer["cold_start"] is True and answer["history_used"] == 1
    assert cli_main([*args, "--model", "sasrec", "--history", "I004"]) == 0
    table = capsys.readouterr().out
    assert "cold start: yes, from the supplied history" in table
    assert cli_main([*args, "--model", "gmf", "--history", "I004"]) == 2
    assert "'gmf' cannot use histories" in capsys.readouterr().err
