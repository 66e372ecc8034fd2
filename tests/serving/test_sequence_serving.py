"""Serving the sequence models (``sasrec``, ``gru``): catalogued and supplied histories.

The models are tiny and trained for a few seconds on the planted walk data
(item ``i`` is always followed by ``i + 1``), so the planted next item is a
checkable answer.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ncf_recommender.evaluation import top_k
from ncf_recommender.models.baselines import DotProductScorer
from ncf_recommender.models.sequences import SequenceScorer, build_histories
from ncf_recommender.pipelines.data_processing.nodes import split_leave_last_two
from ncf_recommender.serving import (
    HistoryNotSupportedError,
    Recommender,
    ServingData,
    UnknownUserError,
    UnusableHistoryError,
    batch_recommendations,
    get_model_type,
)
from ncf_recommender.serving.api import ServingSettings, create_app
from tests.serving import (
    PLANTED_ITEMS,
    PLANTED_USERS,
    planted_frames,
    trained_sequence_model,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames():
    return planted_frames()


@pytest.fixture(scope="module")
def data(frames):
    return ServingData.from_frames(*frames)


@pytest.fixture(scope="module", params=["sasrec", "gru"])
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def model(kind):
    return trained_sequence_model(kind)


def make_recommender(kind, model, data, **kwargs):
    model_type = get_model_type(kind)
    scorer = model_type.scorer_factory(model, data)
    return Recommender(scorer, data, model_type, model_version="v1", **kwargs)


def item(index: int) -> str:
    return f"I{index % PLANTED_ITEMS:03d}"


def ids(result) -> list[str]:
    return [r.item_id for r in result.recommendations]


def assert_same(result, expected):
    """Same answer up to float32 rounding (scores depend a little on batch size)."""
    assert ids(result) == ids(expected)
    np.testing.assert_allclose(
        [r.score for r in result.recommendations],
        [r.score for r in expected.recommendations],
        rtol=1e-5,
    )
    assert result.to_dict() | {"recommendations": None} == expected.to_dict() | {
        "recommendations": None
    }


def seen_items(frames, user_id):
    interactions = frames[0]
    return set(interactions.loc[interactions.user_id == user_id, "item_id"])


def test_catalogued_history_is_train_validation_test_in_split_order(frames, data):
    train, val, test = split_leave_last_two(frames[0])
    for user in range(PLANTED_USERS):
        expected = [
            *train.item_idx[train.user_idx == user],
            *val.item_idx[val.user_idx == user],
            *test.item_idx[test.user_idx == user],
        ]
        history = data.histories.user_items(user)
        assert history.tolist() == expected
        # The walk, including its two tied first events kept in row order.
        assert (np.diff(history) % PLANTED_ITEMS == 1).all()


def test_sequence_types_are_registered_for_histories():
    for name in ("sasrec", "gru"):
        model_type = get_model_type(name)
        assert model_type.uses_history and model_type.exact_always
        assert model_type.dataset == f"{name}_model"
    assert not get_model_type("neumf").uses_history


def test_known_user_is_served_from_the_catalogued_history(kind, model, data, frames):
    recommender = make_recommender(kind, model, data)
    result = recommender.recommend("U003", top_n=5)
    scorer = SequenceScorer(model, build_histories(frames[0], PLANTED_USERS))
    expected, scores = top_k(scorer, np.array([3]), data.seen, 5)
    assert ids(result) == list(data.item_ids[expected[0]])
    np.testing.assert_allclose(
        [r.score for r in result.recommendations], scores[0], rtol=1e-5
    )
    assert not set(ids(result)) & seen_items(frames, "U003")
    assert (result.cold_start, result.history_used, result.ignored_items) == (
        False,
        0,
        (),
    )
    assert result.model == kind and "history" in recommender.ranking_method
    # Planted: the item after the user's latest one is among the first.
    latest = int(data.histories.user_items(3)[-1])
    assert item(latest + 1) in ids(result)[:2]


def test_supplied_history_is_read_as_the_newest_events_and_excluded(
    kind, model, data, frames
):
    recommender = make_recommender(kind, model, data)
    seen = seen_items(frames, "U003")
    start = next(
        i for i in range(PLANTED_ITEMS) if not {item(i + k) for k in range(4)} & seen
    )
    supplied = [item(start), item(start + 1), item(start + 2)]
    plain = recommender.recommend("U003", top_n=4)
    result = recommender.recommend("U003", top_n=4, history=supplied)
    assert ids(result) != ids(plain)
    assert not set(ids(result)) & (seen | set(supplied))
    assert item(start + 3) in ids(result)[:2]
    assert (result.cold_start, result.history_used) == (False, 3)
    # Exactly the model's scores after catalogued + supplied items.
    catalogued = data.histories.user_items(3).tolist()
    after = recommender.scorer.score_history(
        [[*catalogued, *(data.item_ids.tolist().index(i) for i in supplied)]]
    )[0]
    np.testing.assert_allclose(
        [r.score for r in result.recommendations],
        [after[data.item_ids.tolist().index(i)] for i in ids(result)],
        rtol=1e-5,
    )


@pytest.mark.parametrize("a", range(PLANTED_ITEMS))
def test_planted_a_then_b_history_ending_in_a_puts_b_in_the_top_n(kind, model, data, a):
    recommender = make_recommender(kind, model, data)
    result = recommender.recommend("someone-new", top_n=3, history=[item(a)])
    assert item(a + 1) in ids(result)
    longer = recommender.recommend(
        "someone-new", top_n=3, history=[item(a - 2), item(a - 1), item(a)]
    )
    assert item(a + 1) in ids(longer)
    assert not {item(a - 2), item(a - 1), item(a)} & set(ids(longer))
    assert (longer.cold_start, longer.history_used) == (True, 3)


def test_unknown_history_items_are_dropped_and_reported(data):
    recommender = make_recommender("gru", trained_sequence_model("gru"), data)
    known = recommender.recommend("U003", top_n=3, history=["nope", item(0)])
    assert known.ignored_items == ("nope",) and known.history_used == 1
    new = recommender.recommend("newbie", top_n=3, history=[item(4), "B0X", item(5)])
    assert new.ignored_items == ("B0X",) and new.history_used == 2
    assert item(6) in ids(new)
    with pytest.raises(UnusableHistoryError) as error:
        recommender.recommend("newbie", history=["nope", "zilch"])
    assert "'newbie'" in str(error.value) and "'nope', 'zilch'" in str(error.value)
    # A known user keeps the catalogued history when nothing supplied is known.
    only_unknown = recommender.recommend("U003", top_n=3, history=["zilch"])
    assert ids(only_unknown) == ids(recommender.recommend("U003", top_n=3))
    assert only_unknown.history_used == 0
    assert only_unknown.ignored_items == ("zilch",)


def test_empty_history_gives_an_unknown_user_the_usual_cold_start(data):
    recommender = make_recommender("gru", trained_sequence_model("gru"), data)
    empty = recommender.recommend("newbie", top_n=3, history=[])
    plain = recommender.recommend("newbie", top_n=3)
    assert empty == plain and empty.cold_start and empty.history_used == 0


def test_cold_start_raise_still_answers_users_with_a_usable_history(data):
    recommender = make_recommender(
        "gru", trained_sequence_model("gru"), data, cold_start="raise"
    )
    results = recommender.recommend_many(
        ["U000", "newbie"], top_n=2, histories=[None, [item(7)]]
    )
    assert [r.cold_start for r in results] == [False, True]
    with pytest.raises(UnknownUserError) as error:
        recommender.recommend_many(["newbie", "ghost"], histories=[[item(7)], None])
    assert error.value.user_ids == ["ghost"]


def test_batch_mixes_histories_catalogued_users_and_popular(data):
    recommender = make_recommender("gru", trained_sequence_model("gru"), data)
    results = recommender.recommend_many(
        ["U001", "newbie", "U002", "ghost"],
        top_n=3,
        histories=[None, [item(10)], [item(0)], None],
    )
    assert_same(results[0], recommender.recommend("U001", 3))
    assert_same(results[1], recommender.recommend("newbie", 3, history=[item(10)]))
    assert_same(results[2], recommender.recommend("U002", 3, history=[item(0)]))
    assert_same(results[3], recommender.recommend("ghost", 3))
    assert results[3].cold_start and results[3].history_used == 0
    with pytest.raises(ValueError, match="histories has 1 entries for 2 user ids"):
        recommender.recommend_many(["U001", "U002"], histories=[None])


def test_ncf_models_refuse_histories_naming_the_model(data):
    rng = np.random.default_rng(0)
    scorer = DotProductScorer(
        rng.normal(size=(PLANTED_USERS, 3)), rng.normal(size=(PLANTED_ITEMS, 3))
    )
    recommender = Recommender(scorer, data, get_model_type("neumf"))
    with pytest.raises(HistoryNotSupportedError, match="'neumf' cannot use histories"):
        recommender.recommend("U001", history=[item(1)])
    with pytest.raises(HistoryNotSupportedError, match="sasrec"):
        recommender.recommend_many(["U001", "new"], histories=[None, []])


def test_batch_recommendations_of_a_sequence_model_cover_every_user(
    kind, model, data, frames
):
    settings = {"model": kind, "top_n": 4, "retrieval": {"exact_max_pairs": 0}}
    table, summary = batch_recommendations(
        {kind: model}, None, *frames, settings=settings
    )
    assert summary["model"] == kind and summary["ranking"].startswith("exact")
    assert "history" in summary["ranking"]
    assert table["user_id"].nunique() == PLANTED_USERS == len(table) // 4
    assert table.merge(frames[0][["user_id", "item_id"]]).empty
    scorer = SequenceScorer(model, build_histories(frames[0], PLANTED_USERS))
    expected, _ = top_k(scorer, np.arange(PLANTED_USERS), data.seen, 4)
    np.testing.assert_array_equal(
        table["item_id"].to_numpy(dtype=str), data.item_ids[expected].ravel()
    )
    online = make_recommender(kind, model, data).recommend_many(
        list(data.user_ids), top_n=4
    )
    assert [i for r in online for i in ids(r)] == table["item_id"].tolist()


# --- HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sasrec_recommender(data):
    return make_recommender("sasrec", trained_sequence_model("sasrec"), data)


@pytest.fixture(scope="module")
def client(sasrec_recommender):
    settings = ServingSettings(max_history_items=4)
    app = create_app(lambda: (sasrec_recommender, settings))
    with TestClient(app) as test_client:
        yield test_client


def test_http_cold_start_user_with_a_history_gets_sequence_recommendations(
    client, sasrec_recommender
):
    response = client.post(
        "/recommendations",
        json={
            "user_ids": ["newcomer", "U001"],
            "top_n": 3,
            "histories": {"newcomer": [item(4), "B-unknown", item(5)]},
        },
    )
    assert response.status_code == 200
    new, known = response.json()["results"]
    assert new["user_id"] == "newcomer" and new["model"] == "sasrec"
    assert new["cold_start"] is True and new["history_used"] == 2
    assert new["ignored_items"] == ["B-unknown"]
    items = [r["item_id"] for r in new["recommendations"]]
    assert item(6) in items and not {item(4), item(5)} & set(items)
    assert known["ignored_items"] == [] and known["history_used"] == 0
    assert [r["item_id"] for r in known["recommendations"]] == ids(
        sasrec_recommender.recommend("U001", 3)
    )


def test_http_single_user_form_with_history_matches_the_batch_form(client):
    single = client.post(
        "/recommendations",
        json={"user_id": "newcomer", "history": [item(4), item(5)], "top_n": 3},
    )
    batch = client.post(
        "/recommendations",
        json={
            "user_ids": ["newcomer"],
            "histories": {"newcomer": [item(4), item(5)]},
            "top_n": 3,
        },
    )
    assert single.status_code == 200
    assert single.json() == batch.json()
    (result,) = single.json()["results"]
    assert result["cold_start"] is True and result["history_used"] == 2


def test_http_known_user_history_and_get_with_history(client, sasrec_recommender):
    response = client.get(
        "/recommendations/U002", params={"top_n": 3, "history": [item(9), item(10)]}
    )
    assert response.status_code == 200
    body = response.json()
    expected = sasrec_recommender.recommend("U002", 3, history=[item(9), item(10)])
    assert [r["item_id"] for r in body["recommendations"]] == ids(expected)
    assert body["cold_start"] is False and body["history_used"] == 2


def test_http_unknown_user_with_only_unknown_items_is_a_404_naming_them(client):
    response = client.post(
        "/recommendations",
        json={"user_ids": ["newcomer"], "histories": {"newcomer": ["x1", "x2"]}},
    )
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "'newcomer'" in detail and "'x1', 'x2'" in detail


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"user_ids": ["U001"], "histories": {"U001": [item(i) for i in range(5)]}},
            "history of user_id 'U001' has 5 items; at most 4",
        ),
        (
            {"user_ids": ["U001"], "histories": {"U001": "I001"}},
            "histories.U001: Input should be a valid list",
        ),
        (
            {"user_id": "U001", "user_ids": ["U001"]},
            "user_ids: Extra inputs are not permitted",
        ),
        ({"user_ids": ["U001"], "history": [item(1)]}, "history: Extra inputs are not"),
        ({"top_n": 3}, "user_ids: Field required"),
    ],
)
def test_http_bad_histories_are_422_with_a_readable_message(client, body, message):
    response = client.post("/recommendations", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_http_histories_of_users_not_requested_are_listed_not_read(client):
    response = client.post(
        "/recommendations",
        json={"user_ids": ["U001"], "histories": {"U009": [item(1)]}, "top_n": 2},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ignored_histories"] == ["U009"]
    assert body["results"][0]["history_used"] == 0


def test_http_model_info_says_the_model_uses_histories(client):
    info = client.get("/model").json()
    assert info["model"] == "sasrec" and info["uses_history"] is True
    assert "history" in info["ranking"]
