"""Model-agnostic ranking evaluation: full ranking and sampled ranking.

Any model is evaluated through the :class:`Scorer` protocol. Users are scored
in batches against every item (full ranking) or against their stored
candidates (sampled ranking); each user's held-out item is then reduced to the
rank counts ``(g, t)`` that :mod:`ncf_recommender.evaluation.metrics` turns into
tie-aware HR@K, NDCG@K and MRR.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation.metrics import DEFAULT_KS, metrics_from_counts
from ncf_recommender.evaluation.scoring import (
    Scorer,
    as_index_array,
    batches,
    check_exclude,
    check_range,
    check_scores,
    count_where,
    excluded_entries,
    resolve_batch_size,
    row_counts,
)
from ncf_recommender.evaluation.top_lists import TopSelector, check_list_length
from ncf_recommender.progress import progress

__all__ = [
    "FullRanking",
    "Scorer",
    "full_rank_counts",
    "full_ranking_metrics",
    "full_ranking_pass",
    "sampled_metrics",
    "sampled_rank_counts",
]


class FullRanking(NamedTuple):
    """Result of one full-ranking pass over users.

    Attributes:
        g: Per row, competitors scoring strictly higher than the target.
        t: Per row, competitors scoring equal to the target.
        top_items: ``(U, top_n)`` best items per row (see :func:`top_k`), or
            ``None`` when no list was asked for.
        top_scores: Their scores, or ``None``.
        sampled_g: With ``candidates``: per row, the candidates scoring
            strictly higher than the target (else ``None``).
        sampled_t: With ``candidates``: per row, the candidates tied with it.
        second_g: With ``second``: ``g`` of its targets (else ``None``).
        second_t: With ``second``: ``t`` of its targets.
    """

    g: np.ndarray
    t: np.ndarray
    top_items: np.ndarray | None
    top_scores: np.ndarray | None
    sampled_g: np.ndarray | None = None
    sampled_t: np.ndarray | None = None
    second_g: np.ndarray | None = None
    second_t: np.ndarray | None = None


def full_ranking_pass(  # noqa: PLR0917
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    targets: np.ndarray | Sequence[int],
    exclude: sp.spmatrix | sp.sparray,
    top_n: int | None = None,
    batch_size: int | None = None,
    description: str = "full-ranking evaluation",
    candidates: np.ndarray | None = None,
    second: tuple[np.ndarray | Sequence[int], sp.spmatrix | sp.sparray] | None = None,
) -> FullRanking:
    """Rank each held-out item among all items, optionally keeping top-N lists.

    Each user's items in ``exclude`` are neither competitors nor counted (nor
    recommended). Scoring all items once serves both the metrics and the
    top-N lists used for coverage and novelty, and, with ``candidates``, the
    sampled ranking: for a scorer whose candidate scores are gathered from
    its full score rows (a sequence model), that equals
    :func:`sampled_rank_counts` without scoring every row a second time. With
    ``second``, the same score rows also rank a second held-out item per row
    among all items with its own exclusions (validation beside test, for a
    scorer that does not depend on the split): the counts equal a separate
    :func:`full_rank_counts` over the same users, at the cost of comparisons
    instead of a second scoring.

    Args:
        scorer: The model.
        users: User index per evaluated row, shape ``(U,)``.
        targets: Held-out item per row, shape ``(U,)``.
        exclude: Sparse ``(n_users, n_items)`` matrix of items to remove per
            user (train items for validation; train and validation items for
            test).
        top_n: Also return each row's ``top_n`` best non-excluded items.
        batch_size: Users scored per batch; ``None`` keeps about
            ``DEFAULT_SCORES_PER_BATCH`` scores in memory.
        description: Name of the step in the progress output (users/s).
        candidates: ``(U, m)`` stored negatives per row: also rank each
            target among them (``sampled_g``/``sampled_t``), read from the
            full score rows.
        second: ``(targets, exclude)`` of a second ranking of the same rows
            (``second_g``/``second_t``).

    Returns:
        A :class:`FullRanking` of int64 ``g``/``t`` arrays (and top-N lists,
        sampled counts).

    Raises:
        ValueError: On mismatched or out-of-range indices, a target that is
            excluded or among its own candidates, or bad scores.
    """
    users = as_index_array(users, "users")
    targets = as_index_array(targets, "targets")
    if users.shape != targets.shape:
        raise ValueError(
            f"users {users.shape} and targets {targets.shape} differ in length"
        )
    n_items = int(scorer.n_items)
    exclude = check_exclude(exclude, 0, n_items)
    check_range(users, exclude.shape[0], "users")
    check_range(targets, n_items, "targets")
    batch = resolve_batch_size(batch_size, n_items)
    rows_max = min(batch, max(users.size, 1))
    selector = None
    if top_n is not None:
        top_n = check_list_length(top_n, n_items)
        selector = TopSelector(n_items, top_n, rows_max)
        top_items = np.empty((users.size, top_n), dtype=np.int64)
        top_scores = np.empty((users.size, top_n), dtype=np.float64)
    g = np.empty(users.size, dtype=np.int64)
    t = np.empty(users.size, dtype=np.int64)
    sampled_items = None
    if candidates is not None:
        sampled_items = _sampled_items(users, targets, candidates, n_items)
        sampled_g = np.empty(users.size, dtype=np.int64)
        sampled_t = np.empty(users.size, dtype=np.int64)
    tasks = [(targets, exclude, g, t)]
    if second is not None:
        tasks.append(_second_task(second, users, n_items))
    # One comparison buffer for the whole pass (see count_where).
    mask = np.empty((rows_max, n_items), dtype=bool)
    with progress(description, users.size, unit="users") as advance:
        for part in batches(users.size, batch):
            batch_users = users[part]
            size = batch_users.size
            scores = check_scores(scorer.score(batch_users), (size, n_items))
            # The first task's excluded entries also mask the top-N lists.
            for task_targets, task_exclude, task_g, task_t in reversed(tasks):
                rows, cols = excluded_entries(task_exclude, batch_users)
                task_g[part], task_t[part] = _rank_counts(
                    scores, batch_users, task_targets[part], rows, cols, mask[:size]
                )
            if selector is not None:
                top_items[part], top_scores[part] = selector.select(scores, rows, cols)
            if sampled_items is not None:
                chosen = np.take_along_axis(scores, sampled_items[part], axis=1)
                sampled_g[part], sampled_t[part] = _candidate_counts(chosen)
            advance(batch_users.size)
    result = FullRanking(g, t, None, None)
    if top_n is not None:
        result = result._replace(top_items=top_items, top_scores=top_scores)
    if sampled_items is not None:
        result = result._replace(sampled_g=sampled_g, sampled_t=sampled_t)
    if second is not None:
        result = result._replace(second_g=tasks[1][2], second_t=tasks[1][3])
    return result


def _second_task(
    second: tuple[np.ndarray | Sequence[int], sp.spmatrix | sp.sparray],
    users: np.ndarray,
    n_items: int,
) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray]:
    """Validated ``(targets, exclude, g, t)`` of a second ranking of the same rows."""
    second_targets = as_index_array(second[0], "second targets")
    if second_targets.shape != users.shape:
        raise ValueError(
            f"users {users.shape} and second targets {second_targets.shape} "
            "differ in length"
        )
    check_range(second_targets, n_items, "second targets")
    second_exclude = check_exclude(second[1], 0, n_items)
    check_range(users, second_exclude.shape[0], "users")
    return (
        second_targets,
        second_exclude,
        np.empty(users.size, dtype=np.int64),
        np.empty(users.size, dtype=np.int64),
    )


def _rank_counts(  # noqa: PLR0917 (private)
    scores: np.ndarray,
    users: np.ndarray,
    targets: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(g, t)`` of each row's target among its row's non-excluded items.

    Args:
        scores: ``(B, n_items)`` score batch.
        users: The batch's users (for error messages).
        targets: Held-out item per row.
        rows: Row of each excluded entry.
        cols: Item of each excluded entry.
        mask: ``(B, n_items)`` boolean buffer.

    Returns:
        int64 ``g`` and ``t`` per row.

    Raises:
        ValueError: If a target is among its row's excluded items.
    """
    size = users.size
    clash = cols == targets[rows]
    if clash.any():
        row = rows[np.argmax(clash)]
        raise ValueError(
            f"target item {int(targets[row])} of user {int(users[row])} "
            "is in that user's excluded items"
        )
    target_scores = scores[np.arange(size), targets]
    threshold = target_scores[:, None]
    higher = count_where(np.greater, scores, threshold, mask)
    ties = count_where(np.equal, scores, threshold, mask)
    excluded_scores = scores[rows, cols]
    excluded_targets = target_scores[rows]
    higher -= np.bincount(rows[excluded_scores > excluded_targets], minlength=size)
    ties -= np.bincount(rows[excluded_scores == excluded_targets], minlength=size)
    return higher, ties - 1  # the target ties with itself


