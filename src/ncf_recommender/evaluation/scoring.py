"""The Scorer protocol and the batched-scoring helpers shared by evaluation.

Every model (Keras NCF family, baselines, sequence models) is evaluated, and
recommends, through :class:`Scorer`. The helpers validate indices and
exclusion matrices, split users into batches of bounded memory and check the
scores a model returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

#: Scores held in memory per batch (users x items) when no batch size is given.
DEFAULT_SCORES_PER_BATCH = 1 << 23


@runtime_checkable
class Scorer(Protocol):
    """What every model exposes to evaluation, recommendation and serving.

    Optional attributes read by evaluation: ``outputs_probabilities`` (binary
    metrics), ``pairwise`` (user samples at scale) and
    ``candidate_scores_from_rows``: ``True`` when ``score(users, items)``
    equals ``score(users)`` gathered at ``items`` bit for bit, so the sampled
    ranking is read from the full-ranking rows.
    """

    n_items: int

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Score items for users; higher is better.

        Args:
            users: Integer user indices, shape ``(B,)``.
            items: ``None`` to score every item, or integer item indices of
                shape ``(B, m)`` to score those items for each user.

        Returns:
            Scores of shape ``(B, n_items)`` when ``items`` is ``None``, else
            ``(B, m)``. Evaluation never writes into the returned array.
        """
        ...


def as_index_array(values: np.ndarray | Sequence[int], name: str) -> np.ndarray:
    """Convert to a 1-D int64 index array.

    Args:
        values: Integer indices.
        name: Name used in error messages.

    Returns:
        A 1-D int64 array.

    Raises:
        ValueError: If the values are not 1-D integers.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def check_range(values: np.ndarray, upper: int, name: str) -> None:
    """Raise a ValueError naming the first index outside ``[0, upper)``."""
    bad = (values < 0) | (values >= upper)
    if bad.any():
        raise ValueError(
            f"{name} index {int(values[np.argmax(bad)])} is outside [0, {upper})"
        )


def check_exclude(
    exclude: sp.spmatrix | sp.sparray, n_users: int, n_items: int
) -> sp.csr_matrix:
    """Validate an exclusion matrix and bring it to canonical CSR form.

    Args:
        exclude: Sparse ``(n_users_total, n_items)`` matrix whose stored entries
            mark the items to exclude per user (values are ignored).
        n_users: Number of user rows it must at least have.
        n_items: Number of item columns it must have.

    Returns:
        A canonical CSR matrix (sorted indices, no duplicates); the input is not
        modified.

    Raises:
        ValueError: If it is not sparse or its shape does not fit.
    """
    if not sp.issparse(exclude):
        raise ValueError(
            f"exclude must be a scipy sparse matrix, got {type(exclude).__name__}"
        )
    if exclude.shape[1] != n_items or exclude.shape[0] < n_users:
        raise ValueError(
            f"exclude has shape {exclude.shape}; it needs {n_items} item columns and "
            f"at least {n_users} user rows"
        )
    matrix = sp.csr_matrix(exclude)
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix


def batches(n: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``batch_size`` over ``range(n)``."""
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def resolve_batch_size(batch_size: int | None, width: int) -> int:
    """The batch size to use for scores of ``width`` columns per user."""
    if batch_size is None:
        return max(1, DEFAULT_SCORES_PER_BATCH // max(width, 1))
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_scores(scores: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Check a scorer's output shape and that it holds no NaN."""
    scores = np.asarray(scores)
    if scores.shape != shape:
        raise ValueError(
            f"scorer returned scores of shape {scores.shape}, expected {shape}"
        )
    # max propagates NaN and costs less than a full isnan pass.
    if scores.size and np.isnan(scores.max(axis=1)).any():
        raise ValueError("scorer returned NaN scores")
    return scores


def row_counts(mask: np.ndarray) -> np.ndarray:
    """Number of True values per row of a 2-D boolean array."""
    # count_nonzero of one contiguous row is much faster than a sum along an
    # axis (which widens every byte); a Python loop over rows costs little.
    return np.fromiter(
        (np.count_nonzero(row) for row in mask), dtype=np.int64, count=mask.shape[0]
    )


def count_where(
    compare: np.ufunc, scores: np.ndarray, threshold: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Per row, how many scores ``compare`` true against the row's threshold.

    Args:
        compare: A comparison ufunc (``np.greater``, ``np.equal``...).
        scores: ``(B, n)`` scores.
        threshold: ``(B, 1)`` threshold per row.
        out: A ``(B, n)`` boolean buffer, reused across batches: a fresh
            temporary of that size costs more in page faults than the
            comparison itself.

    Returns:
        ``(B,)`` int64 counts.
    """
    return row_counts(compare(scores, threshold, out=out))


def excluded_entries(
    exclude: sp.csr_matrix, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions within the batch and item columns of excluded entries."""
    rows_matrix = exclude[users]
    rows = np.repeat(np.arange(users.size), np.diff(rows_matrix.indptr))
    return rows, rows_matrix.indices.astype(np.int64, copy=False)
