"""Top-K lists: the best-scoring items per user, excluded items removed.

Selecting K of tens of thousands of scores per row with ``np.argpartition``
costs several nanoseconds per score, more than computing the scores of a
dot-product model. :class:`TopSelector` finds the same lists from a bound
instead: the items of a row are split into groups (item ``j`` in group
``j % n_groups``), and the K-th largest group maximum ``L`` is at most the
K-th largest score, since K groups each hold an item scoring ``>= L``. Every
item scoring ``>= L`` lies in a group whose maximum is ``>= L``, so only
those few groups are gathered and sorted. Group maxima are element-wise
maxima of ``group_size`` contiguous slices of the row (vectorised), and every
buffer is allocated once per pass: a fresh multi-megabyte temporary per batch
costs more in page faults than the comparison that fills it.

Lists are ordered by score, best first, ties towards the lower item index;
of several items tied at the K-th score, the lower indices enter the list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation.scoring import (
    Scorer,
    as_index_array,
    batches,
    check_exclude,
    check_range,
    check_scores,
    excluded_entries,
    resolve_batch_size,
)

#: Items per group of :class:`TopSelector` (rows of the group-maximum pass).
GROUP_SIZE = 32


class TopSelector:
    """Selects the best K non-excluded items per row of score batches.

    Holds the buffers of one pass (a masked copy of a batch and its group
    maxima), so repeated batches of up to ``max_rows`` rows allocate nothing
    large.

    Attributes:
        n_items: Columns of every score batch.
        k: List length.
    """

    def __init__(self, n_items: int, k: int, max_rows: int) -> None:
        """Size the selector.

        Args:
            n_items: Columns of every score batch.
            k: List length, ``1 <= k <= n_items``.
            max_rows: Largest batch (rows); larger batches are split.
        """
        self.n_items = int(n_items)
        self.k = check_list_length(k, self.n_items)
        self.max_rows = max(1, int(max_rows))
        # n_groups >= k: group_size <= n_items / k and n_groups * group_size >= n_items.
        self._group_size = max(1, min(GROUP_SIZE, self.n_items // self.k))
        self._n_groups = -(-self.n_items // self._group_size)
        self._masked: np.ndarray | None = None
        self._maxima: np.ndarray | None = None

    def _buffers(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """The masked-copy and group-maximum buffers for scores of ``dtype``."""
        if self._masked is None or self._masked.dtype != dtype:
            width = self._n_groups * self._group_size
            # Padding columns past n_items stay -inf: never above a bound.
            self._masked = np.full((self.max_rows, width), -np.inf, dtype=dtype)
            self._maxima = np.empty((self.max_rows, self._n_groups), dtype=dtype)
        return self._masked, self._maxima

    def select(
        self, scores: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` items per row of a score batch, excluded entries removed.

        Args:
            scores: ``(B, n_items)`` scores without NaN (not modified).
            rows: Row (within the batch) of each excluded entry.
            cols: Item of each excluded entry.

        Returns:
            ``(items, scores)``: ``(B, k)`` int64 items, best first (item
            ``-1`` where only ``-inf`` scores remain) and their scores.
        """
        size = scores.shape[0]
        if size > self.max_rows:
            parts = [
                self.select(
                    scores[low : low + self.max_rows],
                    *_entries_in(rows, cols, low, self.max_rows),
                )
                for low in range(0, size, self.max_rows)
            ]
            return np.concatenate([p[0] for p in parts]), np.concatenate(
                [p[1] for p in parts]
            )
        dtype = np.result_type(scores.dtype, np.float32)
        masked, maxima = self._buffers(dtype)
        masked, maxima = masked[:size], maxima[:size]
        np.copyto(masked[:, : self.n_items], scores)
        masked[rows, cols] = -np.inf
        groups, n_groups, k = self._group_size, self._n_groups, self.k
        np.max(masked.reshape(size, groups, n_groups), axis=1, out=maxima)
        bound = np.partition(maxima, n_groups - k, axis=1)[:, n_groups - k]
        cand_rows, cand_groups = np.nonzero(maxima >= bound[:, None])
        items = cand_groups[:, None] + n_groups * np.arange(groups)
        values = masked.reshape(size, groups, n_groups)[cand_rows, :, cand_groups]
        keep = values >= bound[cand_rows, None]
        keep &= items < self.n_items
        cand_rows = np.broadcast_to(cand_rows[:, None], keep.shape)[keep]
        items, values = items[keep], values[keep]
        order = np.lexsort((items, -values, cand_rows))
        starts = np.searchsorted(cand_rows[order], np.arange(size))
        take = order[starts[:, None] + np.arange(k)]
        best, best_scores = items[take], values[take]
        return np.where(np.isneginf(best_scores), -1, best), best_scores


def _entries_in(
    rows: np.ndarray, cols: np.ndarray, low: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Excluded entries of batch rows ``low .. low + count - 1``, rows made relative."""
    inside = (rows >= low) & (rows < low + count)
    return rows[inside] - low, cols[inside]


def top_of_batch(
    scores: np.ndarray, rows: np.ndarray, cols: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items per row of a score batch, excluded entries removed.

    A one-off :class:`TopSelector`; passes over many batches keep one.
    """
    return TopSelector(scores.shape[1], k, scores.shape[0]).select(scores, rows, cols)


def check_list_length(k: int, n_items: int) -> int:
    """Validate a top-K list length."""
    if (
        isinstance(k, bool)
        or not isinstance(k, int | np.integer)
        or not 1 <= k <= n_items
    ):
        raise ValueError(f"k must be an integer in [1, {n_items}], got {k!r}")
    return int(k)


def top_k(
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    exclude: sp.spmatrix | sp.sparray | None,
    k: int,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The K best-scoring items per user, excluding each user's given items.

    Ties are broken towards the lower item index, also for which of several
    items tied at the K-th score enter the list. Items scoring ``-inf`` (and
    excluded items) are never returned: when a user has fewer than K
    available items, the tail holds item ``-1`` with score ``-inf``.

    Args:
        scorer: The model.
        users: Users to recommend for, shape ``(B,)``.
        exclude: Sparse ``(n_users, n_items)`` matrix of items not to
            recommend per user (e.g. the items already seen), or ``None``.
        k: List length, ``1 <= k <= n_items``.
        batch_size: Users scored per batch (``None``: automatic).

    Returns:
        ``(items, scores)``: int64 ``(B, k)`` item indices, best first, and
        their float64 scores.

    Raises:
        ValueError: On a bad ``k`` or out-of-range users.
    """
    users = as_index_array(users, "users")
    n_items = int(scorer.n_items)
    k = check_list_length(k, n_items)
    if exclude is not None:
        exclude = check_exclude(exclude, 0, n_items)
        check_range(users, exclude.shape[0], "users")
    items_out = np.empty((users.size, k), dtype=np.int64)
    scores_out = np.empty((users.size, k), dtype=np.float64)
    no_entries = np.zeros(0, dtype=np.int64)
    batch = resolve_batch_size(batch_size, n_items)
    selector = TopSelector(n_items, k, min(batch, max(users.size, 1)))
    for part in batches(users.size, batch):
        batch_users = users[part]
        scores = check_scores(scorer.score(batch_users), (batch_users.size, n_items))
        if exclude is None:
            rows, cols = no_entries, no_entries
        else:
            rows, cols = excluded_entries(exclude, batch_users)
        items_out[part], scores_out[part] = selector.select(scores, rows, cols)
    return items_out, scores_out
