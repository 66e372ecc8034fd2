"""The item space of a served model: where products added at serving time get scored.

A model whose score is a function of a dot product ``query . item_vector`` can
score a product it was never trained on once the product has a vector (see
:func:`~ncf_recommender.models.new_items.embed_new_items`). An
:class:`ItemSpace` exposes that structure:

* **next-item models** (SASRec, GRU4Rec): the tied table
  :data:`~ncf_recommender.models.layers.ITEM_EMBEDDING` (row ``i + 1`` is item
  ``i``, row 0 padding); the query is the hidden state of the last position
  (:data:`~ncf_recommender.models.layers.LAST_POSITION`) after the user's
  history; the score is the plain dot product (a logit);
* **GMF**: ``sigmoid(h . (p_u * q_i) + b)``; the query is ``p_u * h``, the item
  table ``Q``, the score ``sigmoid(query . q + b)``.

MLP-NCF and NeuMF run a network on every (user, item) pair: no item vector
alone decides a score, so they have no item space.

Building a space probes it: its scores of a few known (user, item) pairs must
equal the served scorer's, else the model is not the architecture assumed and
the space is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ncf_recommender.evaluation import Scorer

#: Users and items of the probe comparing a space with the served scorer.
_PROBE_USERS, _PROBE_ITEMS = 3, 7


class ItemSpace(Protocol):
    """Queries, item vectors and the score between them (see the module docstring)."""

    #: ``(n_items, dim)`` float32 vectors of the items the model knows.
    item_vectors: np.ndarray

    def user_queries(self, users: np.ndarray) -> np.ndarray:
        """``(B, dim)`` queries of known users (their catalogued state)."""
        ...

    def history_queries(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """``(B, dim)`` queries after item histories (models reading histories)."""
        ...

    def scores(self, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """``(B, m)`` scores of ``m`` item vectors, on the served scorer's scale."""
        ...


