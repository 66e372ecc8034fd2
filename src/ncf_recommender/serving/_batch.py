"""Batch recommendations: top-N for every user (the recommendation pipeline's work)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ncf_recommender.constants import ITEM_ID, USER_ID
from ncf_recommender.evaluation import Scorer, top_k
from ncf_recommender.progress import progress
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._ranking import (
    check_positive_int,
    check_top_n,
    retrieve_and_rerank,
)
from ncf_recommender.serving._registry import get_model_type
from ncf_recommender.serving._selection import select_best_model
from ncf_recommender.serving._settings import AUTO, RecommendationSettings

logger = logging.getLogger(__name__)


def top_n_all_users(
    scorer: Scorer,
    seen: sp.csr_matrix,
    top_n: int,
    *,
    retrieval_scorer: Scorer | None = None,
    candidates: int = 300,
    batch_users: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-N unseen items for every user, exactly or by retrieval and re-ranking.

    Args:
        scorer: The served model.
        seen: ``(n_users, n_items)`` items to exclude per user.
        top_n: List length.
        retrieval_scorer: Cheap full scorer (e.g. GMF), or ``None`` to score
            every item with ``scorer``.
        candidates: Items retrieved per user (see :func:`retrieve_and_rerank`).
        batch_users: Users per batch (bounds memory).

    Returns:
        ``(items, scores)`` of shape ``(n_users, min(top_n, n_items))``, best
        first; item ``-1`` (score ``-inf``) past a user's remaining items.

    Raises:
        ValueError: On a bad ``top_n``, ``candidates`` or ``batch_users``.
    """
    n_users, n_items = seen.shape
    width = min(check_top_n(top_n), n_items)
    check_positive_int("batch_users", batch_users)
    users = np.arange(n_users, dtype=np.int64)
    items_out = np.empty((n_users, width), dtype=np.int64)
    scores_out = np.empty((n_users, width), dtype=np.float64)
    with progress("batch Top-N", n_users, unit="users") as advance:
        for start in range(0, n_users, batch_users):
            part = slice(start, min(start + batch_users, n_users))
            if retrieval_scorer is None:
                items_out[part], scores_out[part] = top_k(
                    scorer, users[part], seen, width
                )
            else:
                items_out[part], scores_out[part] = retrieve_and_rerank(
                    scorer,
                    retrieval_scorer,
                    users[part],
                    seen,
                    width,
                    candidates=candidates,
                )
            advance(part.stop - part.start)
    return items_out, scores_out


def recommendations_frame(
    items: np.ndarray, scores: np.ndarray, user_ids: np.ndarray, item_ids: np.ndarray
) -> pd.DataFrame:
    """Long table of top-N lists in the ``recommendations`` catalog format.

    Args:
        items: ``(n_users, k)`` item indices, best first, ``-1`` for no item.
        scores: Their scores.
        user_ids: Original user id of each row.
        item_ids: Original item id of every ``item_idx``.

    Returns:
        Columns ``user_id``, ``rank`` (1-based int32), ``item_id``, ``score``
        (float64), ordered by row then rank; empty positions are dropped.
    """
    valid = items >= 0
    rows, cols = np.nonzero(valid)
    return pd.DataFrame(
        {
            USER_ID: pd.array(np.asarray(user_ids)[rows], dtype="string"),
            "rank": (cols + 1).astype(np.int32),
            ITEM_ID: pd.array(np.asarray(item_ids)[items[rows, cols]], dtype="string"),
            "score": scores[rows, cols].astype(np.float64),
        }
    )


