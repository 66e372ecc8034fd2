"""Tests of ncf_recommender.evaluation, and a tiny table-driven scorer they share."""

from __future__ import annotations

import numpy as np


class TableScorer:
    """A Scorer whose scores are a fixed ``(n_users, n_items)`` table."""

    def __init__(self, table: np.ndarray, outputs_probabilities: bool = True) -> None:
        self.table = np.asarray(table, dtype=np.float64)
        self.n_items = self.table.shape[1]
        self.outputs_probabilities = outputs_probabilities
        self.calls = 0

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self.calls += 1
        rows = self.table[np.asarray(users)]
        if items is None:
            return rows.copy()
        return np.take_along_axis(rows, np.asarray(items), axis=1)