def _sampled_items(
    users: np.ndarray, targets: np.ndarray, candidates: np.ndarray, n_items: int
) -> np.ndarray:
    """Validated ``(U, 1 + m)`` items per row: the target, then its candidates."""
    candidates = np.asarray(candidates)
    if (
        candidates.ndim != 2
        or candidates.shape[0] != users.size
        or users.shape != targets.shape
    ):
        raise ValueError(
            f"users {users.shape}, targets {targets.shape} and candidates "
            f"{candidates.shape} must describe the same rows (candidates 2-D)"
        )
    if candidates.size and not np.issubdtype(candidates.dtype, np.integer):
        raise ValueError(
            f"candidates must hold integer indices, got dtype {candidates.dtype}"
        )
    check_range(targets, n_items, "targets")
    check_range(candidates.ravel(), n_items, "candidates")
    clash = (candidates == targets[:, None]).any(axis=1)
    if clash.any():
        row = int(np.argmax(clash))
        raise ValueError(
            f"target item {int(targets[row])} of user {int(users[row])} is among "
            "its own negative candidates"
        )
    return np.concatenate([targets[:, None], candidates.astype(np.int64)], axis=1)


def _candidate_counts(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(g, t)`` of column 0 (the target) among the other columns of each row."""
    threshold = scores[:, :1]
    return (
        row_counts(scores[:, 1:] > threshold),
        row_counts(scores[:, 1:] == threshold),
    )


def full_rank_counts(  # noqa: PLR0917
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    targets: np.ndarray | Sequence[int],
    exclude: sp.spmatrix | sp.sparray,
    batch_size: int | None = None,
    description: str = "full-ranking evaluation",
) -> tuple[np.ndarray, np.ndarray]:
    """Rank counts ``(g, t)`` of each held-out item among all items.

    Per-user counts feed :func:`~ncf_recommender.evaluation.metrics.metrics_curve`
    (HR/NDCG for K = 1..20) and per-user metrics (their spread over users).

    Args:
        scorer: The model.
        users: User index per evaluated row, shape ``(U,)``.
        targets: Held-out item per row, shape ``(U,)``.
        exclude: Sparse matrix of each user's items to remove (see
            :func:`full_ranking_pass`).
        batch_size: Users scored per batch (``None``: automatic).
        description: Name of the step in the progress output.

    Returns:
        ``(g, t)`` int64 arrays: per row, the competitors scoring strictly
        higher than and equal to the target.
    """
    result = full_ranking_pass(
        scorer, users, targets, exclude, batch_size=batch_size, description=description
    )
    return result.g, result.t


def sampled_rank_counts(
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    targets: np.ndarray | Sequence[int],
    candidates: np.ndarray,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank counts of each held-out item among its stored negative candidates.

    Args:
        scorer: The model.
        users: User index per evaluated row, shape ``(U,)``.
        targets: Held-out item per row, shape ``(U,)``.
        candidates: Negative items per row, shape ``(U, m)`` (99 by the protocol).
        batch_size: Rows scored per batch; ``None`` bounds memory as for full
            rows of ``n_items`` scores.

    Returns:
        ``(g, t)`` int64 arrays of competitors scoring higher / equal.

    Raises:
        ValueError: On mismatched or out-of-range indices, a target among its
            own candidates, or bad scores.
    """
    users = as_index_array(users, "users")
    targets = as_index_array(targets, "targets")
    n_items = int(scorer.n_items)
    items = _sampled_items(users, targets, candidates, n_items)
    g = np.empty(users.size, dtype=np.int64)
    t = np.empty(users.size, dtype=np.int64)
    # Sized as if every item were scored: a scorer may compute whole rows to
    # pick the candidates (sequence models), or gather (users, m, factors)
    # blocks; sized by m alone, a batch at Electronics size ran out of memory.
    for part in batches(users.size, resolve_batch_size(batch_size, n_items)):
        batch_items = items[part]
        scores = check_scores(scorer.score(users[part], batch_items), batch_items.shape)
        g[part], t[part] = _candidate_counts(scores)
    return g, t


