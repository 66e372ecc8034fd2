"""The cached entry point: :func:`recommend_items` and :func:`get_recommender`.

Import these from :mod:`ncf_recommender.serving`, the package's public API,
which documents what a recommendation means.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
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
        ``model_version``, ``recommendations`` of ``(rank, item_id, score,
        title, category)``,
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


def add_item(
    metadata: Mapping[str, Any],
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> dict[str, Any]:
    """Add a new product to the cached model: recommendable from the next call on.

    The product gets a vector in the model's item space from its metadata
    (see :meth:`Recommender.add_item`). It is kept in memory, in the cached
    recommender of ``(project, env, model, version)``: :func:`clear_cache` or a
    new process forgets it. Durable products come from a saved
    ``item_metadata`` version and a retrained model.

    Args:
        metadata: ``item_id`` (required), ``title``, ``categories`` (category
            path, most general first), ``brand``, ``price`` (>= 0 or ``None``)
            and ``related`` (related item ids).
        model: Model type (as :func:`recommend_items`).
        version: Model version.
        project_path: Project root.
        env: Kedro environment.

    Returns:
        The product's metadata as :func:`get_item` gives it, plus
        ``embedded_from`` (``related`` or ``category``) and ``neighbours``.

    Raises:
        RequestError: If the metadata is malformed (naming the field).
        NewItemError: If the model cannot take it (see :meth:`Recommender.add_item`).
    """
    recommender = get_recommender(model, version, project_path=project_path, env=env)
    return recommender.add_item(metadata)


def get_item(
    item_id: str,
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> dict[str, Any]:
    """An item's metadata: a product added to the cached model, else ``item_metadata``.

    Args:
        item_id: Original item id.
        model: Model type (as :func:`recommend_items`).
        version: Model version.
        project_path: Project root.
        env: Kedro environment.

    Returns:
        ``item_id``, ``title``, ``categories``, ``brand``, ``price``,
        ``category`` (the deepest), ``source`` and ``recommendable``.

    Raises:
        UnknownItemError: If neither has the id.
    """
    recommender = get_recommender(model, version, project_path=project_path, env=env)
    return recommender.item(item_id)


__all__ = ["add_item", "clear_cache", "get_item", "get_recommender", "recommend_items"]
