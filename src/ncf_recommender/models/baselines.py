"""Honest baselines: most-popular items and implicit-feedback ALS.

Both implement the evaluation ``Scorer`` protocol (``n_items`` and
``score(users, items=None)``). Their scores are not probabilities, so they set
``outputs_probabilities = False`` and get no binary accuracy or log-loss.

ALS follows Hu, Koren and Volinsky (2008), "Collaborative Filtering for
Implicit Feedback Datasets": every user-item cell has preference 1 if the user
interacted with the item and 0 otherwise, weighted by confidence
``1 + alpha * r`` (``r`` the stored value, 1 for a binary matrix; 1 for every
empty cell). Each half-step minimises the weighted squared error plus
``regularization * ||x||^2`` for one side with the other side fixed. The
per-user linear systems are solved for all users of a batch at once by a few
conjugate-gradient steps warm-started from the previous factors (as Takács et
al. 2011 suggest), using ``Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y`` so that only
the observed cells cost anything beyond one shared Gram matrix.

Note: the ``implicit`` library's ``alpha`` multiplies the stored value into a
confidence ``alpha * r`` directly; its ``alpha=1`` on a binary matrix equals
``alpha=0`` here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

#: Dense cell products are used when at least 1 cell in this many is stored.
DENSE_DENSITY_INVERSE = 32
#: Batch size of the dense path, in (rows x other side) cells: 16 MiB of float32.
DENSE_BATCH_CELLS = 1 << 22
#: Batch size of the sparse path, in (stored cells x factors) floats: 16 MiB of
#: float32 (smaller batches keep the gathered rows in cache but cost more calls;
#: 2^22 was fastest of 2^20, 2^22, 2^24 at Amazon scale).
SPARSE_BATCH_CELLS = 1 << 22


def _index_array(
    values: np.ndarray | Sequence[int], upper: int, name: str
) -> np.ndarray:
    """A 1-D int64 array of indices in ``[0, upper)``, or a ValueError naming ``name``."""
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(
            f"{name} must be a 1-D integer array, got {array.dtype} {array.shape}"
        )
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= upper):
        raise ValueError(f"{name} values must lie in [0, {upper})")
    return array


def _item_matrix(items: np.ndarray, rows: int, n_items: int) -> np.ndarray:
    """Validate a ``(rows, m)`` matrix of item indices."""
    array = np.asarray(items)
    if array.ndim != 2 or array.shape[0] != rows:
        raise ValueError(f"items must have shape ({rows}, m), got {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"items must hold integer indices, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= n_items):
        raise ValueError(f"items values must lie in [0, {n_items})")
    return array


class MostPopularScorer:
    """Scores every item by its number of training interactions.

    The same ranking for every user; ties between equally popular items are
    left to the tie-aware metrics.

    Attributes:
        n_items: Catalogue size.
        item_counts: Training interactions per item (float64, length ``n_items``).
    """

    outputs_probabilities = False

    def __init__(
        self, train_item_idx: np.ndarray | Sequence[int], n_items: int
    ) -> None:
        """Count training interactions per item.

        Args:
            train_item_idx: ``item_idx`` of every training interaction.
            n_items: Catalogue size.

        Raises:
            ValueError: If ``n_items`` is not positive or an index is out of range.
        """
        if n_items < 1:
            raise ValueError(f"n_items must be positive, got {n_items}")
        items = _index_array(train_item_idx, n_items, "train_item_idx")
        self.n_items = int(n_items)
        self.item_counts = np.bincount(items, minlength=n_items).astype(np.float64)

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Popularity scores (see the ``Scorer`` protocol).

        Args:
            users: User indices, shape ``(B,)`` (any user gets the same scores).
            items: ``None`` for all items, or ``(B, m)`` item indices.

        Returns:
            ``(B, n_items)`` (a read-only view) or ``(B, m)`` float64 training
            counts.
        """
        users = np.asarray(users)
        if users.ndim != 1:
            raise ValueError(f"users must be 1-D, got shape {users.shape}")
        if items is None:
            # A read-only view: every row is the same (no copy per batch).
            return np.broadcast_to(self.item_counts, (users.size, self.n_items))
        return self.item_counts[_item_matrix(items, users.size, self.n_items)]


