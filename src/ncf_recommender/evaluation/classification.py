"""The seed's binary numbers: accuracy and log-loss on positives and negatives."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ncf_recommender.evaluation.scoring import Scorer, as_index_array

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] for the log-loss (Keras' epsilon).
EPSILON = 1e-7
#: A probability strictly above this is predicted positive (as Keras' BinaryAccuracy).
THRESHOLD = 0.5


def binary_metrics(
    scorer: Scorer,
    users: np.ndarray | Sequence[int],
    positive_items: np.ndarray | Sequence[int],
    negative_items: np.ndarray,
) -> dict[str, float]:
    """Accuracy and log-loss of probability scores on labelled pairs.

    Each user's positive item is labelled 1 and each of its negative items 0.
    A pair is predicted positive when its score is strictly above 0.5.

    Args:
        scorer: A model whose scores are probabilities in [0, 1].
        users: User per row, shape ``(B,)``.
        positive_items: The user's positive (held-out) item, shape ``(B,)``.
        negative_items: Negative item(s), shape ``(B,)`` or ``(B, m)``.

    Returns:
        ``{"accuracy": float, "log_loss": float}`` averaged over all pairs
        (``B * (1 + m)``), probabilities clipped to ``[1e-7, 1 - 1e-7]``.

    Raises:
        ValueError: If shapes disagree or a score lies outside [0, 1].
    """
    users = as_index_array(users, "users")
    positives = as_index_array(positive_items, "positive_items")
    negatives = np.asarray(negative_items)
    if negatives.ndim == 1:
        negatives = negatives[:, None]
    if (
        positives.shape != users.shape
        or negatives.ndim != 2
        or negatives.shape[0] != users.size
    ):
        raise ValueError(
            f"users {users.shape}, positive_items {positives.shape} and negative_items "
            f"{np.shape(negative_items)} must describe the same rows"
        )
    if users.size == 0:
        raise ValueError("cannot compute binary metrics over zero users")
    items = np.concatenate([positives[:, None], negatives.astype(np.int64)], axis=1)
    scores = np.asarray(scorer.score(users, items), dtype=np.float64)
    if scores.shape != items.shape:
        raise ValueError(
            f"scorer returned shape {scores.shape}, expected {items.shape}"
        )
    if np.isnan(scores).any() or scores.min() < 0.0 or scores.max() > 1.0:
        raise ValueError("binary metrics need probability scores in [0, 1]")
    labels = np.zeros(items.shape, dtype=np.float64)
    labels[:, 0] = 1.0
    accuracy = np.mean((scores > THRESHOLD) == (labels == 1.0))
    clipped = np.clip(scores, EPSILON, 1.0 - EPSILON)
    loss = -np.mean(labels * np.log(clipped) + (1.0 - labels) * np.log1p(-clipped))
    return {"accuracy": float(accuracy), "log_loss": float(loss)}
