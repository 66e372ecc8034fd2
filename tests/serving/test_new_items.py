"""Item metadata in serving and products added at serving time (issue 16).

A hand-set GMF over two categories makes the expected lists certain: users
whose history is in one category score that category's items highest, so a
product added in that category must top their list and stay out of the
other category's users' top 3. For the sequence models the expectation is
exact: a product whose only known related item is ``I003`` gets ``I003``'s
vector, hence ``I003``'s score for every user and history.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ncf_recommender.constants import (
    INTERACTION_COLUMNS,
    ITEM_ID,
    ITEM_IDX,
    USER_ID,
    USER_IDX,
)
from ncf_recommender.models.new_items import embed_new_items
from ncf_recommender.serving import (
    CataloguedMetadata,
    NewItemError,
    Recommender,
    RequestError,
    ServingData,
    UnknownItemError,
    get_model_type,
)
from ncf_recommender.serving._loading import load_item_metadata
from ncf_recommender.serving.api import ServingSettings, create_app
from ncf_recommender.serving.cli import format_table
from tests.serving import PLANTED_ITEMS, build_sequence_model, planted_frames

SETTINGS = ServingSettings(max_users_per_request=3, max_top_n=40)
HEADPHONES = ["Electronics", "Audio", "Headphones"]
CAMERAS = ["Electronics", "Photo", "Cameras"]
#: GMF item vectors: I000-I004 are headphones (first axis), I005-I009 cameras.
ITEM_VECTORS = np.array(
    [[1.0, 0.0], [1.0, 0.1], [0.5, 0.0], [0.4, 0.0], [0.3, 0.0]]
    + [[0.0, 1.0], [0.1, 1.0], [0.0, 0.5], [0.0, 0.4], [0.0, 0.3]]
)
#: U000 bought headphones, U001 cameras, U002 one of each.
USER_VECTORS = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
HISTORIES = {0: [0, 1], 1: [5, 6], 2: [2, 7]}


# Hand-computed encoder cases -------------------------------------------------


def test_related_items_are_averaged_and_rescaled_to_their_mean_norm():
    table = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    out = embed_new_items(table, [[0, 1]], [[2]])
    # mean (0.5, 1) has norm sqrt(1.25); the neighbours' mean norm is 1.5.
    expected = np.array([0.5, 1.0]) / math.sqrt(1.25) * 1.5
    np.testing.assert_allclose(out.vectors[0], expected, rtol=1e-6)
    assert out.basis.tolist() == ["related"] and out.neighbours.tolist() == [2]


def test_category_is_the_fallback_and_none_is_nan():
    table = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    out = embed_new_items(table, [[], [], [2, 2]], [[1, 2], [], []])
    mean = np.array([1.5, 3.0])  # of (0, 2) and (3, 4); mean norm (2 + 5) / 2
    np.testing.assert_allclose(
        out.vectors[0], mean / np.linalg.norm(mean) * 3.5, rtol=1e-6
    )
    assert out.basis.tolist() == ["category", "none", "related"]
    assert np.isnan(out.vectors[1]).all()
    np.testing.assert_allclose(out.vectors[2], [3.0, 4.0])  # a repeat counts once
    assert out.neighbours.tolist() == [2, 0, 1]


def test_encoder_rejects_out_of_range_rows():
    with pytest.raises(
        ValueError, match=r"related_rows must hold item indices in \[0, 2\)"
    ):
        embed_new_items(np.ones((2, 3)), [[2]], [[]])
    with pytest.raises(ValueError, match="one of each per new item"):
        embed_new_items(np.ones((2, 3)), [[0]], [])


# A hand-set GMF with item metadata -------------------------------------------


def category_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    users = np.repeat(list(HISTORIES), [len(h) for h in HISTORIES.values()])
    items = np.concatenate(list(HISTORIES.values()))
    user_ids = np.array([f"U{u:03d}" for u in range(3)])
    item_ids = np.array([f"I{i:03d}" for i in range(10)])
    interactions = pd.DataFrame(
        {
            USER_ID: user_ids[users],
            ITEM_ID: item_ids[items],
            USER_IDX: users.astype(np.int32),
            ITEM_IDX: items.astype(np.int32),
            "rating": 5.0,
            "timestamp": np.arange(users.size, dtype=np.int64),
        }
    )[list(INTERACTION_COLUMNS)]
    user_mapping = pd.DataFrame({USER_ID: user_ids, USER_IDX: np.arange(3)})
    item_mapping = pd.DataFrame({ITEM_ID: item_ids, ITEM_IDX: np.arange(10)})
    return interactions, user_mapping, item_mapping


def item_metadata_frame() -> pd.DataFrame:
    """As the item_metadata pipeline saves it: numpy lists, NaN prices, a metadata-only product."""
    ids = [f"I{i:03d}" for i in range(10)] + ["M001"]
    paths = [HEADPHONES] * 5 + [CAMERAS] * 5 + [HEADPHONES]
    return pd.DataFrame(
        {
            "item_id": ids,
            "title": [f"Product {i}" for i in ids[:-2]] + [None, "Metadata only"],
            "brand": ["Acme"] * 11,
            "categories": [np.array(p, dtype=object) for p in paths],
            "price": [9.5] * 9 + [np.nan, 3.0],
            "complements": [np.array([], dtype=object)] * 11,
            "substitutes": [np.array([], dtype=object)] * 11,
            "item_idx": pd.array(list(range(10)) + [None], dtype="Int32"),
        }
    )


def hand_set_gmf():
    from ncf_recommender.models.gmf import (  # noqa: PLC0415
        GMF_ITEM_EMBEDDING,
        GMF_USER_EMBEDDING,
        PREDICTION,
        build_gmf,
    )

    model = build_gmf(3, 10, embedding_dim=2)
    model.get_layer(GMF_USER_EMBEDDING).set_weights([USER_VECTORS])
    model.get_layer(GMF_ITEM_EMBEDDING).set_weights([ITEM_VECTORS])
    model.get_layer(PREDICTION).set_weights([np.ones((2, 1)), np.zeros(1)])
    return model


def gmf_recommender(with_metadata: bool = True) -> Recommender:
    model_type = get_model_type("gmf")
    data = ServingData.from_frames(*category_frames())
    metadata = (
        CataloguedMetadata.from_frame(item_metadata_frame(), data.item_ids, "v1")
        if with_metadata
        else None
    )
    return Recommender(
        model_type.scorer_factory(hand_set_gmf(), data),
        data,
        model_type,
        model_version="v0",
        item_metadata=metadata,
    )


def ids(recommendation) -> list[str]:
    return [r.item_id for r in recommendation.recommendations]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_an_added_product_tops_the_list_of_a_user_of_its_category():
    recommender = gmf_recommender()
    assert ids(recommender.recommend("U000", 3)) == ["I002", "I003", "I004"]
    added = recommender.add_item(
        {"item_id": "NEW-HP", "title": "New headphones", "categories": HEADPHONES}
    )
    assert added["embedded_from"] == "category" and added["neighbours"] == 5
    headphones_user = recommender.recommend("U000", 3)
    assert ids(headphones_user) == ["NEW-HP", "I002", "I003"]
    first = headphones_user.recommendations[0]
    assert (first.title, first.category) == ("New headphones", "Headphones")
    # The category's mean vector, rescaled: (0.64, 0.02) to norm 0.641...
    mean = ITEM_VECTORS[:5].mean(axis=0)
    vector = (
        mean / np.linalg.norm(mean) * np.linalg.norm(ITEM_VECTORS[:5], axis=1).mean()
    )
    assert first.score == pytest.approx(sigmoid(vector @ USER_VECTORS[0]), rel=1e-5)
    # A camera buyer's top 3 stays cameras; the product is in nobody's seen items.
    assert ids(recommender.recommend("U001", 3)) == ["I007", "I008", "I009"]
    assert "NEW-HP" in ids(recommender.recommend("U001", 11))


def test_related_items_give_the_vector_before_the_category():
    recommender = gmf_recommender()
    added = recommender.add_item(
        {
            "item_id": "NEW-CAM",
            "categories": HEADPHONES,  # ignored: a known related item exists
            "related": ["I005", "not-served"],
        }
    )
    assert added["embedded_from"] == "related" and added["neighbours"] == 1
    camera_user = recommender.recommend("U001", 2).recommendations
    # Its vector is I005's own (0, 1): U001 scores it sigmoid(1).
    assert camera_user[0].item_id == "NEW-CAM"
    assert camera_user[0].score == pytest.approx(sigmoid(1.0), rel=1e-6)


def test_results_carry_titles_and_categories_only_with_item_metadata():
    with_metadata = gmf_recommender().recommend("U000", 10).recommendations
    by_id = {r.item_id: r for r in with_metadata}
    assert (by_id["I002"].title, by_id["I002"].category) == (
        "Product I002",
        "Headphones",
    )
    assert (by_id["I009"].title, by_id["I009"].category) == (None, "Cameras")
    without = gmf_recommender(with_metadata=False).recommend("U000", 10)
    assert all(r.title is None and r.category is None for r in without.recommendations)
    assert [r[:3] for r in without.recommendations] == [r[:3] for r in with_metadata]
    table = format_table(gmf_recommender().recommend("U000", 2))
    assert "Product I002 (Headphones)" in table


def test_cold_start_lists_end_with_added_products():
    recommender = gmf_recommender()
    recommender.add_item({"item_id": "NEW-HP", "categories": HEADPHONES})
    answer = recommender.recommend("someone-new", 40)
    assert answer.cold_start and ids(answer)[-1] == "NEW-HP" and len(ids(answer)) == 11
    assert answer.recommendations[-1].score == 0.0


def test_products_the_model_cannot_place_are_refused():
    recommender = gmf_recommender()
    with pytest.raises(NewItemError, match="already in item_mapping"):
        recommender.add_item({"item_id": "I001", "categories": HEADPHONES})
    with pytest.raises(NewItemError, match=r"needs a related item.*'Toasters'"):
        recommender.add_item(
            {"item_id": "X", "categories": ["Home", "Toasters"], "related": ["nope"]}
        )
    recommender.add_item({"item_id": "X", "categories": HEADPHONES})
    with pytest.raises(NewItemError, match="already added"):
        recommender.add_item({"item_id": "X", "categories": HEADPHONES})
    bare = gmf_recommender(with_metadata=False)
    with pytest.raises(NewItemError, match="kedro run --pipeline item_metadata"):
        bare.add_item({"item_id": "Y", "categories": HEADPHONES})
    assert bare.add_item({"item_id": "Y", "related": ["I000"]})["neighbours"] == 1


def test_models_without_item_vectors_refuse_new_products():
    from tests.serving.test_api import make_recommender  # noqa: PLC0415

    neumf = make_recommender()  # model type neumf
    with pytest.raises(NewItemError, match=r"'neumf' cannot score") as refused:
        neumf.add_item({"item_id": "NEW", "related": ["I000"]})
    assert all(f"'{name}'" in str(refused.value) for name in ("gmf", "sasrec", "gru"))
    assert "'mlp'" not in str(refused.value)


class _Shifted:
    """A GMF scorer whose scores are not the model's (the probe must notice)."""

    def __init__(self, scorer):
        self.model, self.n_items, self._scorer = scorer.model, scorer.n_items, scorer

    def score(self, users, items=None):
        return self._scorer.score(users, items) * 0.5