class DotProductScorer:
    """Scores by the dot product of user and item factors.

    Attributes:
        n_items: Catalogue size.
        user_factors: ``(n_users, k)`` array.
        item_factors: ``(n_items, k)`` array.
    """

    outputs_probabilities = False

    def __init__(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        """Keep the factor matrices.

        Args:
            user_factors: ``(n_users, k)`` user factors.
            item_factors: ``(n_items, k)`` item factors.

        Raises:
            ValueError: If they are not 2-D with the same number of factors.
        """
        users = np.asarray(user_factors)
        items = np.asarray(item_factors)
        if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1]:
            raise ValueError(
                f"user_factors {users.shape} and item_factors {items.shape} must be 2-D "
                "with the same number of factors"
            )
        self.user_factors = users
        self.item_factors = items
        self.n_items = int(items.shape[0])

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Dot-product scores (see the ``Scorer`` protocol).

        Args:
            users: User indices, shape ``(B,)``.
            items: ``None`` for all items, or ``(B, m)`` item indices.

        Returns:
            ``(B, n_items)`` or ``(B, m)`` scores.
        """
        users = _index_array(users, self.user_factors.shape[0], "users")
        vectors = self.user_factors[users]
        if items is None:
            return vectors @ self.item_factors.T
        chosen = self.item_factors[_item_matrix(items, users.size, self.n_items)]
        return np.matmul(chosen, vectors[:, :, None])[:, :, 0]


def _row_batches(
    indptr: np.ndarray, max_nnz: int, max_rows: int
) -> Iterator[tuple[int, int]]:
    """Consecutive row ranges holding at most ``max_nnz`` entries and ``max_rows`` rows.

    A single row with more entries than ``max_nnz`` forms its own batch.
    """
    n_rows = indptr.size - 1
    low = 0
    while low < n_rows:
        high = int(np.searchsorted(indptr, indptr[low] + max_nnz, side="right")) - 1
        high = min(max(high, low + 1), low + max_rows, n_rows)
        yield low, high
        low = high


class _ObservedSystem:
    """A batch's matrices ``F^T C_u F + lambda I``, applied without forming them.

    The product needs ``f_i . v_u`` for every stored cell ``(u, i)``. On dense
    data one matrix product ``V F^T`` gives them fastest; on sparse data they
    are row-wise dot products with the batch's gathered factor rows, which
    also serve (read in order, cache-friendly) for the weighted sums.
    """

    def __init__(
        self, gram: np.ndarray, fixed: np.ndarray, part: sp.csr_matrix, dense: bool
    ) -> None:
        """Keep the shared Gram matrix and index the batch's stored cells.

        Args:
            gram: ``F^T F + lambda I``.
            fixed: ``F``, the other side's factors.
            part: The batch's rows of the interaction matrix, data ``C - 1``.
            dense: Compute the cell products through a dense matrix product.
        """
        self.gram = gram
        self.fixed = fixed
        self.part = part
        self.dense = dense
        self.counts = np.diff(part.indptr)
        if dense:
            self.rows = np.repeat(np.arange(part.shape[0]), self.counts)
        else:
            self.gathered = fixed[part.indices]  # (nnz, k), reused by every step
            self.positions = np.arange(part.nnz)

    def _cell_products(self, vectors: np.ndarray) -> np.ndarray:
        """``f_i . v_u`` for every stored cell, in CSR order."""
        if self.dense:
            return (vectors @ self.fixed.T)[self.rows, self.part.indices]
        # Row u of ``vectors`` repeated once per stored cell of row u.
        repeated = np.repeat(vectors, self.counts, axis=0)
        return np.einsum("ij,ij->i", self.gathered, repeated)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Multiply each row's system matrix by that row of ``vectors``.

        Args:
            vectors: ``(batch rows, k)``.

        Returns:
            ``(batch rows, k)`` products.
        """
        weights = self.part.data * self._cell_products(vectors)
        return vectors @ self.gram + self.weighted_sums(weights)

    def weighted_sums(self, weights: np.ndarray) -> np.ndarray:
        """Per row, the sum of ``weights`` times the stored cells' factor rows.

        Args:
            weights: One weight per stored cell, in CSR order.

        Returns:
            ``(batch rows, k)`` sums.
        """
        if self.dense:
            matrix = sp.csr_matrix(
                (weights, self.part.indices, self.part.indptr), shape=self.part.shape
            )
            return matrix @ self.fixed
        matrix = sp.csr_matrix(
            (weights, self.positions, self.part.indptr),
            shape=(self.part.shape[0], self.part.nnz),
        )
        return matrix @ self.gathered


