"""HTTP service: FastAPI app serving Top-N recommendations.

Run it with ``make serve`` (``uvicorn ncf_recommender.serving.api:app``, bound to
127.0.0.1:8000 unless ``HOST``/``PORT`` say otherwise). The model, mappings and
seen items load once, at start-up, from the Kedro project at
``$NCF_PROJECT_PATH`` (default: the working directory), environment
``$NCF_KEDRO_ENV``; ``$NCF_MODEL`` and ``$NCF_MODEL_VERSION`` override the
``recommendation.model`` parameter and pin a model version. The service is meant
to run behind the shop's gateway (TLS, rate limits, client identity).

Endpoints: ``GET /recommendations/{user_id}?top_n=10``, ``POST /recommendations``
(``{"user_ids": [...], "top_n": 10}`` or ``{"user_id": "...", "top_n": 10}``),
``GET /items/{item_id}`` (an item's metadata), ``POST /items`` (add a new
product), ``GET /health``, ``GET /model``; OpenAPI schema at ``/openapi.json``, docs at
``/docs``. The schema states the limits the code enforces (``top_n``, users per
request, history length, id length; from the ``serving`` parameters) and every
error body: ``{"detail": "<what is wrong>", "errors": [{"loc", "msg", "type"}]}``.

Status codes: 422 for a request the schema rejects or a limit it exceeds (400
for a body that cannot be decoded at all); 404 for
an unknown user when cold start is disabled, or an unknown user whose supplied
history holds no known item; 413 for a body above ``serving.max_body_bytes``; 401
without the API key when one is set; 500 for anything else, with the traceback
in the log and no internals in the body.

Access: with ``$NCF_API_KEY`` set, every endpoint except ``/health`` needs
``Authorization: Bearer <key>`` (compared in constant time). CORS is off unless
``$NCF_CORS_ORIGINS`` lists the allowed origins (comma-separated).

Unknown users get the popularity fallback (``cold_start: true``) or, with
``recommendation.cold_start: raise``, a 404. Sequence models (``sasrec``,
``gru``; ``GET /model`` says ``uses_history``) also take histories, oldest first:
``"histories": {"<user_id>": ["<item_id>", ...]}`` beside ``user_ids``, or
``"history"`` beside ``user_id``, or ``GET
/recommendations/{user_id}?history=A&history=B``. A known user's supplied items
are read as the newest events after the catalogued history; an unknown user is
answered from the supplied items alone (``cold_start: true`` with
``history_used`` > 0). Every supplied item is excluded from the answer. Item ids
the model does not know are dropped and listed in ``ignored_items``; histories of
user ids that are not in ``user_ids`` are not read and are listed in
``ignored_histories``. For an NCF model the schema has no history fields, and a
history is a 422.

Items: each recommended item carries ``title`` and ``category`` (deepest
category name) from the catalogued ``item_metadata``, ``null`` when unknown or
when the project has none (``kedro run --pipeline item_metadata`` builds it).
``GET /items/{item_id}`` returns an item's metadata (404 naming the id when
neither ``item_metadata`` nor an added product has it). ``POST /items`` adds a
new product (``item_id``, ``title``, ``categories``, ``brand``, ``price``,
``related``; a malformed field is a 422 naming it) to a model whose score is a
dot product with an item vector (GMF, SASRec, GRU4Rec): it is recommendable from
the next request on, and kept in memory only (a restart forgets it). A product
the model cannot place (MLP-NCF or NeuMF served, id already served or added, no
known related item and no known item of its category) is a 409.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ncf_recommender.serving._errors import (
    HistoryNotSupportedError,
    NewItemError,
    RequestError,
    UnknownItemError,
    UnknownUserError,
    UnusableHistoryError,
)
from ncf_recommender.serving._items import MAX_ID_LENGTH, NewItem
from ncf_recommender.serving._loading import (
    PROJECT_PATH_ENV,
    build_recommender,
    open_project,
)
from ncf_recommender.serving._online import Recommender
from ncf_recommender.serving._results import Recommendation

logger = logging.getLogger(__name__)

#: Environment variable overriding the ``recommendation.model`` parameter.
MODEL_ENV = "NCF_MODEL"
#: Environment variable pinning the served model's version.
MODEL_VERSION_ENV = "NCF_MODEL_VERSION"
#: Environment variable holding the API key (unset or empty: no key needed).
API_KEY_ENV = "NCF_API_KEY"
#: Environment variable listing the CORS origins (comma-separated; unset: no CORS).
CORS_ORIGINS_ENV = "NCF_CORS_ORIGINS"
#: The body of every 500: it names nothing internal (the traceback is logged).
INTERNAL_ERROR_DETAIL = "internal server error (logged by the service)"
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]


def _json_integer(value: Any) -> int:
    """A JSON-Schema ``integer``: an int or a whole float; not a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("Input should be a valid integer")
    return int(value)


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]


