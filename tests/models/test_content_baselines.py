"""The metadata baselines rank new products from their metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.evaluation.scoring import Scorer
from ncf_recommender.models.content_baselines import (
    CategoryPopularityScorer,
    ContentKNNScorer,
    feature_matrix,
    history_matrix,
)

# items 0-2: cables (category 0), items 3-5: cameras (category 1); item 2 and 5 are new
TRAIN = pd.DataFrame({"user_idx": [0, 0, 1, 1, 1, 2], "item_idx": [0, 1, 3, 4, 3, 0]})
CATEGORY = np.array([0, 0, 0, 1, 1, 1])


def test_category_popularity_follows_the_users_categories_and_ranks_new_items():
    history = history_matrix(TRAIN, n_users=3, n_items=6)
    scorer = CategoryPopularityScorer(history, CATEGORY)
    assert isinstance(scorer, Scorer)
    scores = scorer.score(np.array([0, 1]))
    assert scores.shape == (2, 6)
    # user 0 bought cables: every cable above every camera, the new cable included
    assert scores[0, [0, 1, 2]].min() > scores[0, [3, 4, 5]].max()
    # user 1 bought cameras: the reverse
    assert scores[1, [3, 4, 5]].min() > scores[1, [0, 1, 2]].max()
    # a new item gets its category's mean popularity: between its category's items
    assert scores[0, 1] < scores[0, 2] < scores[0, 0]
    picked = scorer.score(np.array([0]), np.array([[5, 2]]))
    assert picked.tolist() == [[scores[0, 5], scores[0, 2]]]


def test_content_knn_scores_a_new_item_by_its_features():
    features = pd.DataFrame(
        {
            "item_idx": pd.array([0, 1, 2, 3, 4, 5, None], dtype="Int32"),
            "feature_idx": [0, 0, 0, 1, 1, 1, 0],
            "weight": [1.0] * 7,
        }
    )
    matrix = feature_matrix(features, n_items=6, n_features=2)
    assert np.allclose(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel(), 1.0)
    scorer = ContentKNNScorer(history_matrix(TRAIN, 3, 6), matrix)
    scores = scorer.score(np.array([0, 1, 2]))
    assert scores[0, 2] == pytest.approx(1.0) and scores[0, 5] == pytest.approx(0.0)
    assert scores[1, 5] == pytest.approx(1.0) and scores[1, 2] == pytest.approx(0.0)
    assert scorer.score(np.array([2]), np.array([[2, 5]])).tolist() == [[1.0, 0.0]]
