"""HTTP service: FastAPI app serving Top-N recommendations.

Run it with ``make serve`` (``uvicorn ncf_recommender.serving.api:app``, bound to
127.0.0.1:8000 unless ``HOST``/``PORT`` say otherwise). The model, mappings and
seen items load once, at start-up, from the Kedro project at
``$NCF_PROJECT_PATH`` (default: the working directory), environment
``$NCF_KEDRO_ENV``; ``$NCF_MODEL`` and ``$NCF_MODEL_VERSION`` override the
``recommendation.model`` parameter and pin a model version.

Endpoints: ``GET /recommendations/{user_id}?top_n=10``, ``POST /recommendations``
(``{"user_ids": [...], "top_n": 10}``), ``GET /health``, ``GET /model``; OpenAPI
docs at ``/docs``. Unknown users get the popularity fallback (``cold_start:
true``) or, with ``recommendation.cold_start: raise``, a 404. A bad ``top_n`` or
too many users give a 422 whose ``detail`` says what is wrong.

Sequence models (``sasrec``, ``gru``; ``GET /model`` says ``uses_history``) also
take histories, oldest first: ``POST`` with ``"histories": {"<user_id>":
["<item_id>", ...]}`` for any of the ``user_ids`` (or, for one user,
``{"user_id": "<user_id>", "history": [...]}``), or ``GET
/recommendations/{user_id}?history=A&history=B``. A known user's supplied items
are read as the newest events after the catalogued history; an unknown user is
answered from the supplied items alone (``cold_start: true`` with
``history_used`` > 0). Every supplied item is excluded from the answer. Item ids
the model does not know are dropped and listed in ``ignored_items``; an unknown
user left with none is a 422 naming the user and the ids. A history sent to an
NCF model is a 422 saying that the model cannot use histories.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ncf_recommender.serving.recommender import (
    PROJECT_PATH_ENV,
    Recommendation,
    Recommender,
    UnknownUserError,
    build_recommender,
    open_project,
)

logger = logging.getLogger(__name__)

#: Environment variable overriding the ``recommendation.model`` parameter.
MODEL_ENV = "NCF_MODEL"
#: Environment variable pinning the served model's version.
MODEL_VERSION_ENV = "NCF_MODEL_VERSION"


class ServingSettings(BaseModel):
    """The ``serving`` parameter group.

    Attributes:
        max_users_per_request: Most user ids in one ``POST /recommendations``.
        max_top_n: Largest ``top_n`` accepted.
        max_history_items: Most item ids in one supplied history.
        blas_threads: BLAS threads per request thread (``None``: library
            default). One avoids oversubscribing the cores when requests run
            concurrently in the server's thread pool.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_users_per_request: int = Field(default=100, ge=1)
    max_top_n: int = Field(default=1000, ge=1)
    max_history_items: int = Field(default=1000, ge=1)
    blas_threads: int | None = Field(default=1, ge=1)


class RecommendedItemOut(BaseModel):
    """One recommended item."""

    rank: int = Field(description="1-based position, best first")
    item_id: str = Field(description="original item id")
    score: float = Field(description="model score (cold start: share of users)")


class RecommendationOut(BaseModel):
    """Top-N answer for one user."""

    user_id: str
    cold_start: bool = Field(
        description="unknown user: the most popular items, or (history_used > 0) "
        "a sequence model's items after the supplied history alone"
    )
    model: str
    model_version: str | None
    recommendations: list[RecommendedItemOut]
    ignored_items: list[str] = Field(
        default_factory=list,
        description="supplied history item ids the model does not know (dropped)",
    )
    history_used: int = Field(
        default=0, description="supplied history items the model read (0: none)"
    )


class BatchRequest(BaseModel):
    """Several users at once, or one user with a ``history``.

    Either ``user_ids`` (with optional ``histories``) or ``user_id`` (with
    optional ``history``): ``{"user_id": "A1", "history": ["B0", "B7"]}`` is
    short for ``{"user_ids": ["A1"], "histories": {"A1": ["B0", "B7"]}}``.
    """

    model_config = ConfigDict(extra="forbid")

    user_ids: list[str] | None = Field(
        default=None, min_length=1, description="original user ids"
    )
    top_n: int = Field(default=10, ge=1)
    histories: dict[str, list[str]] | None = Field(
        default=None,
        description="sequence models only: {user_id: [item_id, ...]} for some of "
        "user_ids, oldest first; a known user's items follow its catalogued history",
    )
    user_id: str | None = Field(
        default=None, description="one original user id (instead of user_ids)"
    )
    history: list[str] | None = Field(
        default=None,
        description="sequence models only: that user's item ids, oldest first",
    )

    @model_validator(mode="after")
    def _one_form(self) -> BatchRequest:
        """Accept exactly one of the two request forms."""
        if self.user_id is not None:
            if self.user_ids is not None or self.histories is not None:
                raise ValueError(
                    "give either user_id (with history) or user_ids (with "
                    "histories), not both"
                )
            self.user_ids = [self.user_id]
            if self.history is not None:
                self.histories = {self.user_id: self.history}
        elif self.history is not None:
            raise ValueError("history needs user_id; with user_ids use histories")
        elif self.user_ids is None:
            raise ValueError("user_ids (or user_id) is required")
        return self


class BatchResponse(BaseModel):
    """Answers in the order of ``user_ids``."""

    results: list[RecommendationOut]