class ServingSettings(BaseModel):
    """The ``serving`` parameter group.

    Attributes:
        max_users_per_request: Most user ids in one ``POST /recommendations``.
        max_top_n: Largest ``top_n`` accepted.
        max_history_items: Most item ids in one supplied history.
        max_body_bytes: Largest request body (413 above it).
        blas_threads: BLAS threads per request thread (``None``: library
            default). One avoids oversubscribing the cores when requests run
            concurrently in the server's thread pool.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_users_per_request: int = Field(default=100, ge=1)
    max_top_n: int = Field(default=1000, ge=1)
    max_history_items: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=2_097_152, ge=1024)
    blas_threads: int | None = Field(default=1, ge=1)


class ErrorItem(BaseModel):
    """One thing wrong with a request."""

    loc: list[str | int] = Field(description="where: e.g. ['body', 'top_n']")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error response (401, 404, 405, 413, 422, 500)."""

    detail: str = Field(description="what is wrong, readable")
    errors: list[ErrorItem] = Field(
        default_factory=list, description="validation errors, one per problem"
    )


class RecommendedItemOut(BaseModel):
    """One recommended item."""

    rank: int = Field(description="1-based position, best first")
    item_id: str = Field(description="original item id")
    score: float = Field(description="model score (cold start: share of users)")
    title: str | None = Field(
        default=None, description="the item's title (item_metadata or POST /items)"
    )
    category: str | None = Field(
        default=None, description="the item's deepest category name, when known"
    )


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


class ManyUsersRequest(BaseModel):
    """Several users at once (sequence models: with optional histories)."""

    model_config = ConfigDict(extra="forbid", title="ManyUsersRequest")

    user_ids: list[Id] = Field(min_length=1, description="original user ids")
    top_n: JsonInteger = Field(default=10, ge=1, description="number of items per user")
    histories: dict[Id, list[Id]] | None = Field(
        default=None,
        description="sequence models only: {user_id: [item_id, ...]}, oldest "
        "first; a known user's items follow its catalogued history; entries for "
        "ids not in user_ids are not read (listed in ignored_histories)",
    )


class OneUserRequest(BaseModel):
    """One user (sequence models: with an optional history)."""

    model_config = ConfigDict(extra="forbid", title="OneUserRequest")

    user_id: Id = Field(description="one original user id")
    top_n: JsonInteger = Field(default=10, ge=1, description="number of items")
    history: list[Id] | None = Field(
        default=None,
        description="sequence models only: the user's item ids, oldest first",
    )


def _request_form(value: Any) -> str:
    """Which request form a body is: ``one`` if it has ``user_id``, else ``many``."""
    if isinstance(value, dict):
        return "one" if "user_id" in value else "many"
    return "one" if isinstance(value, OneUserRequest) else "many"


BatchRequest = Annotated[
    Annotated[ManyUsersRequest, Tag("many")] | Annotated[OneUserRequest, Tag("one")],
    Discriminator(_request_form),
]


