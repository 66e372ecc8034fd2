"""The seed's binary accuracy and log-loss on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ncf_recommender.evaluation import binary_metrics
from tests.evaluation import TableScorer


def test_accuracy_and_log_loss_by_hand() -> None:
    # User 0: positive item 0 at 0.9 (right), negative item 1 at 0.2 (right).
    # User 1: positive item 0 at 0.4 (wrong), negative item 1 at 0.6 (wrong).
    scorer = TableScorer(np.array([[0.9, 0.2], [0.4, 0.6]]))
    result = binary_metrics(scorer, [0, 1], [0, 0], [1, 1])
    assert result["accuracy"] == pytest.approx(0.5)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    assert result["log_loss"] == pytest.approx(expected)


def test_half_is_predicted_negative_and_extremes_are_clipped() -> None:
    scorer = TableScorer(np.array([[0.5, 1.0, 0.0]]))
    result = binary_metrics(scorer, [0], [0], np.array([[1, 2]]))
    # 0.5 on the positive counts as a miss; 1.0 on a negative is wrong, 0.0 right.
    assert result["accuracy"] == pytest.approx(1 / 3)
    expected = -(math.log(0.5) + math.log(1e-7) + math.log1p(-1e-7)) / 3
    assert result["log_loss"] == pytest.approx(expected, rel=1e-6)


def test_non_probability_scores_raise() -> None:
    scorer = TableScorer(np.array([[3.0, 0.2]]))
    with pytest.raises(ValueError, match=r"probability scores in \[0, 1\]"):
        binary_metrics(scorer, [0], [0], [1])
    with pytest.raises(ValueError, match="same rows"):
        binary_metrics(scorer, [0], [0, 1], [1])
