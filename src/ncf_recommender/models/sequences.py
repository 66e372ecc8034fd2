"""User histories, padded sequences and a scorer for next-item models.

The sequence models (:mod:`ncf_recommender.models.sasrec`,
:mod:`ncf_recommender.models.gru4rec`) read a user's most recent items as a
left-padded id array. Inside a model, item ``item_idx`` is id ``item_idx + 1``
and id ``0`` is padding. This module turns interaction frames into per-user
histories in the split's order, pads them, cuts them into training windows,
and wraps a trained model as a ``Scorer`` (``score(users,
items)`` plus ``n_items``) for the shared evaluation and serving code.

Everything here is numpy: no Keras import, no Python loop over users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf_recommender.constants import ITEM_IDX, TIMESTAMP, USER_IDX

#: Name of the tied item table of a sequence model (here, not in ``models.layers``,
#: so that this module does not import Keras; ``models.layers`` re-exports it).
ITEM_EMBEDDING = "item_embedding"
#: Id of the padding position inside a sequence model's input.
PAD_ID = 0


@dataclass(frozen=True)
class UserHistories:
    """Every user's items in time order, stored like a CSR matrix row set.

    Attributes:
        indptr: ``(n_users + 1,)`` int64 offsets; user ``u``'s items are
            ``items[indptr[u]:indptr[u + 1]]``, oldest first.
        items: ``(n_interactions,)`` int32 item indices.
    """

    indptr: np.ndarray
    items: np.ndarray

    @property
    def n_users(self) -> int:
        """Number of users (rows), including users with an empty history."""
        return int(self.indptr.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """History length of every user, ``(n_users,)`` int64."""
        return np.diff(self.indptr)

    def user_items(self, user: int) -> np.ndarray:
        """One user's items, oldest first.

        Args:
            user: A user index.

        Returns:
            The user's item indices.
        """
        return self.items[self.indptr[user] : self.indptr[user + 1]]


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise a ``KeyError`` naming every missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"{name} is missing column(s) {missing}; has {list(frame.columns)}"
        )


def _as_index_array(values: Any, name: str, upper: int | None = None) -> np.ndarray:
    """Convert to a 1-D int64 array of indices in ``[0, upper)``.

    Args:
        values: Array-like of integers.
        name: Name used in error messages.
        upper: Exclusive upper bound, or ``None`` for no bound.

    Returns:
        The values as int64.

    Raises:
        ValueError: If the values are not integers or fall outside the range.
    """
    array = np.asarray(values)
    if array.size == 0:
        return array.astype(np.int64).reshape(-1)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    array = array.astype(np.int64).reshape(-1)
    low, high = int(array.min()), int(array.max())
    if low < 0 or (upper is not None and high >= upper):
        bound = f"[0, {upper})" if upper is not None else ">= 0"
        raise ValueError(f"{name} must lie in {bound}, got values from {low} to {high}")
    return array


def histories_from_arrays(
    users: np.ndarray,
    items: np.ndarray,
    n_users: int,
    order_key: np.ndarray | None = None,
) -> UserHistories:
    """Group items by user, keeping a stable order.

    Args:
        users: User index per interaction.
        items: Item index per interaction.
        n_users: Number of users (rows of the result).
        order_key: Optional key sorted ascending within each user (e.g. the
            timestamp); ties keep the input order. ``None`` keeps input order.

    Returns:
        The grouped histories.

    Raises:
        ValueError: If lengths differ or an index is out of range.
    """
    users = _as_index_array(users, USER_IDX, n_users)
    items = _as_index_array(items, ITEM_IDX)
    if users.shape != items.shape:
        raise ValueError(
            f"{USER_IDX} and {ITEM_IDX} differ in length: {users.size} vs {items.size}"
        )
    position = np.arange(users.size)
    if order_key is None:
        order = np.lexsort((position, users))
    else:
        key = np.asarray(order_key)
        if key.shape != users.shape:
            raise ValueError(f"order key has length {key.size}, expected {users.size}")
        order = np.lexsort((position, key, users))
    counts = np.bincount(users, minlength=n_users)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return UserHistories(indptr=indptr, items=items[order].astype(np.int32))


def build_histories(interactions: pd.DataFrame, n_users: int) -> UserHistories:
    """Per-user item histories ordered exactly as the leave-last-two split orders them.

    Within a user, rows are stably sorted by timestamp, so rows with equal
    timestamps keep the frame's row order (the split's tie rule).

    Args:
        interactions: Frame with ``user_idx``, ``item_idx`` and ``timestamp``
            (e.g. ``train_interactions``); not modified.
        n_users: Total number of users; users without rows get an empty history.

    Returns:
        The histories.

    Raises:
        KeyError: If a column is missing.
        ValueError: If an index is out of range or not an integer.
    """
    _require_columns(interactions, (USER_IDX, ITEM_IDX, TIMESTAMP), "interactions")
    return histories_from_arrays(
        interactions[USER_IDX].to_numpy(),
        interactions[ITEM_IDX].to_numpy(),
        n_users,
        order_key=interactions[TIMESTAMP].to_numpy(),
    )


def histories_from_lists(
    histories: Sequence[Sequence[int]], n_items: int
) -> UserHistories:
    """Histories from plain lists of item indices (e.g. a serving request).

    Args:
        histories: One list of item indices per row, oldest first.
        n_items: Catalogue size; every index must lie in ``[0, n_items)``.

    Returns:
        The histories, row ``i`` being ``histories[i]``.

    Raises:
        ValueError: If an item index is out of range or not an integer.
    """
    lengths = np.fromiter(
        (len(h) for h in histories), dtype=np.int64, count=len(histories)
    )
    flat = (
        np.concatenate([np.asarray(h, dtype=np.int64).reshape(-1) for h in histories])
        if lengths.sum()
        else np.zeros(0, dtype=np.int64)
    )
    flat = _as_index_array(flat, "history item index", n_items)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return UserHistories(indptr=indptr, items=flat.astype(np.int32))


def extend_histories(
    histories: UserHistories, users: np.ndarray, items: np.ndarray
) -> UserHistories:
    """Append one item at the end of some users' histories.

    Used at test time: the validation item happened after every train item
    and before the test item, so the model reads train + validation.

    Args:
        histories: Histories to extend; not modified.
        users: Users receiving an item (each at most once).
        items: The item appended for each user.

    Returns:
        New histories.

    Raises:
        ValueError: If lengths differ, a user repeats, or an index is out of range.
    """
    users = _as_index_array(users, USER_IDX, histories.n_users)
    items = _as_index_array(items, ITEM_IDX)
    if users.shape != items.shape:
        raise ValueError(
            f"{USER_IDX} and {ITEM_IDX} differ in length: {users.size} vs {items.size}"
        )
    if np.unique(users).size != users.size:
        raise ValueError(
            f"{USER_IDX} repeats; extend_histories appends one item per user"
        )
    old_users = np.repeat(np.arange(histories.n_users), histories.lengths)
    return histories_from_arrays(
        np.concatenate((old_users, users)),
        np.concatenate((histories.items.astype(np.int64), items)),
        histories.n_users,
    )


def _pad_slices(
    values: np.ndarray, starts: np.ndarray, ends: np.ndarray, max_len: int, shift: int
) -> np.ndarray:
    """Right-align slices ``values[start:end]`` in a zero-filled ``(n, max_len)`` array.

    Slices longer than ``max_len`` keep their last ``max_len`` values; every
    kept value is stored plus ``shift``.
    """
    lengths = np.minimum(ends - starts, max_len)
    out = np.zeros((starts.size, max_len), dtype=np.int32)
    total = int(lengths.sum())
    if total == 0:
        return out
    rows = np.repeat(np.arange(starts.size), lengths)
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    source = np.repeat(ends - lengths, lengths) + within
    columns = max_len - np.repeat(lengths, lengths) + within
    out[rows, columns] = values[source] + shift
    return out


def pad_histories(
    histories: UserHistories, users: np.ndarray | None, max_len: int
) -> np.ndarray:
    """Model input: each user's last ``max_len`` items as ids, left-padded with 0.

    Args:
        histories: Per-user histories.
        users: Users (rows) to pad, or ``None`` for all.
        max_len: Sequence length of the model.

    Returns:
        ``(len(users), max_len)`` int32 array of ``item_idx + 1``, 0 = padding.

    Raises:
        ValueError: If ``max_len`` is not positive or a user is out of range.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    rows = (
        np.arange(histories.n_users)
        if users is None
        else _as_index_array(users, USER_IDX, histories.n_users)
    )
    return _pad_slices(
        histories.items,
        histories.indptr[rows],
        histories.indptr[rows + 1],
        max_len,
        shift=1,
    )


