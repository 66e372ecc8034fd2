"""Scorer adapter for the Keras NCF models (GMF, MLP-NCF, NeuMF).

:class:`KerasScorer` gives any of the three models the evaluation ``Scorer``
interface: ``score(users)`` scores every item for a batch of users and
``score(users, items)`` scores given candidates.

Full ranking multiplies a user batch by every item, so it is the hot path of
validation and evaluation. When the model has the layout of
:mod:`~ncf_recommender.models.gmf`, :mod:`~ncf_recommender.models.mlp` and
:mod:`~ncf_recommender.models.neumf` (read by
:func:`~ncf_recommender.models.ncf_weights.ncf_weights`), the scorer evaluates it
directly from its weights with numpy:

* GMF tower: ``(p_u * h) @ Q.T``, one matrix product per user batch;
* MLP tower: the first Dense layer acts on ``[p_u, q_i]``, so it splits into a
  user part and an item part computed once per user and once per item, and only
  the remaining layers run on every (user, item) pair.

The result equals ``model.predict`` up to float32 rounding (summation order
differs); a probe on a few pairs checks this at construction and falls back to
batched ``model.predict_on_batch`` calls if the model is not one of these
architectures or the probe disagrees.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.models.ncf_weights import ncf_weights

logger = logging.getLogger(__name__)

_PROBE_TOLERANCE = 1e-4
#: Scores per chunk of a dot-product model (GMF): large enough for an efficient
#: matrix product (about 70 users x 60k items).
DOT_CHUNK = 1 << 22


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically stable float32 logistic function.

    ``1 / (1 + e**-x)`` for ``x >= 0`` and ``e**x / (1 + e**x)`` below, the
    same float32 operations as a masked computation of each branch (so the
    same bits), but in whole-array passes without boolean indexing or
    branches.
    """
    logits = np.asarray(logits, dtype=np.float32)
    exp = np.abs(logits)
    np.negative(exp, out=exp)
    np.exp(exp, out=exp)  # e**-|x|: e**-x above 0, e**x below
    # Numerator 1 where x >= 0, else e**x: max(e**-|x|, 1) = 1 and
    # max(e**x, 0) = e**x. Branch-free (np.where on random signs
    # mispredicts a branch per element, 10x the cost of the exp).
    numerator = np.greater_equal(logits, 0).astype(np.float32)
    np.maximum(numerator, exp, out=numerator)
    denominator = np.add(exp, np.float32(1.0), out=exp)
    np.divide(numerator, denominator, out=numerator)
    return numerator


