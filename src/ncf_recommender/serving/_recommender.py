"""The cached entry point: :func:`recommend_items` and :func:`get_recommender`.

Import these from :mod:`ncf_recommender.serving`, the package's public API,
which documents what a recommendation means.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ncf_recommender.serving._loading import (
    KEDRO_ENV_ENV,
    load_recommender,
    resolve_project_path,
)
from ncf_recommender.serving._online import Recommender
from ncf_recommender.serving._ranking import check_top_n
from ncf_recommender.serving._results import Recommendation


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


__all__ = ["clear_cache", "get_recommender", "recommend_items"]
