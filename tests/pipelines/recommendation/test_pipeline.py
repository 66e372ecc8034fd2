"""The ``recommendation`` pipeline on MemoryDatasets with the SequentialRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from ncf_recommender.evaluation import top_k
from ncf_recommender.lineage import LineageError, model_info
from ncf_recommender.models.sequences import SequenceScorer, build_histories
from ncf_recommender.pipelines.recommendation import create_pipeline
from ncf_recommender.serving import ServingData, get_model_type
from tests.serving import build_sequence_model, tiny_frames

pytestmark = pytest.mark.slow

N_USERS, N_ITEMS, TOP_N = 15, 40, 10
METRICS = {
    "gmf": {"full": {"ndcg@10": 0.9}, "validation": {"ndcg@10": 0.1}},
    "mlp": {"full": {"ndcg@10": 0.1}, "validation": {"ndcg@10": 0.2}},
    "neumf": {"full": {"ndcg@10": 0.2}, "validation": {"ndcg@10": 0.3}},
    "sasrec": {"full": {"ndcg@10": 0.95}, "validation": {"ndcg@10": 0.25}},
    "gru": {"full": {"ndcg@10": 0.95}, "validation": {"ndcg@10": 0.15}},
    "most_popular": {"full": {"ndcg@10": 0.99}, "validation": {"ndcg@10": 0.99}},
}
CONF = Path(__file__).resolve().parents[3] / "conf" / "base"


@pytest.fixture(scope="module")
def frames():
    return tiny_frames(N_USERS, N_ITEMS, seed=3)


@pytest.fixture(scope="module")
def models():
    import keras  # noqa: PLC0415

    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415
    from ncf_recommender.models.mlp import build_mlp  # noqa: PLC0415
    from ncf_recommender.models.neumf import build_neumf  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    return {
        "gmf": build_gmf(N_USERS, N_ITEMS, embedding_dim=4),
        "mlp": build_mlp(N_USERS, N_ITEMS, embedding_dim=4, layers=(8, 4)),
        "neumf": build_neumf(N_USERS, N_ITEMS, gmf_dim=4, mlp_dim=4, layers=(8, 4)),
        # Untrained: these tests check coverage and ranking, not quality.
        "sasrec": build_sequence_model("sasrec", N_ITEMS, max_len=6),
        "gru": build_sequence_model("gru", N_ITEMS, max_len=6),
    }


def run_pipeline(frames, models, metrics=METRICS, infos=None, **params):
    interactions, user_mapping, item_mapping = frames
    infos = infos or {}
    datasets = {
        "interactions": MemoryDataset(interactions),
        "user_mapping": MemoryDataset(user_mapping),
        "item_mapping": MemoryDataset(item_mapping),
        "ranking_metrics": MemoryDataset(metrics),
        "params:recommendation": MemoryDataset({"top_n": TOP_N, **params}),
        "recommendations": MemoryDataset(),
        "recommendation_summary": MemoryDataset(),
    }
    for name, model in models.items():
        datasets[f"{name}_model"] = MemoryDataset(model, copy_mode="assign")
        datasets[f"{name}_model_info"] = MemoryDataset(
            infos.get(name, model_info(user_mapping, item_mapping))
        )
    catalog = DataCatalog(datasets=datasets)
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog.load("recommendations"), catalog.load("recommendation_summary")


def scorer_of(model):
    from ncf_recommender.models.scorers import KerasScorer  # noqa: PLC0415

    return KerasScorer(model, N_ITEMS)


def test_every_user_gets_ranked_unseen_items_from_the_best_model(frames, models):
    recommendations, summary = run_pipeline(frames, models)
    assert summary["model"] == "neumf"
    assert "validation.ndcg@10" in summary["selected_by"]
    assert summary["ranking"].startswith("exact")
    assert list(recommendations.columns) == ["user_id", "rank", "item_id", "score"]
    assert len(recommendations) == N_USERS * TOP_N == summary["rows"]
    by_user = recommendations.groupby("user_id")
    assert (by_user["rank"].apply(list) == [list(range(1, TOP_N + 1))] * N_USERS).all()
    assert (by_user["score"].diff().dropna() <= 0).all()
    seen = frames[0][["user_id", "item_id"]]
    assert recommendations.merge(seen, on=["user_id", "item_id"]).empty
    data = ServingData.from_frames(*frames)
    items, scores = top_k(
        scorer_of(models["neumf"]), np.arange(N_USERS), data.seen, TOP_N
    )
    np.testing.assert_array_equal(
        recommendations["item_id"].to_numpy(dtype=str), data.item_ids[items].ravel()
    )
    np.testing.assert_allclose(recommendations["score"], scores.ravel(), rtol=1e-6)


def test_retrieval_then_rerank_above_the_size_threshold(frames, models):
    params = {"retrieval": {"exact_max_pairs": 0, "candidates": 15}}
    recommendations, summary = run_pipeline(frames, models, **params)
    assert summary["model"] == "neumf"
    assert summary["ranking"] == "gmf retrieves 15 unseen items, neumf re-ranks"
    data = ServingData.from_frames(*frames)
    retrieved, _ = top_k(scorer_of(models["gmf"]), np.arange(N_USERS), data.seen, 15)
    got = recommendations["item_id"].to_numpy(dtype=str).reshape(N_USERS, TOP_N)
    for user in range(N_USERS):
        assert set(got[user]) <= set(data.item_ids[retrieved[user]])
    assert recommendations.merge(frames[0][["user_id", "item_id"]]).empty


def test_retrieving_every_item_gives_the_exact_lists(frames, models):
    params = {"retrieval": {"exact_max_pairs": 0, "candidates": N_ITEMS}}
    retrieved, _ = run_pipeline(frames, models, **params)
    exact, _ = run_pipeline(frames, models)
    assert retrieved["item_id"].tolist() == exact["item_id"].tolist()


def test_model_parameter_overrides_the_metrics(frames, models):
    recommendations, summary = run_pipeline(frames, models, model="gmf")
    assert summary["model"] == "gmf" and summary["ranking"].startswith("exact")
    assert summary["selected_by"] == "parameter recommendation.model"
    # GMF ranks by its logits and scores the top-N: the model's own best scores.
    data = ServingData.from_frames(*frames)
    _, scores = top_k(scorer_of(models["gmf"]), np.arange(N_USERS), data.seen, TOP_N)
    np.testing.assert_array_equal(recommendations["score"], scores.ravel())
    assert recommendations.merge(frames[0][["user_id", "item_id"]]).empty


def test_bad_parameter_names_the_key(frames, models):
    with pytest.raises(Exception, match="top_n"):
        run_pipeline(frames, models, top_n=0)


def test_catalog_declares_the_contract_dataset():
    catalog = yaml.safe_load((CONF / "catalog_recommendation.yml").read_text())
    entry = catalog["recommendations"]
    assert entry["type"] == "ncf_recommender.atomic.ParquetDataset"
    assert entry["versioned"] is True
    assert entry["metadata"]["kedro-viz"]["layer"] == "model_output"
    pipeline = create_pipeline()
    assert {
        "interactions",
        "gmf_model",
        "neumf_model",
        "sasrec_model",
        "gru_model",
        "params:recommendation",
    } <= pipeline.inputs()
    assert pipeline.outputs() == {"recommendations", "recommendation_summary"}


def test_gmf_retrieval_logits_rank_like_the_model(frames, models):
    data = ServingData.from_frames(*frames)
    users = np.arange(N_USERS)
    logits = get_model_type("gmf").ranking_scorer(models["gmf"], data)
    assert type(logits).__name__ == "DotProductScorer"
    model = scorer_of(models["gmf"])
    by_logits, _ = top_k(logits, users, data.seen, N_ITEMS // 2)
    by_model, model_scores = top_k(model, users, data.seen, N_ITEMS // 2)
    # Same lists up to items whose float32 probabilities tie (untrained weights
    # put every probability within 1e-4 of 0.5).
    np.testing.assert_array_equal(
        np.take_along_axis(model.score(users), by_logits, axis=1), model_scores
    )
    assert (by_logits == by_model).mean() > 0.9


@pytest.mark.parametrize("name", ["sasrec", "gru"])
def test_sequence_model_lists_cover_every_user_exactly(frames, models, name):
    # Above the retrieval threshold too: a sequence model scores every item anyway.
    params = {"model": name, "retrieval": {"exact_max_pairs": 0}}
    recommendations, summary = run_pipeline(frames, models, **params)
    assert summary["model"] == name
    assert summary["ranking"].startswith(f"exact: {name} scores all {N_ITEMS} items")
    assert "history" in summary["ranking"]
    assert len(recommendations) == N_USERS * TOP_N == summary["rows"]
    assert set(recommendations["user_id"]) == set(frames[1]["user_id"])
    assert recommendations.merge(frames[0][["user_id", "item_id"]]).empty
    data = ServingData.from_frames(*frames)
    scorer = SequenceScorer(models[name], build_histories(frames[0], N_USERS))
    items, scores = top_k(scorer, np.arange(N_USERS), data.seen, TOP_N)
    np.testing.assert_array_equal(
        recommendations["item_id"].to_numpy(dtype=str), data.item_ids[items].ravel()
    )
    np.testing.assert_allclose(recommendations["score"], scores.ravel(), rtol=1e-5)


def test_auto_includes_the_sequence_models(frames, models):
    metrics = {**METRICS, "gru": {"validation": {"ndcg@10": 0.5}}}
    recommendations, summary = run_pipeline(frames, models, metrics=metrics)
    assert summary["model"] == "gru"
    assert "'gru'" in summary["selected_by"] and "'sasrec'" in summary["selected_by"]
    assert recommendations["user_id"].nunique() == N_USERS


def test_a_model_trained_on_other_mappings_is_refused(frames, models):
    _, user_mapping, item_mapping = frames
    other = item_mapping.assign(item_id=item_mapping["item_id"] + "-old")
    stale = model_info(user_mapping, other)
    with pytest.raises(LineageError) as raised:
        run_pipeline(frames, models, infos={"mlp": stale})
    message = str(raised.value)
    assert "mlp_model" in message and stale["mappings_fingerprint"] in message
    assert model_info(user_mapping, item_mapping)["mappings_fingerprint"] in message