class _FastNCF:
    """Weights of an NCF model laid out for batched scoring with numpy."""

    def __init__(self, model: keras.Model) -> None:
        """Extract the weights of the GMF and/or MLP towers.

        Args:
            model: A GMF, MLP-NCF or NeuMF model built by this package.

        Raises:
            ValueError: If the model does not have the expected layers.
        """
        weights = ncf_weights(model)
        self.bias = np.float32(weights.bias[0])
        self.gmf_user, self.gmf_item = weights.gmf_user, weights.gmf_item
        if weights.gmf_kernel is not None:
            # Fold the output weights into the user side: (p_u * h) . q_i.
            self.gmf_weight = weights.gmf_kernel[:, 0]
        self.mlp_user_part = self.mlp_item_part = None
        if weights.mlp_user is not None:
            dim = weights.mlp_user.shape[1]
            (first_kernel, first_bias), self.hidden = (
                weights.mlp_dense[0],
                weights.mlp_dense[1:],
            )
            self.mlp_user_part = weights.mlp_user @ first_kernel[:dim] + first_bias
            self.mlp_item_part = weights.mlp_item @ first_kernel[dim:]
            self.mlp_weight = weights.mlp_kernel[:, 0]
        user_table = self.gmf_user if self.gmf_user is not None else self.mlp_user_part
        self.n_users = int(user_table.shape[0])

    def scores(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        """Probabilities for users x items.

        Args:
            users: ``(B,)`` user indices.
            items: ``None`` for all items, or ``(B, m)`` item indices.

        Returns:
            ``(B, n_items)`` or ``(B, m)`` float32 probabilities.
        """
        logits = np.float32(self.bias)
        if self.gmf_user is not None:
            weighted = self.gmf_user[users] * self.gmf_weight
            if items is None:
                gmf_logits = weighted @ self.gmf_item.T
            else:
                gmf_logits = np.einsum("bd,bmd->bm", weighted, self.gmf_item[items])
            logits = logits + gmf_logits
        if self.mlp_user_part is not None:
            item_part = (
                self.mlp_item_part if items is None else self.mlp_item_part[items]
            )
            hidden = self.mlp_user_part[users][:, None, :] + item_part
            shape = hidden.shape[:2]
            hidden = hidden.reshape(-1, hidden.shape[-1])
            np.maximum(hidden, 0.0, out=hidden)
            for kernel, bias in self.hidden:
                hidden = hidden @ kernel
                hidden += bias
                np.maximum(hidden, 0.0, out=hidden)
            logits = logits + (hidden @ self.mlp_weight).reshape(shape)
        return _sigmoid(np.asarray(logits, dtype=np.float32))


class KerasScorer:
    """Score users against items with a Keras NCF model.

    The weights are read once at construction: build a new scorer after
    training the model further.

    Attributes:
        model: The wrapped model.
        n_items: Number of items; full-ranking scores have this many columns.
        batch_size: Upper bound on (user, item) pairs scored at once (at least
            one user's full row is always scored together).
        fast: Whether the numpy fast path is used.
        pairwise: Whether scoring runs a network on every (user, item) pair
            (MLP-NCF, NeuMF, unknown models) rather than one dot product per
            user batch (GMF); evaluation may sample users for such models.
    """

    def __init__(
        self, model: keras.Model, n_items: int, batch_size: int = 131_072
    ) -> None:
        """Wrap a model.

        Args:
            model: A model taking ``{"user_idx", "item_idx"}`` int32 vectors and
                returning ``(batch, 1)`` probabilities.
            n_items: Number of items.
            batch_size: Pairs scored per chunk; bounds memory.

        Raises:
            ValueError: If ``n_items`` or ``batch_size`` is not positive.
        """
        if n_items < 1:
            raise ValueError(f"n_items must be positive, got {n_items!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size!r}")
        self.model = model
        self.n_items = int(n_items)
        self.batch_size = int(batch_size)
        self._fast: _FastNCF | None = None
        try:
            self._fast = _FastNCF(model)
        except ValueError as reason:
            logger.info(
                "KerasScorer: generic predict path for %s (%s)", model.name, reason
            )
        if self._fast is not None and not self._probe_agrees():
            logger.warning(
                "KerasScorer: fast path disagrees with model.predict for %s; "
                "using the generic path",
                model.name,
            )
            self._fast = None
        self.fast = self._fast is not None
        # A GMF is a dot product of a user and an item vector; an MLP tower (or
        # the generic path) runs a network on every (user, item) pair.
        self.pairwise = self._fast is None or self._fast.mlp_user_part is not None

    def _probe_agrees(self) -> bool:
        """Compare the fast path with the model on a few (user, item) pairs."""
        users = np.arange(min(self._fast.n_users, 3), dtype=np.int32)
        width = min(self.n_items, 7)
        items = np.broadcast_to(np.arange(width, dtype=np.int32), (users.size, width))
        fast = self._fast.scores(users, items)
        slow = self._predict_pairs(np.repeat(users, items.shape[1]), items.ravel())
        return bool(np.allclose(fast.ravel(), slow, atol=_PROBE_TOLERANCE, rtol=0))

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Run the model on flat (user, item) pairs in chunks of ``batch_size``."""
        out = np.empty(users.size, dtype=np.float32)
        for start in range(0, users.size, self.batch_size):
            stop = start + self.batch_size
            batch = {
                USER_IDX: users[start:stop].astype(np.int32, copy=False),
                ITEM_IDX: items[start:stop].astype(np.int32, copy=False),
            }
            out[start:stop] = keras.ops.convert_to_numpy(
                self.model(batch, training=False)
            ).ravel()
        return out

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Score users against all items or against given candidates.

        Args:
            users: ``(B,)`` user indices.
            items: ``None`` to score every item, or ``(B, m)`` candidate item
                indices per user (a ``(m,)`` vector is shared by all users).

        Returns:
            ``(B, n_items)`` or ``(B, m)`` float32 probabilities.

        Raises:
            ValueError: If the shapes do not fit or an index is out of range.
        """
        users = np.asarray(users)
        if users.ndim != 1:
            raise ValueError(f"users must be 1-D, got shape {users.shape}")
        n_users = self._fast.n_users if self._fast is not None else None
        if users.size and (
            users.min() < 0 or (n_users is not None and users.max() >= n_users)
        ):
            raise ValueError(f"user_idx out of range [0, {n_users})")
        if items is not None:
            items = np.asarray(items)
            if items.ndim == 1:
                items = np.broadcast_to(items, (users.size, items.size))
            if items.ndim != 2 or items.shape[0] != users.size:
                raise ValueError(
                    f"items must be (len(users), m) = ({users.size}, m), got "
                    f"shape {items.shape}"
                )
            if items.size and (items.min() < 0 or items.max() >= self.n_items):
                raise ValueError(f"item_idx out of range [0, {self.n_items})")
        width = self.n_items if items is None else items.shape[1]
        out = np.empty((users.size, width), dtype=np.float32)
        # A dot-product model (GMF) scores a user batch with one matrix product,
        # which is efficient only for many users at once; a tower's per-pair
        # activations are what batch_size bounds.
        pairs = self.batch_size if self.pairwise else max(self.batch_size, DOT_CHUNK)
        step = max(1, pairs // max(width, 1))
        for start in range(0, users.size, step):
            chunk = users[start : start + step]
            chunk_items = None if items is None else items[start : start + step]
            out[start : start + step] = self._score_chunk(chunk, chunk_items)
        return out

    def _score_chunk(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        """Score one chunk of users (see :meth:`score`)."""
        if self._fast is not None:
            return self._fast.scores(users, items)
        if items is None:
            items = np.broadcast_to(np.arange(self.n_items), (users.size, self.n_items))
        flat = self._predict_pairs(np.repeat(users, items.shape[1]), items.ravel())
        return flat.reshape(items.shape)
