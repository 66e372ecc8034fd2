"""Ranking logic of the recommender on numpy scorers (no Kedro, no TensorFlow)."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.evaluation import top_k
from ncf_recommender.models.baselines import DotProductScorer
from ncf_recommender.serving import (
    HistoryNotSupportedError,
    ModelType,
    Recommender,
    ServingData,
    UnknownUserError,
    UnusableHistoryError,
    get_model_type,
)
from ncf_recommender.serving._batch import recommendations_frame, top_n_all_users
from ncf_recommender.serving._ranking import Retrieval, retrieve_and_rerank
from ncf_recommender.serving._selection import select_best_model
from tests.serving import tiny_frames

N_USERS, N_ITEMS = 12, 25


@pytest.fixture(scope="module")
def frames():
    return tiny_frames(N_USERS, N_ITEMS)


@pytest.fixture(scope="module")
def data(frames):
    return ServingData.from_frames(*frames)


@pytest.fixture(scope="module")
def scorer():
    rng = np.random.default_rng(7)
    return DotProductScorer(
        rng.normal(size=(N_USERS, 4)), rng.normal(size=(N_ITEMS, 4))
    )


def make_recommender(scorer, data, **kwargs):
    return Recommender(
        scorer, data, get_model_type("gmf"), model_version="v1", **kwargs
    )


def seen_items(frames, user):
    interactions = frames[0]
    return set(interactions.loc[interactions.user_idx == user, "item_id"])


def test_known_user_gets_best_unseen_items_best_first(scorer, data, frames):
    recommender = make_recommender(scorer, data)
    result = recommender.recommend("U003", top_n=5)
    scores = scorer.score(np.array([3]))[0]
    seen = np.isin(data.item_ids, list(seen_items(frames, 3)))
    expected = [i for i in np.argsort(-scores, kind="stable") if not seen[i]][:5]
    assert [r.item_id for r in result.recommendations] == [
        f"I{i:03d}" for i in expected
    ]
    assert [r.rank for r in result.recommendations] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(
        [r.score for r in result.recommendations], scores[expected]
    )
    assert (
        result.cold_start is False
        and result.model == "gmf"
        and result.model_version == "v1"
    )


def test_no_user_is_recommended_an_item_they_interacted_with(scorer, data, frames):
    recommender = make_recommender(scorer, data)
    user_ids = list(data.user_ids)
    results = recommender.recommend_many(user_ids, top_n=N_ITEMS)
    for user, result in enumerate(results):
        recommended = [r.item_id for r in result.recommendations]
        assert not set(recommended) & seen_items(frames, user)
        # top_n above the catalogue: every remaining item, once.
        assert (
            len(recommended)
            == len(set(recommended))
            == N_ITEMS - len(seen_items(frames, user))
        )


def test_unknown_user_gets_most_popular_items_flagged_cold_start(scorer, data, frames):
    recommender = make_recommender(scorer, data)
    result = recommender.recommend("somebody-new", top_n=4)
    counts = frames[0].groupby("item_id")["user_id"].nunique()
    counts = counts.reindex(data.item_ids, fill_value=0)
    expected = counts.reset_index().sort_values(
        ["user_id", "item_id"], ascending=[False, True]
    )
    assert result.cold_start is True
    assert [r.item_id for r in result.recommendations] == list(expected["item_id"][:4])
    np.testing.assert_allclose(
        [r.score for r in result.recommendations], expected["user_id"][:4] / N_USERS
    )


def test_cold_start_can_raise_instead(scorer, data):
    recommender = make_recommender(scorer, data, cold_start="raise")
    with pytest.raises(UnknownUserError, match="unknown user_id 'ghost'"):
        recommender.recommend("ghost")
    with pytest.raises(UnknownUserError, match="'ghost'"):
        recommender.recommend_many(["U001", "ghost"])


@pytest.mark.parametrize("top_n", [0, -3, 2.5, "5", True, None])
def test_bad_top_n_is_a_value_error_that_says_so(scorer, data, top_n):
    recommender = make_recommender(scorer, data)
    with pytest.raises(ValueError, match="top_n must be a positive integer"):
        recommender.recommend("U001", top_n=top_n)


def test_bad_user_id_type_is_rejected(scorer, data):
    with pytest.raises(ValueError, match="user_id"):
        make_recommender(scorer, data).recommend(["U001"])


def test_batch_answers_keep_request_order_and_mix_cold_starts(scorer, data):
    recommender = make_recommender(scorer, data)
    results = recommender.recommend_many(["U002", "new", "U000"], top_n=3)
    assert [r.user_id for r in results] == ["U002", "new", "U000"]
    assert [r.cold_start for r in results] == [False, True, False]
    alone = recommender.recommend("U002", top_n=3).recommendations
    assert [r.item_id for r in results[0].recommendations] == [r.item_id for r in alone]
    np.testing.assert_allclose(
        [r.score for r in results[0].recommendations], [r.score for r in alone]
    )


def test_history_is_rejected_by_ncf_models(scorer, data):
    with pytest.raises(HistoryNotSupportedError, match="'gmf' cannot use histories"):
        make_recommender(scorer, data).recommend("U001", history=["I001"])


class _HistoryScorer:
    """Scores item i after any history as -i (so lower indices rank first)."""

    def __init__(self, n_items):
        self.n_items = n_items

    def score(self, users, items=None):
        raise AssertionError("a history request must not score by user")

    def score_history(self, histories):
        return np.tile(-np.arange(self.n_items, dtype=float), (len(histories), 1))


def test_history_hook_for_sequence_models(data, frames):
    sequence = ModelType(
        "seq", "seq_model", lambda model, d: _HistoryScorer(d.n_items), True
    )
    recommender = Recommender(_HistoryScorer(N_ITEMS), data, sequence)
    result = recommender.recommend("U000", top_n=3, history=["I000", "I002"])
    excluded = seen_items(frames, 0) | {"I000", "I002"}
    expected = [f"I{i:03d}" for i in range(N_ITEMS) if f"I{i:03d}" not in excluded][:3]
    assert [r.item_id for r in result.recommendations] == expected
    assert result.history_used == 2 and result.ignored_items == ()
    ignored = recommender.recommend("U000", history=["nope", "I001"])
    assert ignored.ignored_items == ("nope",) and ignored.history_used == 1
    with pytest.raises(
        UnusableHistoryError, match="'stranger'.*unknown item_id 'nope'"
    ):
        recommender.recommend("stranger", history=["nope"])
    with pytest.raises(ValueError, match="history must be a list"):
        recommender.recommend("U000", history="I001")


def test_retrieve_and_rerank_equals_exact_when_everything_is_retrieved(scorer, data):
    rng = np.random.default_rng(3)
    retrieval = DotProductScorer(
        rng.normal(size=(N_USERS, 3)), rng.normal(size=(N_ITEMS, 3))
    )
    users = np.arange(N_USERS)
    items, scores = retrieve_and_rerank(
        scorer, retrieval, users, data.seen, 6, candidates=N_ITEMS
    )
    exact_items, exact_scores = top_k(scorer, users, data.seen, 6)
    np.testing.assert_array_equal(items, exact_items)
    np.testing.assert_allclose(scores, exact_scores)


def test_retrieve_and_rerank_reranks_only_the_candidates(scorer, data):
    rng = np.random.default_rng(4)
    retrieval = DotProductScorer(
        rng.normal(size=(N_USERS, 3)), rng.normal(size=(N_ITEMS, 3))
    )
    users = np.arange(N_USERS)
    items, scores = retrieve_and_rerank(
        scorer, retrieval, users, data.seen, 3, candidates=5
    )
    retrieved, _ = top_k(retrieval, users, data.seen, 5)
    for row in range(N_USERS):
        assert set(items[row]) <= set(retrieved[row])
        candidate_scores = scorer.score(np.array([row]), retrieved[row][None])[0]
        np.testing.assert_allclose(scores[row], np.sort(candidate_scores)[::-1][:3])


def test_recommender_with_retrieval_and_batch_agree(scorer, data):
    rng = np.random.default_rng(5)
    retrieval = DotProductScorer(
        rng.normal(size=(N_USERS, 3)), rng.normal(size=(N_ITEMS, 3))
    )
    recommender = make_recommender(
        scorer, data, retrieval=Retrieval(retrieval, "gmf", "v0", 8)
    )
    assert "retrieves 8" in recommender.ranking_method
    online = recommender.recommend_many(list(data.user_ids), top_n=4)
    items, _ = top_n_all_users(
        scorer, data.seen, 4, retrieval_scorer=retrieval, candidates=8, batch_users=5
    )
    assert [[r.item_id for r in o.recommendations] for o in online] == [
        list(data.item_ids[row]) for row in items
    ]


def test_top_n_all_users_marks_exhausted_users_and_frame_drops_them(
    scorer, data, frames
):
    items, scores = top_n_all_users(scorer, data.seen, N_ITEMS)
    n_seen = np.diff(data.seen.indptr)
    assert ((items >= 0).sum(axis=1) == N_ITEMS - n_seen).all()
    frame = recommendations_frame(items, scores, data.user_ids, data.item_ids)
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score"]
    assert len(frame) == N_USERS * N_ITEMS - n_seen.sum()
    ranks = frame.groupby("user_id")["rank"].agg(["min", "max", "count"])
    assert (ranks["min"] == 1).all() and (ranks["max"] == ranks["count"]).all()
    assert (frame.groupby("user_id")["score"].diff().dropna() <= 0).all()
    merged = frame.merge(frames[0][["user_id", "item_id"]], how="inner")
    assert merged.empty


def test_select_best_model_prefers_validation_figures():
    metrics = {
        "gmf": {"full": {"ndcg@10": 0.9}, "validation": {"ndcg@10": 0.2}},
        "neumf": {"full": {"ndcg@10": 0.1}, "validation": {"ndcg@10": 0.3}},
        "most_popular": {"full": {"ndcg@10": 0.99}, "validation": {"ndcg@10": 0.99}},
    }
    assert select_best_model(metrics, ["gmf", "neumf"]) == (
        "neumf",
        "validation.ndcg@10",
    )


def test_select_best_model_falls_back_to_test_block_and_says_so(caplog):
    metrics = {"gmf": {"full": {"ndcg@10": 0.2}}, "mlp": {"full": {"ndcg@10": 0.1}}}
    with caplog.at_level(logging.WARNING):
        assert select_best_model(metrics, ["gmf", "mlp"]) == ("gmf", "full.ndcg@10")
    assert "no validation figures" in caplog.text


def test_select_best_model_without_the_metric_names_it():
    with pytest.raises(ValueError, match="'hr@5'.*recommendation.model"):
        select_best_model({"gmf": {"full": {"ndcg@10": 0.2}}}, ["gmf"], "hr@5")


def test_mapping_that_is_not_a_permutation_is_rejected(frames):
    interactions, user_mapping, item_mapping = frames
    broken = user_mapping.assign(user_idx=np.zeros(len(user_mapping), dtype=np.int32))
    with pytest.raises(
        ValueError, match="user_mapping.user_idx must hold each of 0..11"
    ):
        ServingData.from_frames(interactions, broken, item_mapping)
    with pytest.raises(ValueError, match="item_mapping has no column 'item_id'"):
        ServingData.from_frames(
            interactions, user_mapping, item_mapping.drop(columns="item_id")
        )


def test_model_and_mapping_of_different_sizes_are_rejected(data):
    small = DotProductScorer(np.ones((N_USERS, 2)), np.ones((N_ITEMS - 1, 2)))
    with pytest.raises(ValueError, match="scores 24 items but item_mapping has 25"):
        make_recommender(small, data)


def test_answer_shape(scorer, data):
    answer = make_recommender(scorer, data).recommend("U001", top_n=2).to_dict()
    assert set(answer) == {
        "user_id",
        "cold_start",
        "model",
        "model_version",
        "recommendations",
        "ignored_items",
        "history_used",
    }
    assert answer["ignored_items"] == [] and answer["history_used"] == 0
    assert set(answer["recommendations"][0]) == {
        "rank",
        "item_id",
        "score",
        "title",
        "category",
    }
    assert answer["recommendations"][0]["title"] is None  # no item_metadata here
    assert isinstance(
        pd.Series([r["score"] for r in answer["recommendations"]]).sum(), float
    )


def test_package_import_does_not_import_tensorflow():
    code = (
        "import sys; from ncf_recommender import recommend_items; "
        "import ncf_recommender.serving.api; "
        "assert callable(recommend_items); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_public_api_is_the_package_and_every_name_resolves():
    from ncf_recommender import serving  # noqa: PLC0415
    from ncf_recommender.serving import api  # noqa: PLC0415

    for name in serving.__all__:
        assert getattr(serving, name) is not None, name
    assert serving.create_app is api.create_app
    assert serving.ServingSettings is api.ServingSettings
    assert issubclass(serving.RequestError, ValueError)
    assert issubclass(serving.HistoryNotSupportedError, serving.RequestError)
    with pytest.raises(AttributeError, match="no attribute 'retrieve_and_rerank'"):
        serving.retrieve_and_rerank  # internal: not re-exported


def test_the_package_import_loads_neither_fastapi_nor_tensorflow():
    code = (
        "import sys; import ncf_recommender.serving; "
        "assert 'fastapi' not in sys.modules, 'FastAPI imported'; "
        "assert 'tensorflow' not in sys.modules, 'TF imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