class GMFItemSpace:
    """GMF: query ``p_u * h``, item table ``Q``, score ``sigmoid(query . q + b)``."""

    def __init__(
        self, user_table: np.ndarray, item_table: np.ndarray, bias: float
    ) -> None:
        """Keep the folded tables.

        Args:
            user_table: ``(n_users, d)`` user vectors times the output weights.
            item_table: ``(n_items, d)`` item vectors.
            bias: Output bias.
        """
        self.user_table = np.asarray(user_table, dtype=np.float32)
        self.item_vectors = np.asarray(item_table, dtype=np.float32)
        self.bias = np.float32(bias)

    def user_queries(self, users: np.ndarray) -> np.ndarray:
        """Rows of the folded user table."""
        return self.user_table[np.asarray(users, dtype=np.int64)]

    def history_queries(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """GMF reads no history."""
        raise NotImplementedError("GMF reads no history")

    def scores(self, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Probabilities, as the GMF scorer gives them."""
        from ncf_recommender.models.scorers import _sigmoid  # noqa: PLC0415

        logits = np.asarray(queries, np.float32) @ np.asarray(vectors, np.float32).T
        return _sigmoid(logits + self.bias)


class SequenceItemSpace:
    """A next-item model: query = last hidden state, score = dot with the tied table."""

    def __init__(self, scorer: Any) -> None:
        """Read the tied table and build the hidden-state model.

        Args:
            scorer: A :class:`~ncf_recommender.models.sequences.SequenceScorer`.

        Raises:
            ValueError: If the model lacks the tied table or the last-position layer.
        """
        import keras  # noqa: PLC0415

        from ncf_recommender.models.layers import (  # noqa: PLC0415
            ITEM_EMBEDDING,
            LAST_POSITION,
        )

        model = scorer.model
        names = {layer.name for layer in model.layers}
        missing = sorted({ITEM_EMBEDDING, LAST_POSITION} - names)
        if missing:
            raise ValueError(f"the model has no layer {missing}")
        layer = model.get_layer(ITEM_EMBEDDING)
        # A content-aware table computes its rows; a plain one stores them.
        table = layer.table() if hasattr(layer, "table") else layer.embeddings
        self.item_vectors = np.asarray(
            keras.ops.convert_to_numpy(table), dtype=np.float32
        )[1:]
        self._hidden = keras.Model(model.inputs, model.get_layer(LAST_POSITION).output)
        self._scorer = scorer

    def _run(self, padded: np.ndarray) -> np.ndarray:
        """Hidden states of padded id rows, batch by batch."""
        from ncf_recommender.models.sequences import (  # noqa: PLC0415
            predict_in_batches,
        )

        return predict_in_batches(
            self._hidden, padded, self._scorer.batch_size, self.item_vectors.shape[1]
        )

    def user_queries(self, users: np.ndarray) -> np.ndarray:
        """Hidden states after each known user's catalogued history."""
        return self._run(self._scorer.padded[np.asarray(users, dtype=np.int64)])

    def history_queries(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Hidden states after arbitrary histories of item indices, oldest first."""
        from ncf_recommender.models.sequences import (  # noqa: PLC0415
            histories_from_lists,
            pad_histories,
        )

        grouped = histories_from_lists(histories, self._scorer.n_items)
        return self._run(pad_histories(grouped, None, self._scorer.max_len))

    def scores(self, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Logits, as the model's output layer gives them."""
        return np.asarray(queries, np.float32) @ np.asarray(vectors, np.float32).T


def check_space(space: ItemSpace, scorer: Scorer, n_users: int, name: str) -> None:
    """Refuse a space whose scores of known pairs differ from the served scorer's.

    Args:
        space: The item space.
        scorer: The served scorer.
        n_users: Users the scorer knows.
        name: Model type (for the message).

    Raises:
        ValueError: If the scores differ (beyond float32 rounding).
    """
    users = np.arange(min(n_users, _PROBE_USERS), dtype=np.int64)
    width = min(int(scorer.n_items), _PROBE_ITEMS)
    if users.size == 0 or width == 0:
        return
    items = np.broadcast_to(np.arange(width), (users.size, width))
    served = np.asarray(scorer.score(users, items), dtype=np.float64)
    mine = np.asarray(
        space.scores(space.user_queries(users), space.item_vectors[:width]),
        dtype=np.float64,
    )
    tolerance = 1e-4 * max(1.0, float(np.abs(served).max()))
    if mine.shape != served.shape or not np.allclose(
        mine, served, rtol=1e-3, atol=tolerance
    ):
        raise ValueError(
            f"the {name} model's scores are not the dot product of a query and an "
            "item vector that its layers hold (a model of another architecture?)"
        )


def gmf_item_space(scorer: Any) -> GMFItemSpace:
    """The item space of a served GMF.

    Args:
        scorer: The GMF's scorer (a ``KerasScorer`` holding the model).

    Returns:
        The space.

    Raises:
        ValueError: If the model is not a plain GMF (one dot-product tower).
    """
    from ncf_recommender.models.ncf_weights import ncf_weights  # noqa: PLC0415

    model = getattr(scorer, "model", None)
    if model is None:
        raise ValueError("the GMF scorer holds no Keras model")
    weights = ncf_weights(model)
    if weights.gmf_user is None or weights.mlp_user is not None:
        raise ValueError("the model is not a plain GMF (it has an MLP tower)")
    return GMFItemSpace(
        weights.gmf_user * weights.gmf_kernel[:, 0],
        weights.gmf_item,
        float(weights.bias[0]),
    )


def sequence_item_space(scorer: Any) -> SequenceItemSpace:
    """The item space of a served next-item model (SASRec, GRU4Rec).

    Args:
        scorer: Its :class:`~ncf_recommender.models.sequences.SequenceScorer`.

    Returns:
        The space.

    Raises:
        ValueError: If the scorer or model lacks what the space reads.
    """
    if not hasattr(scorer, "padded") or not hasattr(scorer, "model"):
        raise ValueError("the scorer is not a SequenceScorer")
    return SequenceItemSpace(scorer)
