"""Tie-aware ranking metrics computed from per-user rank counts.

Every ranking metric here is a function of two integers per user: ``g``, the
number of competitors that score strictly higher than the held-out item, and
``t``, the number of competitors that score exactly the same. Under random
tie-breaking the held-out item's rank is uniform on ``g + 1 ... g + t + 1``,
and each metric is its exact expectation over that rank (one relevant item,
so the ideal DCG is 1):

* ``HR@K  = P(rank <= K)``
* ``NDCG@K = E[1 / log2(rank + 1) if rank <= K else 0]``
* ``RR    = E[1 / rank]`` (its mean over users is the MRR)

The expectations are computed in closed form from cumulative sums of
``1 / log2(r + 1)`` and ``1 / r``, so a scorer that gives every item the same
score gets exactly the value of a random ranking, never more.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS: tuple[int, ...] = (5, 10, 20)


def _check_counts(g: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert rank counts.

    Args:
        g: Competitors scoring strictly higher, one per user.
        t: Competitors scoring equal, one per user.

    Returns:
        ``g`` and ``t`` as 1-D int64 arrays.

    Raises:
        ValueError: If the shapes differ, are not 1-D, or a count is negative.
    """
    g_arr = np.asarray(g)
    t_arr = np.asarray(t)
    if g_arr.ndim != 1 or g_arr.shape != t_arr.shape:
        raise ValueError(
            f"rank counts g and t must be 1-D arrays of equal length, got shapes "
            f"{g_arr.shape} and {t_arr.shape}"
        )
    if g_arr.size and (g_arr.min() < 0 or t_arr.min() < 0):
        raise ValueError("rank counts g and t must be non-negative")
    return g_arr.astype(np.int64, copy=False), t_arr.astype(np.int64, copy=False)


def _check_k(k: int) -> int:
    """Validate a cut-off.

    Args:
        k: The cut-off K.

    Returns:
        ``k`` as a Python int.

    Raises:
        ValueError: If ``k`` is not a positive integer.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"cut-off K must be a positive integer, got {k!r}")
    return int(k)


def _discount_table(max_rank: int) -> np.ndarray:
    """Cumulative DCG discounts: entry r is the sum of 1/log2(j + 1), j = 1..r."""
    ranks = np.arange(1, max_rank + 1, dtype=np.float64)
    return np.concatenate(([0.0], np.cumsum(1.0 / np.log2(ranks + 1.0))))


def _harmonic_table(max_rank: int) -> np.ndarray:
    """Harmonic numbers: entry r is the sum of 1/j, j = 1..r."""
    ranks = np.arange(1, max_rank + 1, dtype=np.float64)
    return np.concatenate(([0.0], np.cumsum(1.0 / ranks)))


def expected_hit_rate(g: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """Per-user expected hit rate at K under random tie-breaking.

    Args:
        g: Competitors scoring strictly higher than the held-out item.
        t: Competitors scoring equal to the held-out item.
        k: The cut-off K (may exceed the number of candidates).

    Returns:
        Float64 array: the probability that the held-out item ranks in the top K.
    """
    g, t = _check_counts(g, t)
    k = _check_k(k)
    inside = np.minimum(k, g + t + 1) - np.minimum(k, g)
    return inside / (t + 1.0)


def expected_ndcg(g: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """Per-user expected NDCG at K under random tie-breaking.

    Args:
        g: Competitors scoring strictly higher than the held-out item.
        t: Competitors scoring equal to the held-out item.
        k: The cut-off K (may exceed the number of candidates).

    Returns:
        Float64 array: the mean of ``1 / log2(rank + 1)`` over the equally
        likely ranks, counting ranks beyond K as 0.
    """
    g, t = _check_counts(g, t)
    k = _check_k(k)
    table = _discount_table(k)
    upper = table[np.minimum(k, g + t + 1)]
    lower = table[np.minimum(k, g)]
    return (upper - lower) / (t + 1.0)


def expected_reciprocal_rank(g: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-user expected reciprocal rank under random tie-breaking.

    Args:
        g: Competitors scoring strictly higher than the held-out item.
        t: Competitors scoring equal to the held-out item.

    Returns:
        Float64 array: the mean of ``1 / rank`` over the equally likely ranks.
    """
    g, t = _check_counts(g, t)
    if g.size == 0:
        return np.zeros(0, dtype=np.float64)
    table = _harmonic_table(int((g + t).max()) + 1)
    spread = (table[g + t + 1] - table[g]) / (t + 1.0)
    # Untied ranks are exact without the cumulative-sum difference.
    return np.where(t == 0, 1.0 / (g + 1.0), spread)


