"""Item vectors for products a trained model has never seen, from their metadata.

A model whose score is a dot product with an item vector (the next-item models'
tied item table, GMF's item table) can score a new product once the product has
a vector in the same space. :func:`embed_new_items` builds one from the items
the model knows that the metadata links to the product:

1. its **related** items (also bought, bought together, ...) that the model
   knows: the mean of their vectors;
2. else the known items of its **deepest category**: the mean of their vectors;
3. else nothing (the row is NaN and its basis is ``"none"``).

The mean is rescaled to the mean norm of the vectors it averages: a mean of
many vectors is shorter than any of them, and a dot-product score grows with
the norm, so without the rescaling a new product would rank below its own
neighbours for every user.

Plain numpy and scipy, no Keras: serving (``POST /items``) and an offline
cold-item evaluation call the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

#: Basis of a new item's vector: its related items, its category, or none.
RELATED, CATEGORY, NONE = "related", "category", "none"


class NewItemVectors(NamedTuple):
    """Vectors of new items and what each one was built from.

    Attributes:
        vectors: ``(n_new, dim)`` float32; NaN rows where ``basis`` is ``none``.
        basis: ``(n_new,)`` ``"related"``, ``"category"`` or ``"none"``.
        neighbours: ``(n_new,)`` number of known items averaged (0 for none).
    """

    vectors: np.ndarray
    basis: np.ndarray
    neighbours: np.ndarray


def _membership(
    rows: Sequence[Sequence[int]], n_items: int, name: str
) -> sp.csr_matrix:
    """``(len(rows), n_items)`` 0/1 matrix: row ``j`` marks the distinct items of ``rows[j]``."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = (
        np.concatenate([np.asarray(r, dtype=np.int64).reshape(-1) for r in rows])
        if lengths.sum()
        else np.zeros(0, dtype=np.int64)
    )
    if flat.size and (flat.min() < 0 or flat.max() >= n_items):
        raise ValueError(
            f"{name} must hold item indices in [0, {n_items}), got values from "
            f"{flat.min()} to {flat.max()}"
        )
    matrix = sp.csr_matrix(
        (np.ones(flat.size), (np.repeat(np.arange(len(rows)), lengths), flat)),
        shape=(len(rows), n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # an item listed twice counts once
    return matrix


def embed_new_items(
    item_table: np.ndarray,
    related_rows: Sequence[Sequence[int]],
    category_rows: Sequence[Sequence[int]],
) -> NewItemVectors:
    """Vectors for new items: the rescaled mean of related, else same-category, items.

    For new item ``j`` let ``N`` be the distinct indices of ``related_rows[j]``
    if there are any, else those of ``category_rows[j]``. Its vector is
    ``mean(item_table[N])`` rescaled to the norm ``mean(||item_table[n]||)``
    over ``n`` in ``N`` (a zero mean stays zero). With both lists empty the row
    is NaN and its basis ``none``: the caller decides what to do (serving
    refuses the product).

    Args:
        item_table: ``(n_items, dim)`` vectors of the items the model knows
            (row ``i`` is ``item_idx`` ``i``; no padding row).
        related_rows: Per new item, the ``item_idx`` of its related items that
            the model knows (unknown ones already dropped).
        category_rows: Per new item, the ``item_idx`` of the known items whose
            deepest category is the new item's deepest category.

    Returns:
        The vectors, their basis and the number of items averaged.

    Raises:
        ValueError: If the lists differ in length, an index is out of range or
            the table is not 2-D.
    """
    table = np.asarray(item_table, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"item_table must be 2-D, got shape {table.shape}")
    if len(related_rows) != len(category_rows):
        raise ValueError(
            f"related_rows has {len(related_rows)} entries but category_rows has "
            f"{len(category_rows)}: one of each per new item"
        )
    n_items = table.shape[0]
    has_related = np.diff(_membership(related_rows, n_items, "related_rows").indptr) > 0
    has_category = (
        np.diff(_membership(category_rows, n_items, "category_rows").indptr) > 0
    )
    chosen = _membership(
        [
            related if use else same
            for related, same, use in zip(
                related_rows, category_rows, has_related, strict=True
            )
        ],
        n_items,
        "rows",
    )
    counts = np.diff(chosen.indptr).astype(np.float64)
    safe = np.maximum(counts, 1.0)
    means = np.asarray(chosen @ table) / safe[:, None]
    mean_norms = np.asarray(chosen @ np.linalg.norm(table, axis=1)).ravel() / safe
    norms = np.linalg.norm(means, axis=1)
    scale = np.divide(mean_norms, norms, out=np.ones_like(norms), where=norms > 0)
    vectors = means * scale[:, None]
    basis = np.where(has_related, RELATED, np.where(has_category, CATEGORY, NONE))
    vectors[basis == NONE] = np.nan
    return NewItemVectors(
        vectors.astype(np.float32), basis.astype(object), counts.astype(np.int64)
    )