class BatchResponse(BaseModel):
    """Answers in the order of ``user_ids``."""

    results: list[RecommendationOut]
    ignored_histories: list[str] = Field(
        default_factory=list,
        description="user ids of histories that are not in user_ids (not read)",
    )


class HealthOut(BaseModel):
    """Liveness and what is loaded."""

    status: Literal["ok"]
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
    item_metadata_version: str | None = Field(
        default=None, description="version of the catalogued item_metadata"
    )
    has_item_metadata: bool = Field(
        default=False,
        description="item_metadata is catalogued (kedro run --pipeline item_metadata)",
    )
    added_items: int = Field(
        default=0, description="products added with POST /items since start-up"
    )


class ItemOut(BaseModel):
    """An item's metadata."""

    item_id: str
    title: str | None
    categories: list[str] = Field(description="category path, most general first")
    brand: str | None
    price: float | None
    category: str | None = Field(description="the deepest category name")
    source: Literal["item_metadata", "added"] = Field(
        description="the catalogued item_metadata, or POST /items since start-up"
    )
    recommendable: bool = Field(
        description="the served model can recommend it (trained on it, or added)"
    )


class AddedItemOut(ItemOut):
    """A product added at serving time, and what its vector was built from."""

    embedded_from: Literal["related", "category"] = Field(
        description="its known related items, or the known items of its category"
    )
    neighbours: int = Field(description="known items whose vectors were averaged")


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
        loc = [p for p in error.get("loc", ()) if p not in ("body", "many", "one")]
        where = ".".join(str(p) for p in loc) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _error(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An :class:`ErrorOut` response."""
    items = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors or []
    ]
    return JSONResponse(
        status_code=status,
        content={"detail": detail, "errors": items},
        headers=headers,
    )


class _BodyTooLarge(Exception):
    """The request body is larger than ``serving.max_body_bytes``."""


class BodyLimitMiddleware:
    """413 for a body above the limit, by ``Content-Length`` or while streaming."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        """Wrap an ASGI app.

        Args:
            app: The app.
            limit: Returns the current limit in bytes.
        """
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or stream the request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = _error(413, f"request body larger than {limit} bytes")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await too_large(scope, receive, send)


def _unwrap_body_errors(exc: Exception) -> bool:
    """Whether ``exc`` (or what it wraps) is a too-large body."""
    seen = exc
    while seen is not None:
        if isinstance(seen, _BodyTooLarge):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_BEARER = HTTPBearer(auto_error=False, description="the service's NCF_API_KEY")


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> None:
    """Dependency: 401 unless the request carries the app's API key.

    The key is compared in constant time (``hmac.compare_digest``).

    Args:
        request: The request (its app holds the key in ``state.api_key``).
        credentials: The ``Authorization: Bearer`` credentials, if any.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate: Bearer``.
    """
    key: str = request.app.state.api_key
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise StarletteHTTPException(
            401,
            "missing or wrong API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "API key missing or wrong (only when NCF_API_KEY is set)"),
        (404, "unknown user (cold start disabled), or unknown user and items"),
        (422, "invalid request, or a limit exceeded; `detail` says which"),
        (500, "internal error (logged); the body names no internals"),
    )
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "request body unreadable (not UTF-8)"},
    413: {"model": ErrorOut, "description": "request body too large"},
}


def _set(node: dict[str, Any], **bounds: Any) -> None:
    node.update({k: v for k, v in bounds.items() if v is not None})


def _limits_in_schema(
    schema: dict[str, Any], settings: ServingSettings, uses_history: bool
) -> dict[str, Any]:
    """The OpenAPI schema with the limits the served settings and model enforce.

    ``top_n`` gets ``maximum``, ``user_ids`` and histories ``maxItems``,
    ``histories`` ``maxProperties``; for a model without histories the history
    fields are removed (the service refuses them).
    """
    get = schema["paths"]["/recommendations/{user_id}"]["get"]
    kept = []
    for parameter in get.get("parameters", []):
        if parameter["name"] == "top_n":
            _set(parameter["schema"], maximum=settings.max_top_n)
        if parameter["name"] == "history":
            if not uses_history:
                continue
            for option in parameter["schema"].get("anyOf", [parameter["schema"]]):
                if option.get("type") == "array":
                    _set(option, maxItems=settings.max_history_items)
        kept.append(parameter)
    get["parameters"] = kept

    components = schema["components"]["schemas"]
    many = components["ManyUsersRequest"]["properties"]
    one = components["OneUserRequest"]["properties"]
    _set(many["user_ids"], maxItems=settings.max_users_per_request)
    for properties in (many, one):
        _set(properties["top_n"], maximum=settings.max_top_n)
    if not uses_history:
        del many["histories"], one["history"]
        return schema
    for option in many["histories"].get("anyOf", []):
        if option.get("type") == "object":
            _set(option, maxProperties=settings.max_users_per_request)
            _set(option["additionalProperties"], maxItems=settings.max_history_items)
    for option in one["history"].get("anyOf", []):
        if option.get("type") == "array":
            _set(option, maxItems=settings.max_history_items)
    return schema


def _lifespan(
    factory: Factory,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start-up and shut-down: load the recommender, limit BLAS threads."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recommender, settings = factory()
        limits = None
        if settings.blas_threads is not None:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415

            limits = threadpool_limits(settings.blas_threads, user_api="blas")
        app.state.recommender = recommender
        app.state.settings = settings
        app.openapi_schema = None
        logger.info("serving %s", recommender.ranking_method)
        yield
        if limits is not None:
            limits.restore_original_limits()

    return lifespan


def _body_limit(app: FastAPI) -> int:
    """The served ``serving.max_body_bytes`` (the default before start-up)."""
    settings = getattr(app.state, "settings", None)
    return (settings or ServingSettings()).max_body_bytes


def _install_openapi(app: FastAPI) -> None:
    """Serve an OpenAPI schema carrying the limits of the served settings and model."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        settings = getattr(app.state, "settings", None)
        if settings is None:  # before start-up: the limits are not known yet
            return schema
        recommender: Recommender = app.state.recommender
        app.openapi_schema = _limits_in_schema(
            schema, settings, recommender.model_type.uses_history
        )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    """Map errors to statuses: 404, 413, 422 (:class:`RequestError` only), else 500.

    A :class:`RequestError` is the caller's mistake and its message is the
    body; any other exception is a bug or a broken artifact: its traceback goes
    to the log and the body names nothing internal.
    """

    def too_large() -> JSONResponse:
        return _error(413, f"request body larger than {_body_limit(app)} bytes")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _unwrap_body_errors(exc):
            return too_large()
        errors = jsonable_encoder(exc.errors())
        for error in errors:
            error["loc"] = [p for p in error.get("loc", ()) if p not in ("many", "one")]
        return _error(422, _readable(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if _unwrap_body_errors(exc):  # FastAPI wraps errors while reading the body
            return too_large()
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    # A client's mistake, by status (Starlette picks the most specific class).
    statuses = {
        UnknownUserError: 404,
        UnusableHistoryError: 404,
        UnknownItemError: 404,
        NewItemError: 409,
        RequestError: 422,
    }

    def _client_error(status: int) -> Any:
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            return _error(status, str(exc))

        return handler

    for error_class, status in statuses.items():
        app.add_exception_handler(error_class, _client_error(status))

    @app.exception_handler(_BodyTooLarge)
    async def _too_large(request: Request, exc: _BodyTooLarge) -> JSONResponse:
        return too_large()

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request %s %s failed", request.method, request.url.path)
        return _error(500, INTERNAL_ERROR_DETAIL)


def _check_top_n(request: Request, top_n: int) -> None:
    """Refuse a ``top_n`` above ``serving.max_top_n``.

    Raises:
        RequestError: If it is above the limit.
    """
    limit = request.app.state.settings.max_top_n
    if top_n > limit:
        raise RequestError(f"top_n must be at most {limit}, got {top_n}")


def _check_history(request: Request, user_id: str, history: list[str]) -> None:
    """Refuse a history longer than ``serving.max_history_items``.

    Raises:
        RequestError: If it is longer.
    """
    limit = request.app.state.settings.max_history_items
    if len(history) > limit:
        raise RequestError(
            f"history of user_id {user_id!r} has {len(history)} items; "
            f"at most {limit} are accepted"
        )


def _batch_histories(
    request: Request, body: OneUserRequest | ManyUsersRequest
) -> tuple[list[str], list[list[str] | None] | None, list[str]]:
    """The user ids of a POST body, their histories and the ignored history ids.

    Returns:
        ``(user_ids, histories or None, ids of histories not in user_ids)``.

    Raises:
        RequestError: Above a limit.
        HistoryNotSupportedError: If histories are sent to a model without them.
    """
    settings: ServingSettings = request.app.state.settings
    if isinstance(body, OneUserRequest):
        user_ids = [body.user_id]
        given = None if body.history is None else {body.user_id: body.history}
    else:
        user_ids, given = body.user_ids, body.histories
    if len(user_ids) > settings.max_users_per_request:
        raise RequestError(
            f"at most {settings.max_users_per_request} user_ids per request, "
            f"got {len(user_ids)}"
        )
    _check_top_n(request, body.top_n)
    recommender: Recommender = request.app.state.recommender
    if given is None:
        return user_ids, None, []
    if not recommender.model_type.uses_history:
        raise HistoryNotSupportedError(recommender.model_name)
    if len(given) > settings.max_users_per_request:
        raise RequestError(
            f"at most {settings.max_users_per_request} histories per "
            f"request, got {len(given)}"
        )
    wanted = set(user_ids)
    ignored = sorted(u for u in given if u not in wanted)
    for user_id, history in given.items():
        _check_history(request, user_id, history)
    return user_ids, [given.get(u) for u in user_ids], ignored


def _add_info_routes(app: FastAPI, protected: list[Any]) -> None:
    """``GET /health`` (never needs the key) and ``GET /model``."""

    @app.get("/health", responses={500: ERROR_RESPONSES[500]})
    def health(request: Request) -> HealthOut:
        """Liveness; also says which model is loaded (never needs the API key)."""
        recommender: Recommender = request.app.state.recommender
        return HealthOut(
            status="ok",
            model=recommender.model_name,
            model_version=recommender.model_version,
        )

    codes = (401, 500) if protected else (500,)

    @app.get(
        "/model",
        dependencies=protected,
        responses={c: ERROR_RESPONSES[c] for c in codes},
    )
    def model_info(request: Request) -> ModelOut:
        """The served model: type, version timestamp and its metrics."""
        return ModelOut.model_validate(request.app.state.recommender.info())


def _add_recommendation_routes(
    app: FastAPI, protected: list[Any], responses: dict[int | str, dict[str, Any]]
) -> None:
    """``GET /recommendations/{user_id}`` and ``POST /recommendations``."""

    # The answers are plain dicts, validated once against ``response_model``.
    @app.get(
        "/recommendations/{user_id}",
        response_model=RecommendationOut,
        dependencies=protected,
        responses=responses,
    )
    def recommend_one(
        request: Request,
        user_id: Annotated[
            str,
            Path(min_length=1, max_length=MAX_ID_LENGTH, description="user id"),
        ],
        top_n: Annotated[int, Query(ge=1, description="number of items")] = 10,
        history: Annotated[
            list[Id] | None,
            Query(description="sequence models: item ids, oldest first (repeat)"),
        ] = None,
    ) -> dict[str, Any]:
        """Top-N unseen items for one original user id (after a supplied history)."""
        _check_top_n(request, top_n)
        if history is not None:
            _check_history(request, user_id, history)
        recommender: Recommender = request.app.state.recommender
        return recommender.recommend(user_id, top_n, history=history).to_dict()

    @app.post(
        "/recommendations",
        response_model=BatchResponse,
        dependencies=protected,
        responses={**responses, **BODY_ERRORS},
    )
    def recommend_many(request: Request, body: BatchRequest) -> dict[str, Any]:
        """Top-N unseen items for several users (``user_ids``) or one (``user_id``)."""
        user_ids, histories, ignored = _batch_histories(request, body)
        recommender: Recommender = request.app.state.recommender
        results: list[Recommendation] = recommender.recommend_many(
            user_ids, body.top_n, histories
        )
        return {
            "results": [r.to_dict() for r in results],
            "ignored_histories": ignored,
        }


ITEM_NOT_FOUND = {
    "model": ErrorOut,
    "description": "no metadata for this item id: not in item_metadata (or none is "
    "catalogued) and not added with POST /items",
}
ITEM_CONFLICT = {
    "model": ErrorOut,
    "description": "the served model cannot take this product: a model type "
    "without item vectors (MLP-NCF, NeuMF), an id already served or added, or "
    "no related item and no category item that the model knows",
}


def _add_item_routes(
    app: FastAPI, protected: list[Any], responses: dict[int | str, dict[str, Any]]
) -> None:
    """``GET /items/{item_id}`` and ``POST /items``."""
    common = {c: r for c, r in responses.items() if c in (401, 422, 500)}

    @app.get(
        "/items/{item_id}",
        response_model=ItemOut,
        dependencies=protected,
        responses={**common, 404: ITEM_NOT_FOUND},
    )
    def get_item(
        request: Request,
        item_id: Annotated[
            str,
            Path(
                min_length=1,
                max_length=MAX_ID_LENGTH,
                description="item id",
                examples=["B00004Z5M1"],
            ),
        ],
    ) -> dict[str, Any]:
        """An item's metadata: an added product's, else the catalogued item_metadata."""
        recommender: Recommender = request.app.state.recommender
        return recommender.item(item_id)

    @app.post(
        "/items",
        status_code=201,
        response_model=AddedItemOut,
        dependencies=protected,
        responses={**common, 409: ITEM_CONFLICT, **BODY_ERRORS},
    )
    def add_item(request: Request, body: NewItem) -> dict[str, Any]:
        """Add a new product (no retraining): recommendable from the next request.

        It gets a vector in the served model's item space from its known
        ``related`` items, else from the known items of its deepest category;
        it is kept in this process's memory only (lost on restart).
        """
        recommender: Recommender = request.app.state.recommender
        return recommender.add_item(body)


def create_app(
    factory: Factory = load_from_project,
    *,
    api_key: str | None = None,
    cors_origins: list[str] | None = None,
) -> FastAPI:
    """Build the FastAPI app.

    Args:
        factory: Called once at start-up; returns the recommender and the
            serving settings (tests pass a prebuilt recommender).
        api_key: Key every endpoint but ``/health`` requires as ``Authorization:
            Bearer <key>``; default ``$NCF_API_KEY`` (unset or empty: none).
        cors_origins: Origins allowed by CORS; default ``$NCF_CORS_ORIGINS``
            (comma-separated; unset or empty: CORS off).

    Returns:
        The app.
    """
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
    if cors_origins is None:
        cors_origins = os.environ.get(CORS_ORIGINS_ENV, "").split(",")
    cors_origins = [o.strip() for o in cors_origins if o.strip()]

    app = FastAPI(
        title="ncf-recommender",
        description="Top-N product recommendations from Neural Collaborative "
        "Filtering and next-item sequence models (SASRec, GRU4Rec). Meant to run "
        "behind the shop's gateway.",
        lifespan=_lifespan(factory),
    )
    _install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, limit=lambda: _body_limit(app))
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    _install_error_handlers(app)

    app.state.api_key = key
    protected = [Depends(require_api_key)] if key else []
    responses = dict(ERROR_RESPONSES)
    if not key:
        del responses[401]
    _add_info_routes(app, protected)
    _add_recommendation_routes(app, protected, responses)
    _add_item_routes(app, protected, responses)
    return app


app = create_app()
