"""Serving: ``recommend_items``, the recommender objects, the HTTP app and its errors.

This package is the public API of serving; everything a user needs is imported
from here (``from ncf_recommender.serving import recommend_items``). The
submodules are internal, except :mod:`~ncf_recommender.serving.api` (the
``uvicorn ncf_recommender.serving.api:app`` target) and
:mod:`~ncf_recommender.serving.cli` (the ``ncf-recommend`` script).

What a recommendation means:

* :func:`recommend_items` takes an **original** user id (a reviewer id), scores
  every item, removes the items the user already interacted with and returns
  the best ``top_n`` as original item ids, best first.
* Exclusion uses the ``interactions`` dataset (train, validation **and** test):
  a shop should never recommend what the customer already bought, including the
  held-out items the evaluation hides. (Evaluation masks only train or train +
  validation items, as the protocol says; serving is stricter on purpose.)
* An unknown user gets the most popular items (by distinct users in
  ``interactions``; score = that share of all users), flagged
  ``cold_start=True``; ``recommendation.cold_start: raise`` raises
  :class:`UnknownUserError` instead.
* Sequence models (``uses_history=True``) read each known user's history from
  ``interactions``, ordered as the leave-last-two split orders it (timestamp,
  ties in row order). A request may add a ``history`` of original item ids,
  oldest first: for a known user the items follow the catalogued history and
  are excluded like it; an unknown user is answered from them alone
  (``cold_start`` true, ``history_used`` counts the items read). Unknown item
  ids are dropped and listed in ``ignored_items``; an unknown user left with no
  known item is an :class:`UnusableHistoryError`. NCF models reject a history
  with :class:`HistoryNotSupportedError`.
* Bad input from a caller (a ``top_n`` that is not a positive integer, a user
  id that is not a string or integer, a history that is a string, ...) raises
  :class:`RequestError` (a ``ValueError``), which the HTTP service answers with
  a 422; any other exception there is a logged 500.
* Each recommended item carries its ``title`` and deepest ``category`` from the
  catalogued ``item_metadata`` (``kedro run --pipeline item_metadata``), or
  ``None`` when the project has none; :func:`get_item` returns an item's metadata.
* :func:`add_item` adds a new product's metadata at serving time, without
  retraining, to models whose score is a dot product with an item vector (GMF,
  SASRec, GRU4Rec): its vector is the rescaled mean of its known related
  items' vectors, else of its category's known items
  (:func:`~ncf_recommender.models.new_items.embed_new_items`). It is
  recommendable from the next request on and kept in the loaded model's memory
  only (lost on restart or :func:`clear_cache`). Malformed metadata is a
  :class:`RequestError`; a product the model cannot place is a
  :class:`NewItemError` (HTTP 409).

Artifacts (the model, the id mappings, ``interactions``, ``ranking_metrics``)
come from the project's Kedro catalog through an :class:`ArtifactStore`, so
tests can hand in any catalog. Only :func:`open_project` imports Kedro, lazily;
importing this package imports neither TensorFlow nor FastAPI (``create_app``
and ``ServingSettings`` load :mod:`~ncf_recommender.serving.api` on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ncf_recommender.serving._batch import batch_recommendations
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._errors import (
    HistoryNotSupportedError,
    NewItemError,
    RequestError,
    UnknownItemError,
    UnknownUserError,
    UnusableHistoryError,
)
from ncf_recommender.serving._items import CataloguedMetadata, NewItem
from ncf_recommender.serving._loading import (
    KEDRO_ENV_ENV,
    PROJECT_PATH_ENV,
    ArtifactStore,
    CatalogStore,
    build_recommender,
    load_recommender,
    open_project,
)
from ncf_recommender.serving._online import Recommender
from ncf_recommender.serving._recommender import (
    add_item,
    clear_cache,
    get_item,
    get_recommender,
    recommend_items,
)
from ncf_recommender.serving._registry import (
    ModelType,
    get_model_type,
    model_types,
    register_model_type,
    unregister_model_type,
)
from ncf_recommender.serving._results import Recommendation, RecommendedItem
from ncf_recommender.serving._settings import RecommendationSettings, RetrievalSettings

if TYPE_CHECKING:
    from ncf_recommender.serving.api import ServingSettings, create_app

#: Names served from :mod:`ncf_recommender.serving.api` on first access (FastAPI).
_FROM_API = ("ServingSettings", "create_app")


def __getattr__(name: str) -> Any:
    """Import the HTTP app's names on first use, so the package stays light.

    Args:
        name: Attribute name.

    Returns:
        ``create_app`` or ``ServingSettings`` from :mod:`ncf_recommender.serving.api`.

    Raises:
        AttributeError: For any other name.
    """
    if name in _FROM_API:
        return getattr(importlib.import_module("ncf_recommender.serving.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KEDRO_ENV_ENV",
    "PROJECT_PATH_ENV",
    "ArtifactStore",
    "CataloguedMetadata",
    "CatalogStore",
    "HistoryNotSupportedError",
    "ModelType",
    "NewItem",
    "NewItemError",
    "Recommendation",
    "RecommendationSettings",
    "RecommendedItem",
    "Recommender",
    "RequestError",
    "RetrievalSettings",
    "ServingData",
    "ServingSettings",
    "UnknownItemError",
    "UnknownUserError",
    "UnusableHistoryError",
    "add_item",
    "batch_recommendations",
    "build_recommender",
    "clear_cache",
    "create_app",
    "get_item",
    "get_model_type",
    "get_recommender",
    "load_recommender",
    "model_types",
    "open_project",
    "recommend_items",
    "register_model_type",
    "unregister_model_type",
]
