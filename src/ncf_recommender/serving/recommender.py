"""Top-N recommendations for original user ids: model registry, loading, caching, ranking.

The entry point is :func:`recommend_items`. It takes an **original** user id (a
reviewer id), maps it to the model's ``user_idx``, scores every item, removes the
items the user already interacted with and returns the best ``top_n`` items as
original item ids, best first.

Exclusion at serving time uses the ``interactions`` dataset, i.e. train,
validation **and** test interactions: a shop should never recommend what the
customer already bought or reviewed, including the held-out items that the
evaluation hides from the model. (Evaluation masks only train or train +
validation items, as the protocol says; serving is stricter on purpose.)

An unknown user gets the most popular items (by number of distinct users in
``interactions``, score = that share of all users), flagged ``cold_start=True``;
``cold_start: raise`` in ``parameters_recommendation.yml`` raises
:class:`UnknownUserError` instead.

Artifacts (the model, the id mappings, ``interactions`` and ``ranking_metrics``)
come from the project's Kedro catalog through a small :class:`ArtifactStore`
interface, so tests can hand in any catalog. Only :func:`open_project` imports
Kedro, lazily; the ranking code here is plain numpy.

Model types live in a registry (:func:`register_model_type`): a model type names
its catalog dataset and a scorer factory turning the loaded model into a
``Scorer``. The NCF family (``gmf``, ``mlp``, ``neumf``) and the next-item
sequence models (``sasrec``, ``gru``) are registered here. NCF models reject a
request's ``history`` with :class:`HistoryNotSupportedError`.

Sequence models (``uses_history=True``) read each known user's full history
from ``interactions`` (train, validation and test), ordered as the
leave-last-two split orders it: by timestamp, ties in row order. A request may
add a ``history`` of original item ids, oldest first:

* known user: the supplied items are appended after the catalogued history, as
  the newest events, and excluded like the catalogued ones;
* unknown user: the model reads the supplied history alone (``cold_start`` is
  true, ``history_used`` counts the items read) and never recommends its items;
* item ids not in ``item_mapping`` are dropped and reported in
  ``ignored_items``; an unknown user left with no known item is an
  :class:`UnusableHistoryError` (HTTP 422). An empty history adds nothing: an
  unknown user then gets the usual cold-start answer.

The code lives in submodules of :mod:`ncf_recommender.serving`, each importable
on its own: ``settings`` (parameters), ``data`` (:class:`ServingData`),
``registry`` (model types), ``errors``, ``results``, ``ranking`` (exact and
retrieve-and-rerank top-N), ``online`` (:class:`Recommender`), ``selection``
(``auto``), ``batch`` (the batch pipeline's work) and ``loading`` (the catalog).
This module holds the cached entry point and re-exports their public names.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ncf_recommender.serving.batch import (
    batch_recommendations,
    recommendations_frame,
    top_n_all_users,
)
from ncf_recommender.serving.data import ServingData
from ncf_recommender.serving.errors import (
    HistoryNotSupportedError,
    UnknownUserError,
    UnusableHistoryError,
)
from ncf_recommender.serving.loading import (
    INTERACTIONS_DATASET,
    ITEM_MAPPING_DATASET,
    KEDRO_ENV_ENV,
    METRICS_DATASET,
    PROJECT_PATH_ENV,
    USER_MAPPING_DATASET,
    ArtifactStore,
    CatalogStore,
    build_recommender,
    choose_model,
    load_recommender,
    load_retrieval,
    open_project,
    resolve_project_path,
)
from ncf_recommender.serving.online import Recommender
from ncf_recommender.serving.ranking import (
    Retrieval,
    check_top_n,
    retrieve_and_rerank,
)
from ncf_recommender.serving.registry import (
    SEQUENCE_LAYER_MODULES,
    HistoryScorer,
    ModelType,
    ScorerFactory,
    get_model_type,
    model_types,
    register_model_type,
    unregister_model_type,
)
from ncf_recommender.serving.results import (
    Recommendation,
    RecommendedItem,
)
from ncf_recommender.serving.selection import (
    SELECTION_KEYS,
    select_best_model,
)
from ncf_recommender.serving.settings import (
    AUTO,
    RecommendationSettings,
    RetrievalSettings,
)


@functools.lru_cache(maxsize=8)
def _cached_recommender(
    project_path: Path, env: str | None, model: str | None, version: str | None
) -> Recommender:
    return load_recommender(model, version, project_path=project_path, env=env)


def get_recommender(
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommender:
    """Like :func:`load_recommender`, cached per (project, env, model, version).

    Args:
        model: Model type.
        version: Model version.
        project_path: Project root.
        env: Kedro environment (default: ``$NCF_KEDRO_ENV``).

    Returns:
        The (possibly cached) recommender.
    """
    env = env or os.environ.get(KEDRO_ENV_ENV) or None
    return _cached_recommender(resolve_project_path(project_path), env, model, version)


def clear_cache() -> None:
    """Forget cached recommenders (the next call reloads from the catalog)."""
    _cached_recommender.cache_clear()


def recommend_items(
    user_id: Any,
    top_n: int = 10,
    model: str | None = None,
    version: str | None = None,
    *,
    history: Sequence[Any] | None = None,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommendation:
    """Top-N items for an original user id, never ones the user interacted with.

    The model and mappings load from the project's Kedro catalog on first use
    and are cached; later calls with the same model and version reuse them.

    Args:
        user_id: Original user id (e.g. a reviewer id).
        top_n: Number of items; more than the user's unseen items gives them all.
        model: ``gmf``, ``mlp``, ``neumf``, ``sasrec``, ``gru`` (or another
            registered type), or ``None`` for the ``recommendation.model``
            parameter (``auto``: the best on validation in the latest
            ``ranking_metrics``).
        version: Model version timestamp to pin (default: the latest).
        history: Original item ids, oldest first, for sequence models: the
            newest events after a known user's catalogued history, or an
            unknown user's whole history; unknown ids are dropped and listed in
            ``ignored_items``. The NCF family raises
            :class:`HistoryNotSupportedError`.
        project_path: Project root (default: ``$NCF_PROJECT_PATH`` or the cwd).
        env: Kedro environment (default: ``$NCF_KEDRO_ENV`` or the project's).

    Returns:
        A :class:`Recommendation` (``user_id``, ``cold_start``, ``model``,
        ``model_version``, ``recommendations`` of ``(rank, item_id, score)``,
        ``ignored_items``, ``history_used``).

    Raises:
        ValueError: If ``top_n`` is not a positive integer, or on a bad model or
            version.
        HistoryNotSupportedError: If a history is given to a non-sequence model.
        UnusableHistoryError: If an unknown user's history has no known item.
        UnknownUserError: If the user is unknown, has no usable history and
            cold start is disabled.
    """
    top_n = check_top_n(top_n)
    recommender = get_recommender(model, version, project_path=project_path, env=env)
    return recommender.recommend(user_id, top_n, history=history)


__all__ = [
    "AUTO",
    "ArtifactStore",
    "CatalogStore",
    "HistoryNotSupportedError",
    "HistoryScorer",
    "INTERACTIONS_DATASET",
    "ITEM_MAPPING_DATASET",
    "KEDRO_ENV_ENV",
    "METRICS_DATASET",
    "ModelType",
    "PROJECT_PATH_ENV",
    "Recommendation",
    "RecommendationSettings",
    "RecommendedItem",
    "Recommender",
    "Retrieval",
    "RetrievalSettings",
    "SELECTION_KEYS",
    "SEQUENCE_LAYER_MODULES",
    "ScorerFactory",
    "ServingData",
    "USER_MAPPING_DATASET",
    "UnknownUserError",
    "UnusableHistoryError",
    "batch_recommendations",
    "build_recommender",
    "check_top_n",
    "choose_model",
    "clear_cache",
    "get_model_type",
    "get_recommender",
    "load_recommender",
    "load_retrieval",
    "model_types",
    "open_project",
    "recommend_items",
    "recommendations_frame",
    "register_model_type",
    "resolve_project_path",
    "retrieve_and_rerank",
    "select_best_model",
    "top_n_all_users",
    "unregister_model_type",
]
