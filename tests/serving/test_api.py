"""The FastAPI app in-process (TestClient): answers, 404, 422 and 500 handling."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ncf_recommender.models.baselines import DotProductScorer
from ncf_recommender.serving import (
    Recommender,
    RequestError,
    ServingData,
    get_model_type,
)
from ncf_recommender.serving.api import (
    INTERNAL_ERROR_DETAIL,
    ServingSettings,
    create_app,
)
from tests.serving import tiny_frames

N_USERS, N_ITEMS = 12, 25
SETTINGS = ServingSettings(max_users_per_request=3, max_top_n=40)


def make_recommender(cold_start="popular", scorer=None):
    data = ServingData.from_frames(*tiny_frames(N_USERS, N_ITEMS))
    rng = np.random.default_rng(0)
    scorer = scorer or DotProductScorer(
        rng.normal(size=(N_USERS, 3)), rng.normal(size=(N_ITEMS, 3))
    )
    return Recommender(
        scorer,
        data,
        get_model_type("neumf"),
        model_version="2024-01-02T03.04.05.678Z",
        cold_start=cold_start,
        metrics={"full": {"ndcg@10": 0.5}},
        metrics_version="2024-01-02T03.04.05.678Z",
        selected_by="test",
    )


@pytest.fixture(scope="module")
def recommender():
    return make_recommender()


@pytest.fixture(scope="module")
def client(recommender):
    with TestClient(create_app(lambda: (recommender, SETTINGS))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def strict_client():
    app = create_app(lambda: (make_recommender(cold_start="raise"), SETTINGS))
    with TestClient(app) as test_client:
        yield test_client


def test_get_answers_in_the_documented_shape(client, recommender):
    response = client.get("/recommendations/U004", params={"top_n": 3})
    assert response.status_code == 200
    body = response.json()
    expected = recommender.recommend("U004", 3).to_dict()
    assert body == expected
    assert body["model"] == "neumf" and body["cold_start"] is False
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3]


def test_default_top_n_is_ten(client):
    body = client.get("/recommendations/U004").json()
    assert len(body["recommendations"]) == 10


def test_unknown_user_gets_cold_start_popular_items(client):
    body = client.get("/recommendations/someone-new?top_n=2").json()
    assert body["cold_start"] is True and len(body["recommendations"]) == 2


def test_unknown_user_is_404_when_cold_start_is_disabled(strict_client):
    response = strict_client.get("/recommendations/someone-new")
    assert response.status_code == 404
    assert "unknown user_id 'someone-new'" in response.json()["detail"]
    response = strict_client.post(
        "/recommendations", json={"user_ids": ["U001", "ghost"]}
    )
    assert response.status_code == 404 and "'ghost'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("top_n", "message"),
    [
        ("0", "query.top_n: Input should be greater than or equal to 1"),
        ("-2", "query.top_n: Input should be greater than or equal to 1"),
        ("ten", "query.top_n: Input should be a valid integer"),
        ("2.5", "query.top_n: Input should be a valid integer"),
        ("41", "top_n must be at most 40, got 41"),
    ],
)
def test_bad_top_n_is_422_with_a_readable_message(client, top_n, message):
    response = client.get(f"/recommendations/U001?top_n={top_n}")
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_top_n_above_the_catalogue_returns_every_unseen_item(client, recommender):
    body = client.get("/recommendations/U001?top_n=40").json()
    n_seen = recommender.data.seen[1].nnz
    assert len(body["recommendations"]) == N_ITEMS - n_seen


def test_post_answers_every_user_in_order(client, recommender):
    response = client.post(
        "/recommendations", json={"user_ids": ["U002", "new", "U000"], "top_n": 2}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["user_id"] for r in results] == ["U002", "new", "U000"]
    assert [r["cold_start"] for r in results] == [False, True, False]
    assert results[2] == recommender.recommend("U000", 2).to_dict()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user_ids": ["a", "b", "c", "d"]}, "at most 3 user_ids per request, got 4"),
        ({"user_ids": []}, "user_ids: List should have at least 1 item"),
        ({"user_ids": ["U001"], "top_n": 0}, "top_n: Input should be greater than"),
        ({"user_ids": ["U001"], "top_n": 41}, "top_n must be at most 40"),
        ({"user_ids": "U001"}, "user_ids: Input should be a valid list"),
        ({"users": ["U001"]}, "users: Extra inputs are not permitted"),
        ({}, "user_ids: Field required"),
    ],
)
def test_bad_post_is_422_with_a_readable_message(client, body, message):
    response = client.post("/recommendations", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_health_and_model_describe_what_is_served(client):
    assert client.get("/health").json() == {
        "status": "ok",
        "model": "neumf",
        "model_version": "2024-01-02T03.04.05.678Z",
    }
    info = client.get("/model").json()
    assert info["model"] == "neumf"
    assert info["model_version"] == "2024-01-02T03.04.05.678Z"
    assert info["metrics"] == {"full": {"ndcg@10": 0.5}}
    assert info["n_items"] == N_ITEMS and info["ranking"].startswith("exact")
    assert info["uses_history"] is False


def test_a_history_sent_to_an_ncf_model_is_a_422_naming_the_model(client):
    response = client.post(
        "/recommendations",
        json={"user_ids": ["U001", "new"], "histories": {"new": ["I001"]}},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "model 'neumf' cannot use histories" in detail and "sasrec" in detail
    response = client.get("/recommendations/U001", params={"history": ["I001"]})
    assert response.status_code == 422
    assert "'neumf' cannot use histories" in response.json()["detail"]


def test_requests_without_histories_keep_the_old_answer_with_empty_history_fields(
    client,
):
    body = client.post("/recommendations", json={"user_ids": ["U001"]}).json()
    answer = body["results"][0]
    assert answer["ignored_items"] == [] and answer["history_used"] == 0
    assert {"user_id", "cold_start", "model", "model_version", "recommendations"} < set(
        answer
    )


def test_openapi_docs_list_the_endpoints(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/recommendations/{user_id}",
        "/recommendations",
        "/health",
        "/model",
    } <= set(paths)


class _BrokenScorer:
    n_items = N_ITEMS

    def score(self, users, items=None):
        raise RuntimeError("disk on fire")


def test_an_internal_error_is_a_500_and_the_server_keeps_answering():
    app = create_app(lambda: (make_recommender(scorer=_BrokenScorer()), SETTINGS))
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.get("/recommendations/U001")
        assert response.status_code == 500
        assert response.json() == {
            "detail": "internal server error (logged by the service)",
            "errors": [],
        }
        assert "disk on fire" not in response.text
        assert broken.get("/recommendations/nobody").status_code == 200
        assert broken.get("/health").status_code == 200


# --- contract: schema, errors, limits, access -------------------------------------


def test_schema_states_the_limits_the_forms_and_the_error_bodies(client):
    schema = client.get("/openapi.json").json()
    get = schema["paths"]["/recommendations/{user_id}"]["get"]
    top_n = next(p for p in get["parameters"] if p["name"] == "top_n")
    assert top_n["schema"]["maximum"] == SETTINGS.max_top_n
    assert all(p["name"] != "history" for p in get["parameters"])  # NCF model
    post = schema["paths"]["/recommendations"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert [o["$ref"].rsplit("/", 1)[1] for o in body["oneOf"]] == [
        "ManyUsersRequest",
        "OneUserRequest",
    ]
    many = schema["components"]["schemas"]["ManyUsersRequest"]
    assert many["properties"]["user_ids"]["maxItems"] == SETTINGS.max_users_per_request
    assert many["properties"]["user_ids"]["items"]["maxLength"] == 256
    assert "histories" not in many["properties"]
    for code in ("404", "413", "422", "500"):
        ref = post["responses"][code]["content"]["application/json"]["schema"]
        assert ref["$ref"].endswith("/ErrorOut"), code
    error = schema["components"]["schemas"]["ErrorOut"]["properties"]
    assert error["detail"]["type"] == "string"
    assert error["errors"]["type"] == "array"


def test_422_bodies_match_the_declared_error_model(client):
    body = client.get("/recommendations/U001?top_n=0").json()
    assert isinstance(body["detail"], str)
    assert body["errors"][0]["loc"] == ["query", "top_n"]
    assert set(body["errors"][0]) == {"loc", "msg", "type"}
    body = client.post("/recommendations", json={"user_ids": ["x" * 257]}).json()
    assert "at most 256 characters" in body["detail"]


def test_a_body_above_the_limit_is_413():
    settings = ServingSettings(max_body_bytes=2048)
    with TestClient(create_app(lambda: (make_recommender(), settings))) as small:
        response = small.post("/recommendations", json={"user_ids": ["u" * 200] * 12})
        assert response.status_code == 413
        assert response.json() == {
            "detail": "request body larger than 2048 bytes",
            "errors": [],
        }
        assert small.post("/recommendations", json={"user_ids": ["U001"]}).is_success


class _ValueErrorScorer(_BrokenScorer):
    def score(self, users, items=None):
        raise ValueError("secret path /srv/models/x.keras is corrupt")


def test_a_value_error_inside_is_a_500_logged_and_not_leaked(caplog):
    app = create_app(lambda: (make_recommender(scorer=_ValueErrorScorer()), SETTINGS))
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.get("/recommendations/U001")
    assert response.status_code == 500
    assert "secret" not in response.text and "ValueError" not in response.text
    logged = [r for r in caplog.records if r.name == "ncf_recommender.serving.api"]
    assert logged and logged[-1].exc_info is not None


def test_a_request_error_raised_inside_is_a_422_with_its_message(monkeypatch):
    recommender = make_recommender()

    def refuse(*args, **kwargs):
        raise RequestError("item_id 'X' is not something a client may send")

    monkeypatch.setattr(recommender, "recommend", refuse)
    with TestClient(create_app(lambda: (recommender, SETTINGS))) as app_client:
        response = app_client.get("/recommendations/U001")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "item_id 'X' is not something a client may send",
        "errors": [],
    }


@pytest.mark.parametrize(
    "error",
    [
        ValueError("secret: /srv/models/x.keras has 3 layers, expected 4"),
        KeyError("secret_column_user_idx"),
        IndexError("secret index 99 is out of bounds"),
    ],
    ids=["ValueError", "KeyError", "IndexError"],
)
def test_an_internal_error_raised_in_the_handler_is_a_generic_500_with_a_logged_traceback(
    monkeypatch, caplog, error
):
    recommender = make_recommender()

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(recommender, "recommend_many", broken)
    app = create_app(lambda: (recommender, SETTINGS))
    with (
        caplog.at_level("ERROR", logger="ncf_recommender.serving.api"),
        TestClient(app, raise_server_exceptions=False) as app_client,
    ):
        response = app_client.post("/recommendations", json={"user_ids": ["U001"]})
    assert response.status_code == 500
    assert response.json() == {"detail": INTERNAL_ERROR_DETAIL, "errors": []}
    assert "secret" not in response.text and type(error).__name__ not in response.text
    logged = [r for r in caplog.records if r.name == "ncf_recommender.serving.api"]
    assert logged and logged[-1].exc_info is not None
    assert logged[-1].exc_info[1] is error  # the traceback of the real error
    assert "POST /recommendations" in logged[-1].getMessage()


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.recommend("U001", 0),
        lambda r: r.recommend("U001", True),
        lambda r: r.recommend(3.5, 5),
        lambda r: r.recommend_many([["U001"]], 5),
    ],
    ids=["top_n=0", "top_n=True", "float user id", "list user id"],
)
def test_bad_caller_input_raises_the_request_error_type(recommender, call):
    with pytest.raises(RequestError):
        call(recommender)


def test_api_key_protects_everything_but_health():
    app = create_app(lambda: (make_recommender(), SETTINGS), api_key="s3cret")
    with TestClient(app) as keyed:
        assert keyed.get("/health").status_code == 200
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "s3cret"},
        ):
            for response in (
                keyed.get("/model", headers=headers),
                keyed.get("/recommendations/U001", headers=headers),
                keyed.post(
                    "/recommendations", json={"user_id": "U001"}, headers=headers
                ),
            ):
                assert response.status_code == 401
                assert response.headers["www-authenticate"] == "Bearer"
                assert "API key" in response.json()["detail"]
        good = {"Authorization": "Bearer s3cret"}
        assert keyed.get("/recommendations/U001", headers=good).status_code == 200
        assert keyed.get("/model", headers=good).status_code == 200
        schema = keyed.get("/openapi.json").json()
        assert (
            schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        )


def test_api_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NCF_API_KEY", "from-env")
    with TestClient(create_app(lambda: (make_recommender(), SETTINGS))) as keyed:
        assert keyed.get("/model").status_code == 401
        ok = keyed.get("/model", headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 200


def test_cors_is_off_unless_origins_are_configured(client, monkeypatch):
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "GET",
    }
    response = client.options("/recommendations/U001", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    monkeypatch.setenv("NCF_CORS_ORIGINS", "https://shop.example, https://b.example")
    with TestClient(create_app(lambda: (make_recommender(), SETTINGS))) as cors:
        response = cors.options("/recommendations/U001", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://shop.example"
        other = cors.get(
            "/recommendations/U001", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
