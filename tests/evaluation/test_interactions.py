"""Interaction matrices and stored-candidate alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_recommender.evaluation import (
    candidates_matrix,
    interaction_matrix,
    table_indices,
)


def test_interaction_matrix_is_binary_with_duplicates_collapsed() -> None:
    matrix = interaction_matrix(np.array([0, 0, 2]), np.array([1, 1, 3]), 3, 4)
    assert matrix.shape == (3, 4)
    assert matrix.nnz == 2
    assert matrix.toarray().tolist() == [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(ValueError, match="item_idx"):
        interaction_matrix(np.array([0]), np.array([4]), 3, 4)


def test_candidates_matrix_aligns_long_table_to_users() -> None:
    table = pd.DataFrame({"user_idx": [5, 2, 5, 2], "item_idx": [10, 20, 11, 21]})
    grid = candidates_matrix(table, np.array([2, 5, 2]))
    assert grid.tolist() == [[20, 21], [10, 11], [20, 21]]


def test_candidates_matrix_errors() -> None:
    uneven = {"user_idx": np.array([1, 1, 2]), "item_idx": np.array([3, 4, 5])}
    with pytest.raises(ValueError, match="same number of candidates"):
        candidates_matrix(uneven, np.array([1]))
    table = {"user_idx": np.array([1, 2]), "item_idx": np.array([3, 4])}
    with pytest.raises(ValueError, match="user 7 has no stored candidates"):
        candidates_matrix(table, np.array([1, 7]))
    with pytest.raises(ValueError, match="no column 'item_idx'"):
        table_indices({"user_idx": np.array([1])}, "test")


def test_candidates_matrix_accepts_an_aligned_array() -> None:
    grid = np.array([[4, 5], [6, 7]])
    assert candidates_matrix(grid, np.array([3, 1])).tolist() == [[4, 5], [6, 7]]
    with pytest.raises(ValueError, match=r"expected \(3, m\)"):
        candidates_matrix(grid, np.array([3, 1, 2]))