def metrics_from_counts(
    g: np.ndarray, t: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float | int]:
    """Mean HR@K, NDCG@K for each K, and MRR over users.

    Args:
        g: Competitors scoring strictly higher than the held-out item, per user.
        t: Competitors scoring equal to the held-out item, per user.
        ks: Cut-offs.

    Returns:
        ``{"hr@K": ..., "ndcg@K": ... for each K, "mrr": ..., "users": n}`` with
        plain Python numbers (JSON-serialisable).

    Raises:
        ValueError: If there are no users or the counts are invalid.
    """
    g, t = _check_counts(g, t)
    if g.size == 0:
        raise ValueError("cannot compute ranking metrics over zero users")
    result: dict[str, float | int] = {}
    for k in ks:
        result[f"hr@{k}"] = float(expected_hit_rate(g, t, k).mean())
        result[f"ndcg@{k}"] = float(expected_ndcg(g, t, k).mean())
    result["mrr"] = float(expected_reciprocal_rank(g, t).mean())
    result["users"] = int(g.size)
    return result


def standard_errors(
    g: np.ndarray, t: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Standard errors of the means that :func:`metrics_from_counts` reports.

    For metrics measured on a random sample of users: the sample standard
    deviation of the per-user values over the square root of the sample size
    (no finite-population correction, so slightly conservative).

    Args:
        g: Competitors scoring strictly higher than the held-out item, per user.
        t: Competitors scoring equal to the held-out item, per user.
        ks: Cut-offs.

    Returns:
        ``{"hr@K": ..., "ndcg@K": ..., "mrr": ...}`` plain floats.

    Raises:
        ValueError: If there are fewer than two users or the counts are invalid.
    """
    g, t = _check_counts(g, t)
    if g.size < 2:
        raise ValueError("a standard error needs at least two users")
    per_user = {}
    for k in ks:
        per_user[f"hr@{k}"] = expected_hit_rate(g, t, k)
        per_user[f"ndcg@{k}"] = expected_ndcg(g, t, k)
    per_user["mrr"] = expected_reciprocal_rank(g, t)
    root = np.sqrt(g.size)
    return {
        key: float(np.std(values, ddof=1) / root) for key, values in per_user.items()
    }


def metrics_curve(
    g: np.ndarray, t: np.ndarray, max_k: int = 20
) -> dict[str, np.ndarray]:
    """Mean HR@K and NDCG@K for every K = 1 ... max_k, for plots.

    Args:
        g: Competitors scoring strictly higher than the held-out item, per user.
        t: Competitors scoring equal to the held-out item, per user.
        max_k: Largest cut-off.

    Returns:
        ``{"k": [1..max_k], "hr": (max_k,), "ndcg": (max_k,)}`` as numpy arrays.

    Raises:
        ValueError: If there are no users, or ``max_k`` is not positive.
    """
    g, t = _check_counts(g, t)
    max_k = _check_k(max_k)
    if g.size == 0:
        raise ValueError("cannot compute a metrics curve over zero users")
    ks = np.arange(1, max_k + 1)
    table = _discount_table(max_k)
    top = np.minimum(ks[None, :], (g + t + 1)[:, None])  # (users, max_k)
    bottom = np.minimum(ks[None, :], g[:, None])
    weight = 1.0 / (t + 1.0)[:, None]
    hr = ((top - bottom) * weight).mean(axis=0)
    ndcg = ((table[top] - table[bottom]) * weight).mean(axis=0)
    return {"k": ks, "hr": hr, "ndcg": ndcg}