def full_ranking_metrics(  # noqa: PLR0917
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    targets: np.ndarray | Sequence[int],
    exclude: sp.spmatrix | sp.sparray,
    ks: Sequence[int] = DEFAULT_KS,
    batch_size: int | None = None,
    description: str = "full-ranking evaluation",
) -> dict[str, float | int]:
    """HR@K, NDCG@K and MRR of the held-out items ranked among all items.

    Args:
        scorer: The model.
        users: User index per evaluated row.
        targets: Held-out item per row.
        exclude: Sparse matrix of each user's items to remove (see
            :func:`full_rank_counts`).
        ks: Cut-offs.
        batch_size: Users scored per batch (``None``: automatic).
        description: Name of the step in the progress output.

    Returns:
        ``{"hr@5", "ndcg@5", "hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr",
        "users"}`` (keys follow ``ks``), tie-aware expectations.
    """
    g, t = full_rank_counts(scorer, users, targets, exclude, batch_size, description)
    return metrics_from_counts(g, t, ks)


def sampled_metrics(  # noqa: PLR0917
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    targets: np.ndarray | Sequence[int],
    candidates: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    batch_size: int | None = None,
) -> dict[str, float | int]:
    """HR@K, NDCG@K and MRR of the held-out items ranked among 1 + m candidates.

    Args:
        scorer: The model.
        users: User index per evaluated row.
        targets: Held-out item per row.
        candidates: ``(U, m)`` stored negatives per row.
        ks: Cut-offs (K larger than ``m + 1`` gives HR@K = 1).
        batch_size: Rows scored per batch (``None``: automatic).

    Returns:
        The same keys as :func:`full_ranking_metrics`.
    """
    g, t = sampled_rank_counts(scorer, users, targets, candidates, batch_size)
    return metrics_from_counts(g, t, ks)
