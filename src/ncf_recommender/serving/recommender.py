"""The cached entry point: :func:`recommend_items` and :func:`get_recommender`.

Import these from :mod:`ncf_recommender.serving`, the package's public API,
which documents what a recommendation means. Names this module re-exported
before are still found here for one transition (with a ``DeprecationWarning``);
import them from :mod:`ncf_recommender.serving` instead.
"""

from __future__ import annotations

import functools
import importlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ncf_recommender.serving.loading import (
    KEDRO_ENV_ENV,
    load_recommender,
    resolve_project_path,
)
from ncf_recommender.serving.online import Recommender
from ncf_recommender.serving.ranking import check_top_n
from ncf_recommender.serving.results import Recommendation


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
        RequestError: If ``top_n`` is not a positive integer or the user id is
            not a string or integer.
        ValueError: On a bad model or version.
        HistoryNotSupportedError: If a history is given to a non-sequence model.
        UnusableHistoryError: If an unknown user's history has no known item.
        UnknownUserError: If the user is unknown, has no usable history and
            cold start is disabled.
    """
    top_n = check_top_n(top_n)
    recommender = get_recommender(model, version, project_path=project_path, env=env)
    return recommender.recommend(user_id, top_n, history=history)


#: Where the names this module used to re-export live now (transition only).
# TODO(lead): delete with ``__getattr__`` once pipelines/recommendation/nodes.py
# (core branch) and tests/pipelines/recommendation/test_pipeline.py import from
# ``ncf_recommender.serving`` (or the defining submodule).
_MOVED = {
    **dict.fromkeys(
        ("batch_recommendations", "recommendations_frame", "top_n_all_users"), "batch"
    ),
    "ServingData": "data",
    **dict.fromkeys(
        ("HistoryNotSupportedError", "UnknownUserError", "UnusableHistoryError"),
        "errors",
    ),
    **dict.fromkeys(
        (
            "INTERACTIONS_DATASET",
            "ITEM_MAPPING_DATASET",
            "KEDRO_ENV_ENV",
            "METRICS_DATASET",
            "PROJECT_PATH_ENV",
            "USER_MAPPING_DATASET",
            "ArtifactStore",
            "CatalogStore",
            "build_recommender",
            "choose_model",
            "load_recommender",
            "load_retrieval",
            "open_project",
            "resolve_project_path",
        ),
        "loading",
    ),
    "Recommender": "online",
    **dict.fromkeys(("Retrieval", "check_top_n", "retrieve_and_rerank"), "ranking"),
    **dict.fromkeys(
        (
            "SEQUENCE_LAYER_MODULES",
            "HistoryScorer",
            "ModelType",
            "ScorerFactory",
            "get_model_type",
            "model_types",
            "register_model_type",
            "unregister_model_type",
        ),
        "registry",
    ),
    **dict.fromkeys(("Recommendation", "RecommendedItem"), "results"),
    **dict.fromkeys(("SELECTION_KEYS", "select_best_model"), "selection"),
    **dict.fromkeys(
        ("AUTO", "RecommendationSettings", "RetrievalSettings"), "settings"
    ),
}


def __getattr__(name: str) -> Any:
    """Find a formerly re-exported name in its module, with a ``DeprecationWarning``.

    Args:
        name: Attribute name.

    Returns:
        The object, from the submodule that defines it.

    Raises:
        AttributeError: For a name this module never exported.
    """
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = f"ncf_recommender.serving.{_MOVED[name]}"
    warnings.warn(
        f"ncf_recommender.serving.recommender.{name} moved: import it from "
        f"ncf_recommender.serving (public) or {home}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)


__all__ = ["clear_cache", "get_recommender", "recommend_items"]
