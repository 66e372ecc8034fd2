"""Top-N ranking of unseen items: exact, or retrieval by a cheap model and re-ranking.

Plain numpy over a ``Scorer`` and a seen-items matrix; shared by the online
:class:`~ncf_recommender.serving._online.Recommender` and the batch pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation import Scorer, top_k
from ncf_recommender.serving._errors import RequestError


def check_top_n(top_n: Any) -> int:
    """Validate a list length.

    Args:
        top_n: Requested number of items.

    Returns:
        ``top_n`` as an ``int``.

    Raises:
        RequestError: If it is not an integer or not positive (a caller's mistake).
    """
    if isinstance(top_n, bool) or not isinstance(top_n, int | np.integer):
        raise RequestError(f"top_n must be a positive integer, got {top_n!r}")
    if top_n <= 0:
        raise RequestError(f"top_n must be a positive integer (>= 1), got {top_n}")
    return int(top_n)


def check_positive_int(name: str, value: Any) -> None:
    """Reject a setting that must be a positive Python ``int``, naming it.

    Args:
        name: The setting's name, as the error message shows it.
        value: Its value.

    Raises:
        ValueError: If ``value`` is not an ``int`` (``bool`` excluded) or is below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class _UserRows:
    """A scorer over a fixed list of users: 'user' ``i`` is ``users[i]``.

    Lets :func:`top_k` work on the few rows of the seen-items matrix that a
    request needs instead of validating the whole matrix on every call.
    """

    def __init__(self, scorer: Scorer, users: np.ndarray) -> None:
        self.scorer = scorer
        self.users = users
        self.n_items = int(scorer.n_items)

    def score(self, rows: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        return self.scorer.score(self.users[rows], items)


def _top_k_of_users(
    scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` for ``users``, excluding their rows of ``seen``."""
    users = np.asarray(users, dtype=np.int64)
    rows = np.arange(users.size, dtype=np.int64)
    return top_k(_UserRows(scorer, users), rows, seen[users], k)


@dataclass(frozen=True)
class Retrieval:
    """Candidate retrieval used before the served model re-ranks.

    Attributes:
        scorer: Scorer of the retrieval model.
        model: Its model type.
        model_version: Its version.
        candidates: Items retrieved per user.
        exact: True when ``scorer`` ranks exactly like the served model (its
            cheaper ranking scorer) and only the top-N are re-scored.
    """

    scorer: Scorer
    model: str
    model_version: str | None
    candidates: int
    exact: bool = False


def retrieve_and_rerank(
    scorer: Scorer,
    retrieval_scorer: Scorer,
    users: np.ndarray,
    seen: sp.csr_matrix,
    top_n: int,
    *,
    candidates: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-N of ``scorer`` among each user's best candidates by ``retrieval_scorer``.

    Each user's best ``candidates`` unseen items by the retrieval model are
    re-scored by ``scorer``; the best ``top_n`` are kept, ties in retrieval order.

    Args:
        scorer: The served model.
        retrieval_scorer: Cheap full scorer (e.g. GMF).
        users: ``user_idx`` values, shape ``(B,)``.
        seen: ``(n_users, n_items)`` items to exclude per user.
        top_n: List length.
        candidates: Items retrieved per user (raised to ``top_n`` if smaller).

    Returns:
        ``(items, scores)`` of shape ``(B, min(top_n, n_items))``, best first;
        item ``-1`` (score ``-inf``) past a user's remaining items.

    Raises:
        ValueError: On a bad ``top_n`` or ``candidates``.
    """
    n_items = seen.shape[1]
    width = min(check_top_n(top_n), n_items)
    check_positive_int("candidates", candidates)
    retrieved, _ = _top_k_of_users(
        retrieval_scorer, users, seen, min(max(candidates, width), n_items)
    )
    valid = retrieved >= 0
    rescored = np.asarray(
        scorer.score(users, np.where(valid, retrieved, 0)), dtype=np.float64
    )
    rescored[~valid] = -np.inf
    order = np.argsort(-rescored, axis=1, kind="stable")[:, :width]
    best_scores = np.take_along_axis(rescored, order, axis=1)
    best = np.take_along_axis(retrieved, order, axis=1)
    return np.where(np.isneginf(best_scores), -1, best), best_scores