def solve_factors(
    interactions: sp.csr_matrix,
    fixed: np.ndarray,
    current: np.ndarray,
    *,
    regularization: float,
    alpha: float,
    cg_steps: int = 3,
    dense: bool | None = None,
) -> np.ndarray:
    """One ALS half-step: new factors for the rows of ``interactions``.

    For every row ``u`` it approximately solves
    ``(F^T C_u F + regularization I) x_u = F^T C_u p_u`` by ``cg_steps``
    conjugate-gradient steps from ``current[u]`` (``F`` = ``fixed``,
    ``C_u = I + alpha diag(r_u)``, ``p_u`` the 0/1 preferences). Rows without
    interactions get zero factors. With ``cg_steps >= k`` the solution is
    exact up to rounding. Rows are processed in batches of bounded memory.

    Args:
        interactions: ``(n_rows, n_fixed)`` canonical CSR matrix of
            non-negative values.
        fixed: ``(n_fixed, k)`` factors of the other side.
        current: ``(n_rows, k)`` factors to start from (not modified).
        regularization: L2 weight ``lambda``.
        alpha: Confidence slope.
        cg_steps: Conjugate-gradient steps per row.
        dense: Compute the stored cells' products by dense matrix products
            (fast on dense data); ``None`` chooses by density.

    Returns:
        New ``(n_rows, k)`` factors in ``current``'s dtype.
    """
    dtype = current.dtype
    n_rows, n_fixed = interactions.shape
    k = fixed.shape[1]
    if dense is None:
        dense = interactions.nnz * DENSE_DENSITY_INVERSE >= n_rows * n_fixed
    if dense:
        max_nnz, max_rows = DENSE_BATCH_CELLS, max(1, DENSE_BATCH_CELLS // n_fixed)
    else:
        max_nnz = max_rows = max(1, SPARSE_BATCH_CELLS // k)
    wide = fixed.astype(np.float64)
    gram = (wide.T @ wide).astype(dtype)
    gram += np.asarray(regularization, dtype=dtype) * np.eye(k, dtype=dtype)
    result = np.array(current, dtype=dtype, copy=True)
    for low, high in _row_batches(interactions.indptr, max_nnz, max_rows):
        part = interactions[low:high]
        extra = sp.csr_matrix(
            ((alpha * part.data).astype(dtype), part.indices, part.indptr),
            shape=part.shape,
        )  # C - 1 on the stored cells
        system = _ObservedSystem(gram, fixed, extra, dense)
        x = result[low:high]
        # F^T C_u p_u: the confidence-weighted sum of the stored cells' rows.
        residual = system.weighted_sums(extra.data + 1.0) - system.apply(x)
        direction = residual.copy()
        norm = np.einsum("ij,ij->i", residual, residual)
        for _ in range(cg_steps):
            product = system.apply(direction)
            curvature = np.einsum("ij,ij->i", direction, product)
            step = np.divide(
                norm, curvature, out=np.zeros_like(norm), where=curvature > 0
            )
            x += step[:, None] * direction
            residual -= step[:, None] * product
            new_norm = np.einsum("ij,ij->i", residual, residual)
            ratio = np.divide(new_norm, norm, out=np.zeros_like(norm), where=norm > 0)
            direction = residual + ratio[:, None] * direction
            norm = new_norm
        x[system.counts == 0] = 0.0
    return result


def fit_als(  # noqa: PLR0917
    train: sp.spmatrix | sp.sparray,
    factors: int = 128,
    regularization: float = 10.0,
    alpha: float = 1.0,
    iterations: int = 30,
    seed: int = 0,
    cg_steps: int = 3,
    dtype: type[np.floating] = np.float32,
    blas_threads: int | None = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit implicit-feedback ALS (Hu, Koren, Volinsky 2008) by batched CG.

    Factors start as ``N(0, 0.01^2)`` draws from ``default_rng(seed)``; each
    iteration re-solves all user factors, then all item factors. The result is
    deterministic for a given seed, data and BLAS.

    Args:
        train: ``(n_users, n_items)`` sparse matrix of non-negative values
            (1 per training interaction for binary implicit feedback).
        factors: Number of latent factors ``k``.
        regularization: L2 weight ``lambda``.
        alpha: Confidence slope: observed cells weigh ``1 + alpha * r``.
        iterations: Alternating sweeps.
        seed: Seed of the initial factors.
        cg_steps: Conjugate-gradient steps per solve.
        dtype: Float dtype of the factors.
        blas_threads: BLAS threads while fitting. The many small matrix
            products run faster on one thread (measured: docs/results.md);
            ``None`` keeps the BLAS default.

    Returns:
        ``(user_factors, item_factors)`` of shapes ``(n_users, k)`` and
        ``(n_items, k)``.

    Raises:
        ValueError: On a non-sparse or negative/non-finite matrix, or a bad
            hyper-parameter (the message names it).
    """
    if not sp.issparse(train):
        raise ValueError(
            f"train must be a scipy sparse matrix, got {type(train).__name__}"
        )
    for name, value, minimum in (
        ("factors", factors, 1),
        ("iterations", iterations, 0),
        ("cg_steps", cg_steps, 1),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or value < minimum
        ):
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if not regularization > 0:
        raise ValueError(f"regularization must be positive, got {regularization!r}")
    if not alpha >= 0:
        raise ValueError(f"alpha must be non-negative, got {alpha!r}")
    by_user = sp.csr_matrix(train, dtype=np.float64)
    if not by_user.has_canonical_format:
        by_user = by_user.copy()
        by_user.sum_duplicates()
    if by_user.nnz and (not np.isfinite(by_user.data).all() or by_user.data.min() < 0):
        raise ValueError("train values must be finite and non-negative")
    by_item = by_user.T.tocsr()
    rng = np.random.default_rng(seed)
    n_users, n_items = by_user.shape
    user_factors = (rng.standard_normal((n_users, factors)) * 0.01).astype(dtype)
    item_factors = (rng.standard_normal((n_items, factors)) * 0.01).astype(dtype)
    solver = {"regularization": regularization, "alpha": alpha, "cg_steps": cg_steps}
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for _ in range(iterations):
            user_factors = solve_factors(by_user, item_factors, user_factors, **solver)
            item_factors = solve_factors(by_item, user_factors, item_factors, **solver)
    return user_factors, item_factors