@dataclass(frozen=True)
class TrainingWindows:
    """Next-item training examples cut from histories.

    Attributes:
        inputs: ``(n_windows, max_len)`` int32 ids (``item_idx + 1``, 0 = padding).
        targets: ``(n_windows, max_len)`` int32 item index that follows each
            input position (0 where there is none: see ``weights``).
        weights: ``(n_windows, max_len)`` float32, 1 where a target exists.
    """

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray


def training_windows(
    histories: UserHistories, max_len: int, stride: int | None = None
) -> TrainingWindows:
    """Cut every history into windows of ``max_len`` next-item predictions.

    For a history ``h`` of length ``L`` every ``h[p]`` with ``p >= 1`` is a
    target, predicted from ``h[:p]``. Windows end at the latest item and
    step back by ``stride`` items, so long histories are used whole (not just
    their last ``max_len`` items) and, with the default ``stride = max_len``,
    each target appears exactly once.

    Args:
        histories: Training histories (train interactions only).
        max_len: Sequence length of the model.
        stride: Step between window ends; ``None`` means ``max_len``.

    Returns:
        The windows, grouped by user, most recent window first.

    Raises:
        ValueError: If ``max_len`` or ``stride`` is not positive.
    """
    stride = max_len if stride is None else stride
    if max_len < 1 or stride < 1:
        raise ValueError(
            f"max_len and stride must be positive, got {max_len} and {stride}"
        )
    lengths = histories.lengths
    targets_per_user = np.maximum(lengths - 1, 0)
    n_windows = -(-targets_per_user // stride)  # ceil
    user = np.repeat(np.arange(histories.n_users), n_windows)
    step = np.arange(int(n_windows.sum())) - np.repeat(
        np.cumsum(n_windows) - n_windows, n_windows
    )
    end = lengths[user] - step * stride  # exclusive end of the targets, >= 2
    start = histories.indptr[user]
    target_start = start + np.maximum(1, end - max_len)
    inputs = _pad_slices(
        histories.items, target_start - 1, start + end - 1, max_len, shift=1
    )
    targets = _pad_slices(histories.items, target_start, start + end, max_len, shift=0)
    weights = (inputs != PAD_ID).astype(np.float32)
    return TrainingWindows(inputs=inputs, targets=targets, weights=weights)


def predict_in_batches(
    model: Any, rows: np.ndarray, batch_size: int, width: int
) -> np.ndarray:
    """``model`` run on ``rows`` (padded id rows) ``batch_size`` rows at a time.

    Args:
        model: A Keras model whose output is ``(batch, width)``.
        rows: ``(n, max_len)`` inputs.
        batch_size: Rows per ``predict_on_batch`` call.
        width: Output columns (the shape of an empty answer).

    Returns:
        ``(n, width)`` float32 outputs.
    """
    if rows.shape[0] == 0:
        return np.zeros((0, width), dtype=np.float32)
    parts = [
        np.asarray(model.predict_on_batch(rows[i : i + batch_size]))
        for i in range(0, rows.shape[0], batch_size)
    ]
    return np.concatenate(parts).astype(np.float32, copy=False)


class SequenceScorer:
    """Scores items for users from their histories with a next-item model.

    Implements the project's ``Scorer`` protocol: ``score(users, items=None)``
    and ``n_items``. ``score_history`` scores arbitrary supplied histories,
    e.g. for a user the model has never seen (cold start).

    Args:
        model: A model built by ``build_sasrec`` / ``build_gru4rec`` (or
            reloaded from ``.keras``): input ``(B, max_len)`` ids, output
            ``(B, n_items)`` scores.
        histories: ``UserHistories`` indexed by ``user_idx``, or an already
            padded ``(n_users, max_len)`` id array.
        batch_size: Users per model call.

    Raises:
        ValueError: If the padded array does not match the model's input length.
    """

    #: Scores are logits, not probabilities (no binary accuracy or log-loss).
    outputs_probabilities = False
    #: ``score(users, items)`` gathers from ``score(users)``: evaluation reads
    #: the sampled ranking from the full-ranking rows.
    candidate_scores_from_rows = True

    def __init__(
        self, model: Any, histories: UserHistories | np.ndarray, batch_size: int = 1024
    ) -> None:
        self.model = model
        self.max_len = int(model.inputs[0].shape[1])
        self.n_items = int(model.outputs[0].shape[-1])
        self.batch_size = int(batch_size)
        if isinstance(histories, UserHistories):
            padded = pad_histories(histories, None, self.max_len)
        else:
            padded = np.asarray(histories, dtype=np.int32)
            if padded.ndim != 2 or padded.shape[1] != self.max_len:
                raise ValueError(
                    f"padded histories must have shape (n_users, {self.max_len}), got {padded.shape}"
                )
        self.padded = padded
        self._items = next(
            (
                layer
                for layer in getattr(model, "layers", ())
                if layer.name == ITEM_EMBEDDING
            ),
            None,
        )

    @property
    def n_users(self) -> int:
        """Number of users the scorer holds histories for."""
        return int(self.padded.shape[0])

    def _score_padded(self, padded: np.ndarray) -> np.ndarray:
        """Run the model batch by batch on padded id rows.

        A content-aware item table recalibrates its new items' scores
        (:meth:`~ncf_recommender.models.content.ContentItemEmbedding.rescore_new_items`).
        """
        scores = predict_in_batches(self.model, padded, self.batch_size, self.n_items)
        rescore = getattr(self._items, "rescore_new_items", None)
        return scores if rescore is None else rescore(scores, padded)

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Scores of items for users (higher = more likely next).

        Args:
            users: ``(B,)`` user indices.
            items: ``None`` for every item, or ``(B, m)`` item indices per user.

        Returns:
            ``(B, n_items)`` or ``(B, m)`` float32 scores.

        Raises:
            ValueError: If an index is out of range or ``items`` has the wrong shape.
        """
        rows = _as_index_array(users, USER_IDX, self.n_users)
        scores = self._score_padded(self.padded[rows])
        if items is None:
            return scores
        item_array = np.asarray(items)
        if item_array.ndim != 2 or item_array.shape[0] != rows.size:
            raise ValueError(
                f"items must have shape ({rows.size}, m), got {item_array.shape}"
            )
        cols = _as_index_array(item_array, ITEM_IDX, self.n_items).reshape(
            item_array.shape
        )
        return np.take_along_axis(scores, cols, axis=1)

    def score_history(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """Scores every item after arbitrary histories (users need not be known).

        Args:
            histories: One list of item indices per row, oldest first; only the
                last ``max_len`` are read. An empty list gives the model's
                no-context scores.

        Returns:
            ``(len(histories), n_items)`` float32 scores.

        Raises:
            ValueError: If an item index is out of range.
        """
        grouped = histories_from_lists(histories, self.n_items)
        return self._score_padded(pad_histories(grouped, None, self.max_len))


def load_sequence_model(path: str | Path) -> Any:
    """Load a saved SASRec/GRU4Rec ``.keras`` file in safe mode.

    Imports the modules that register the custom layers first.

    Args:
        path: The ``.keras`` file.

    Returns:
        The Keras model.
    """
    import keras  # noqa: PLC0415

    import ncf_recommender.models.layers  # noqa: F401, PLC0415 (registers the layers)

    return keras.saving.load_model(path, safe_mode=True)