def batch_recommendations(
    models: Mapping[str, Any],
    ranking_metrics: Mapping[str, Any] | None,
    interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    *,
    settings: RecommendationSettings | Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Top-N for every user of ``user_mapping`` (the batch pipeline's work).

    The served model is ``settings.model`` or, for ``auto``, the best of
    ``models`` in ``ranking_metrics``. Seen items (all of ``interactions``) are
    excluded. When ``n_users * n_items`` exceeds
    ``settings.retrieval.exact_max_pairs``, the retrieval model (GMF) picks
    ``candidates`` items per user and the served model re-ranks them, except
    for sequence models: they score every item in one pass after each user's
    full history in ``interactions``, so they always rank exactly.

    Args:
        models: Loaded models by model type name (e.g. ``{"gmf": ..., "sasrec": ...}``).
        ranking_metrics: The ``ranking_metrics`` mapping (needed for ``auto``).
        interactions: All interactions (user_idx, item_idx).
        user_mapping: ``user_id`` / ``user_idx``.
        item_mapping: ``item_id`` / ``item_idx``.
        settings: The ``recommendation`` parameters.

    Returns:
        ``(recommendations, summary)``: the long table (``user_id``, ``rank``,
        ``item_id``, ``score``) and a JSON-ready summary (model, how it was
        chosen, ranking method, sizes, seconds).

    Raises:
        ValueError: If the chosen or retrieval model is not among ``models``.
    """
    settings = RecommendationSettings.model_validate(settings or {})
    if settings.model != AUTO:
        name, selected_by = (
            get_model_type(settings.model).name,
            "parameter recommendation.model",
        )
    else:
        name, key = select_best_model(
            ranking_metrics or {}, sorted(models), settings.selection_metric
        )
        selected_by = f"best {key} among {sorted(models)} in ranking_metrics"
    data = ServingData.from_frames(
        interactions, user_mapping, item_mapping, settings.scoring_batch_size
    )
    model_type = get_model_type(name)
    scorer = model_type.scorer_factory(_model(models, name), data)
    retrieval = settings.retrieval
    retrieval_scorer = None
    candidates = retrieval.candidates
    method = f"exact: {name} scores all {data.n_items} items"
    if model_type.uses_history:
        method += " after each user's history in interactions (train, validation, test)"
    if model_type.ranking_factory is not None:
        # Rank every item by the cheaper, equivalent scorer; score the top-N.
        retrieval_scorer = model_type.ranking_scorer(_model(models, name), data)
        candidates = 1
        method = f"exact: {name} ranks all {data.n_items} items by its ranking scorer"
    large = data.n_users * data.n_items > retrieval.exact_max_pairs
    if (
        large
        and not model_type.exact_always
        and name != retrieval.model
        and retrieval.model not in models
    ):
        # A run that did not train the retrieval model (modelling.models).
        logger.warning(
            "recommendations: retrieval model %r was not trained in this run; %s "
            "ranks all %d items for each of %d users exactly (slower)",
            retrieval.model,
            name,
            data.n_items,
            data.n_users,
        )
    elif large and not model_type.exact_always and name != retrieval.model:
        retrieval_model = _model(models, retrieval.model)
        retrieval_scorer = get_model_type(retrieval.model).ranking_scorer(
            retrieval_model, data
        )
        candidates = retrieval.candidates
        method = (
            f"{retrieval.model} retrieves {candidates} unseen items, {name} re-ranks"
        )
    start = time.perf_counter()
    items, scores = top_n_all_users(
        scorer,
        data.seen,
        settings.top_n,
        retrieval_scorer=retrieval_scorer,
        candidates=candidates,
        batch_users=settings.batch_users,
    )
    seconds = time.perf_counter() - start
    frame = recommendations_frame(items, scores, data.user_ids, data.item_ids)
    summary = {
        "model": name,
        "selected_by": selected_by,
        "ranking": method,
        "excluded": "every item in interactions (train, validation and test)",
        "users": data.n_users,
        "items": data.n_items,
        "top_n": settings.top_n,
        "rows": len(frame),
        "scoring_seconds": round(seconds, 3),
    }
    logger.info(
        "recommendations for %d users in %.1f s (%s)", data.n_users, seconds, method
    )
    return frame, summary


def _model(models: Mapping[str, Any], name: str) -> Any:
    """``models[name]`` or a ValueError naming what is available."""
    if name not in models:
        raise ValueError(
            f"model {name!r} is not among the pipeline's models {sorted(models)}"
        )
    return models[name]