def test_the_probe_refuses_a_space_the_served_scores_do_not_follow():
    honest = gmf_recommender(with_metadata=False)
    shifted = Recommender(_Shifted(honest.scorer), honest.data, honest.model_type)
    with pytest.raises(NewItemError, match="not the dot product"):
        shifted.add_item({"item_id": "NEW", "related": ["I000"]})
    assert honest.add_item({"item_id": "NEW", "related": ["I000"]})["neighbours"] == 1


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"item_id": "N", "price": "abc"}, "price"),
        ({"title": "no id"}, "item_id"),
        ({"item_id": ""}, "item_id"),
        ({"item_id": "N", "price": -1}, "price"),
        ({"item_id": "N", "categories": "Headphones"}, "categories"),
        ({"item_id": "N", "related": [3]}, "related.0"),
        ({"item_id": "N", "colour": "red"}, "colour"),
    ],
)
def test_malformed_metadata_names_the_field(metadata, field):
    with pytest.raises(RequestError, match=rf"invalid item metadata: {field}: "):
        gmf_recommender().add_item(metadata)


def test_item_lookup_catalogued_added_and_unknown():
    recommender = gmf_recommender()
    assert recommender.item("I003") == {
        "item_id": "I003",
        "title": "Product I003",
        "categories": HEADPHONES,
        "brand": "Acme",
        "price": 9.5,
        "category": "Headphones",
        "source": "item_metadata",
        "recommendable": True,
    }
    only_metadata = recommender.item("M001")
    assert only_metadata["recommendable"] is False and only_metadata["price"] == 3.0
    assert recommender.item("I009")["price"] is None
    with pytest.raises(
        UnknownItemError,
        match=r"unknown item_id 'nope': not in item_metadata \(version v1\)",
    ):
        recommender.item("nope")
    with pytest.raises(UnknownItemError, match="kedro run --pipeline item_metadata"):
        gmf_recommender(with_metadata=False).item("I003")


