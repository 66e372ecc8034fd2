"""Baselines that rank items by their metadata: they can rank a new product.

Both follow the :class:`~ncf_recommender.evaluation.scoring.Scorer` protocol, so
the same full-ranking evaluation serves them and the collaborative models.

- :class:`CategoryPopularityScorer`: how much of the user's history lies in the
  item's category, then how popular that category is, then the item's own
  popularity. A new item has no popularity of its own: it is given the mean
  popularity of the items of its category (a prior, not a zero that would put
  it behind every item of its category).
- :class:`ContentKNNScorer`: cosine similarity between the item's feature vector
  and the user's profile (the mean of the feature vectors of the items in their
  history): item-to-history similarity, the classic content k-NN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ncf_recommender.constants import ITEM_IDX, USER_IDX

#: Weights that order the three keys of the category popularity score
#: lexicographically (user's category share ≫ category share ≫ item share).
_USER_WEIGHT, _CATEGORY_WEIGHT = 1e6, 1e3


def feature_matrix(
    item_features: pd.DataFrame,
    n_items: int,
    n_features: int,
    drop: np.ndarray | None = None,
) -> sp.csr_matrix:
    """Item features of the modelled items as a row-normalised sparse matrix.

    Args:
        item_features: Long rows ``item_idx`` (null for items without
            interactions, which are skipped), ``feature_idx``, ``weight``.
        n_items: Catalogue size.
        n_features: Vocabulary size.
        drop: Optional boolean mask of rows to leave out (see :func:`own_id_rows`).

    Returns:
        ``(n_items, n_features)`` CSR with unit-norm rows (an item without
        features keeps an empty row).
    """
    keep = item_features[ITEM_IDX].notna().to_numpy().copy()
    if drop is not None:
        keep &= ~np.asarray(drop, dtype=bool)
    rows = item_features[keep]
    matrix = sp.csr_matrix(
        (
            rows["weight"].to_numpy(dtype=np.float32),
            (
                rows[ITEM_IDX].to_numpy(dtype=np.int64),
                rows["feature_idx"].to_numpy(dtype=np.int64),
            ),
        ),
        shape=(n_items, n_features),
    )
    matrix.sum_duplicates()
    return normalize(matrix, norm="l2", axis=1, copy=False).astype(np.float32)


def own_id_rows(item_features: pd.DataFrame, vocabulary: pd.DataFrame) -> np.ndarray:
    """Which feature rows are an item's own ``related=<its id>`` feature.

    That feature links an item to the items listing it (content k-NN needs it),
    but inside a learned content tower it is a second id embedding: it would
    let the tower memorise warm items and leave new ones behind.

    Args:
        item_features: Long rows with ``item_id`` and ``feature_idx``.
        vocabulary: ``feature_idx`` ↔ ``feature``.

    Returns:
        A boolean mask over the rows of ``item_features``.
    """
    names = vocabulary.set_index("feature_idx")["feature"]
    features = item_features["feature_idx"].map(names).to_numpy(dtype=object)
    own = ("related=" + item_features["item_id"].astype(str)).to_numpy(dtype=object)
    return features == own


def history_matrix(train: pd.DataFrame, n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary ``(n_users, n_items)`` matrix of the training interactions."""
    ones = np.ones(len(train), dtype=np.float32)
    matrix = sp.csr_matrix(
        (ones, (train[USER_IDX].to_numpy(), train[ITEM_IDX].to_numpy())),
        shape=(n_users, n_items),
    )
    matrix.data[:] = 1.0  # repeated interactions count once
    return matrix


def _chosen(scores: np.ndarray, items: np.ndarray | None) -> np.ndarray:
    """Whole score rows, or the ``(B, m)`` asked-for items of each row."""
    if items is None:
        return scores
    return np.take_along_axis(scores, np.asarray(items, dtype=np.int64), axis=1)


class CategoryPopularityScorer:
    """Popularity within the item's category, personalised by the user's history.

    Attributes:
        n_items: Catalogue size.
    """

    outputs_probabilities = False

    def __init__(self, history: sp.csr_matrix, item_category: np.ndarray) -> None:
        """Count interactions per user and category, per category and per item.

        Args:
            history: ``(n_users, n_items)`` training interactions.
            item_category: ``(n_items,)`` category index of each item (-1: none).
        """
        self.n_items = int(history.shape[1])
        category = np.asarray(item_category, dtype=np.int64)
        known = category >= 0
        n_categories = int(category.max()) + 1 if known.any() else 1
        column = np.where(known, category, 0)
        to_category = sp.csr_matrix(
            (known.astype(np.float32), (np.arange(self.n_items), column)),
            shape=(self.n_items, n_categories),
        )
        per_user = (history @ to_category).tocsr()
        totals = np.maximum(np.asarray(history.sum(axis=1)).ravel(), 1.0)
        self._user_share = sp.diags(1.0 / totals) @ per_user
        item_counts = np.asarray(history.sum(axis=0)).ravel()
        category_counts = np.asarray(to_category.T @ item_counts).ravel()
        seen = (item_counts > 0).astype(np.float64)
        seen_per_category = np.asarray(to_category.T @ seen).ravel()
        prior = category_counts / np.maximum(seen_per_category, 1.0)
        item_counts = np.where((item_counts == 0) & known, prior[column], item_counts)
        self._category = column
        self._known = known
        category_share = category_counts[column] / max(category_counts.sum(), 1.0)
        self._base = _CATEGORY_WEIGHT * category_share * known + item_counts / max(
            item_counts.max(), 1.0
        )

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Scores (see the ``Scorer`` protocol).

        Returns:
            ``(B, n_items)`` or ``(B, m)`` float64 scores.
        """
        users = np.asarray(users, dtype=np.int64)
        share = self._user_share[users].toarray()[:, self._category] * self._known
        return _chosen(_USER_WEIGHT * share + self._base, items)


class ContentKNNScorer:
    """Cosine similarity of an item's features to the user's history profile.

    Attributes:
        n_items: Catalogue size.
    """

    outputs_probabilities = False

    def __init__(self, history: sp.csr_matrix, features: sp.csr_matrix) -> None:
        """Build the user profiles.

        Args:
            history: ``(n_users, n_items)`` training interactions.
            features: ``(n_items, n_features)`` unit-norm item features.
        """
        self.n_items = int(features.shape[0])
        self._features = features.tocsr().astype(np.float32)
        self._profiles = normalize(history @ features, norm="l2", axis=1).astype(
            np.float32
        )

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Scores (see the ``Scorer`` protocol).

        Returns:
            ``(B, n_items)`` or ``(B, m)`` float32 cosine similarities.
        """
        users = np.asarray(users, dtype=np.int64)
        # sparse items x dense profiles: the product is dense anyway
        profiles = self._profiles[users].toarray()
        return _chosen(np.ascontiguousarray((self._features @ profiles.T).T), items)