class HealthOut(BaseModel):
    """Liveness and what is loaded."""

    status: str
    model: str
    model_version: str | None


class ModelOut(BaseModel):
    """The served model."""

    model: str
    model_version: str | None = Field(description="Kedro version timestamp")
    selected_by: str
    metrics: dict[str, Any] | None = Field(
        description="ranking_metrics[model] of the model's run (or the latest)"
    )
    metrics_version: str | None
    n_users: int
    n_items: int
    cold_start: str
    uses_history: bool = Field(
        description="the model reads user histories; requests may supply one"
    )
    ranking: str


Factory = Callable[[], tuple[Recommender, ServingSettings]]


def load_from_project() -> tuple[Recommender, ServingSettings]:
    """Load the recommender and settings from the project named by the environment.

    Returns:
        ``(recommender, serving settings)``.
    """
    store, params = open_project(os.environ.get(PROJECT_PATH_ENV))
    recommender = build_recommender(
        store,
        params.get("recommendation"),
        model=os.environ.get(MODEL_ENV) or None,
        version=os.environ.get(MODEL_VERSION_ENV) or None,
    )
    return recommender, ServingSettings.model_validate(params.get("serving") or {})


def _readable(errors: list[dict[str, Any]]) -> str:
    """``'query.top_n: Input should be ...'`` lines from pydantic errors."""
    parts = []
    for error in errors:
        where = (
            ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        )
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_app(factory: Factory = load_from_project) -> FastAPI:
    """Build the FastAPI app.

    Args:
        factory: Called once at start-up; returns the recommender and the
            serving settings (tests pass a prebuilt recommender).

    Returns:
        The app.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recommender, settings = factory()
        limits = None
        if settings.blas_threads is not None:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415

            limits = threadpool_limits(settings.blas_threads, user_api="blas")
        app.state.recommender = recommender
        app.state.settings = settings
        logger.info("serving %s", recommender.ranking_method)
        yield
        if limits is not None:
            limits.restore_original_limits()

    app = FastAPI(
        title="ncf-recommender",
        description="Top-N product recommendations from Neural Collaborative "
        "Filtering and next-item sequence models (SASRec, GRU4Rec).",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        return JSONResponse(
            status_code=422, content={"detail": _readable(errors), "errors": errors}
        )

    @app.exception_handler(UnknownUserError)
    async def _unknown(request: Request, exc: UnknownUserError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request %s failed", request.url.path)
        return JSONResponse(
            status_code=500, content={"detail": f"internal error: {type(exc).__name__}"}
        )

    def _check_top_n(request: Request, top_n: int) -> None:
        limit = request.app.state.settings.max_top_n
        if top_n > limit:
            raise HTTPException(422, f"top_n must be at most {limit}, got {top_n}")

    def _check_history(request: Request, user_id: str, history: list[str]) -> None:
        limit = request.app.state.settings.max_history_items
        if len(history) > limit:
            raise HTTPException(
                422,
                f"history of user_id {user_id!r} has {len(history)} items; "
                f"at most {limit} are accepted",
            )

    @app.get("/health")
    def health(request: Request) -> HealthOut:
        """Liveness; also says which model is loaded."""
        recommender: Recommender = request.app.state.recommender
        return HealthOut(
            status="ok",
            model=recommender.model_name,
            model_version=recommender.model_version,
        )

    @app.get("/model")
    def model_info(request: Request) -> ModelOut:
        """The served model: type, version timestamp and its metrics."""
        return ModelOut.model_validate(request.app.state.recommender.info())

    # The answers are plain dicts, validated once against ``response_model``.
    @app.get("/recommendations/{user_id}", response_model=RecommendationOut)
    def recommend_one(
        request: Request,
        user_id: str,
        top_n: Annotated[int, Query(ge=1, description="number of items")] = 10,
        history: Annotated[
            list[str] | None,
            Query(description="sequence models: item ids, oldest first (repeat)"),
        ] = None,
    ) -> dict[str, Any]:
        """Top-N unseen items for one original user id (after a supplied history)."""
        _check_top_n(request, top_n)
        if history is not None:
            _check_history(request, user_id, history)
        recommender: Recommender = request.app.state.recommender
        return recommender.recommend(user_id, top_n, history=history).to_dict()

    @app.post("/recommendations", response_model=BatchResponse)
    def recommend_many(request: Request, body: BatchRequest) -> dict[str, Any]:
        """Top-N unseen items for several original user ids."""
        settings: ServingSettings = request.app.state.settings
        if len(body.user_ids) > settings.max_users_per_request:
            raise HTTPException(
                422,
                f"at most {settings.max_users_per_request} user_ids per request, "
                f"got {len(body.user_ids)}",
            )
        _check_top_n(request, body.top_n)
        histories = None
        if body.histories is not None:
            strangers = sorted(set(body.histories) - set(body.user_ids))
            if strangers:
                raise HTTPException(
                    422,
                    f"histories names user_id(s) {strangers} that are not in user_ids",
                )
            for user_id, history in body.histories.items():
                _check_history(request, user_id, history)
            histories = [body.histories.get(u) for u in body.user_ids]
        recommender: Recommender = request.app.state.recommender
        results: list[Recommendation] = recommender.recommend_many(
            body.user_ids, body.top_n, histories
        )
        return {"results": [r.to_dict() for r in results]}

    return app


app = create_app()