class _DictStore:
    """An ArtifactStore over a dict (one version per dataset)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def exists(self, name):
        return name in self.datasets

    def resolve_version(self, name, version=None):
        return "2026-01-01T00.00.00.000Z"

    def load(self, name, version=None):
        return self.datasets[name]


def test_item_metadata_loads_when_catalogued_and_is_optional():
    data = ServingData.from_frames(*category_frames())
    assert load_item_metadata(_DictStore({}), data) is None
    loaded = load_item_metadata(
        _DictStore({"item_metadata": item_metadata_frame()}), data
    )
    assert loaded.version == "2026-01-01T00.00.00.000Z"
    assert loaded.item_categories.tolist() == ["Headphones"] * 5 + ["Cameras"] * 5
    np.testing.assert_array_equal(loaded.category_items["Cameras"], [5, 6, 7, 8, 9])
    with pytest.raises(ValueError, match="no column 'item_id'"):
        load_item_metadata(
            _DictStore({"item_metadata": pd.DataFrame({"x": [1]})}), data
        )


# Sequence models: the tied item table ----------------------------------------


@pytest.fixture(scope="module", params=["sasrec", "gru", "content_sasrec"])
def sequence_recommender(request):
    def build():
        data = ServingData.from_frames(*planted_frames())
        model_type = get_model_type(request.param)
        model = build_sequence_model(request.param, PLANTED_ITEMS)
        return Recommender(model_type.scorer_factory(model, data), data, model_type)

    return build


def _score_of(recommendation, item_id):
    return {r.item_id: r.score for r in recommendation.recommendations}[item_id]


def test_sequence_models_score_a_product_with_one_related_item_like_that_item(
    sequence_recommender,
):
    recommender = sequence_recommender()
    added = recommender.add_item({"item_id": "NEW", "related": ["I003"]})
    assert added["embedded_from"] == "related"
    unseen = np.flatnonzero(recommender.data.seen[:, 3].toarray().ravel() == 0)
    user = str(recommender.data.user_ids[unseen[0]])
    everything = recommender.recommend(user, PLANTED_ITEMS + 1)
    assert _score_of(everything, "NEW") == pytest.approx(
        _score_of(everything, "I003"), rel=1e-4, abs=1e-5
    )
    # After a supplied history (an unknown user), and excluded once supplied.
    after = recommender.recommend(
        "new-user", PLANTED_ITEMS + 1, history=["I000", "I001"]
    )
    assert _score_of(after, "NEW") == pytest.approx(
        _score_of(after, "I003"), rel=1e-4, abs=1e-5
    )
    named = recommender.recommend(
        "new-user", PLANTED_ITEMS + 1, history=["I000", "NEW"]
    )
    assert "NEW" not in ids(named) and named.ignored_items == ("NEW",)


# HTTP ------------------------------------------------------------------------


@pytest.fixture
def client():
    with TestClient(create_app(lambda: (gmf_recommender(), SETTINGS))) as test_client:
        yield test_client


def test_http_add_then_get_then_recommend(client):
    body = {
        "item_id": "NEW-HP",
        "title": "New headphones",
        "categories": HEADPHONES,
        "brand": "Acme",
        "price": 19,
        "related": [],
    }
    response = client.post("/items", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["embedded_from"] == "category"
    item = client.get("/items/NEW-HP").json()
    assert item["source"] == "added" and item["price"] == 19.0
    assert item["category"] == "Headphones" and item["recommendable"] is True
    top = client.get("/recommendations/U000", params={"top_n": 2}).json()
    assert top["recommendations"][0] == {
        "rank": 1,
        "item_id": "NEW-HP",
        "score": pytest.approx(top["recommendations"][0]["score"]),
        "title": "New headphones",
        "category": "Headphones",
    }
    assert top["recommendations"][1]["title"] == "Product I002"
    assert client.get("/model").json()["added_items"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item_id": "N", "price": "abc"}, "price"),
        ({"title": "missing id"}, "item_id"),
        ({"item_id": "N", "categories": [""]}, "categories"),
    ],
)
def test_http_malformed_metadata_is_a_422_naming_the_field(client, body, field):
    response = client.post("/items", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["detail"].startswith(field)
    assert payload["errors"][0]["loc"][:2] == ["body", field]


def test_http_item_errors(client):
    unknown = client.get("/items/nope")
    assert unknown.status_code == 404 and "'nope'" in unknown.json()["detail"]
    assert unknown.json()["errors"] == []
    conflict = client.post("/items", json={"item_id": "Z", "related": ["nope"]})
    assert (
        conflict.status_code == 409
        and "needs a related item" in conflict.json()["detail"]
    )


def test_http_without_item_metadata():
    app = create_app(lambda: (gmf_recommender(with_metadata=False), SETTINGS))
    with TestClient(app) as bare:
        missing = bare.get("/items/I003")
        assert missing.status_code == 404
        assert "kedro run --pipeline item_metadata" in missing.json()["detail"]
        top = bare.get("/recommendations/U000").json()["recommendations"]
        assert all(r["title"] is None and r["category"] is None for r in top)
        assert bare.get("/model").json()["has_item_metadata"] is False


def test_schema_declares_the_item_endpoints_and_their_errors(client):
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/items"]["post"]
    get = schema["paths"]["/items/{item_id}"]["get"]
    assert "201" in post["responses"] and "200" in get["responses"]
    for operation, codes in (
        (post, ("409", "413", "422", "500")),
        (get, ("404", "422")),
    ):
        for code in codes:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]
            assert ref["$ref"].endswith("/ErrorOut"), code
    new_item = schema["components"]["schemas"]["NewItem"]
    assert new_item["required"] == ["item_id"]
    assert new_item["additionalProperties"] is False
    price = new_item["properties"]["price"]["anyOf"]
    assert {"type": "number", "minimum": 0.0} in price and {"type": "null"} in price
    answer = schema["components"]["schemas"]["RecommendedItemOut"]["properties"]
    assert {"title", "category"} <= set(answer)
