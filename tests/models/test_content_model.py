"""The content-aware item table: content-only cold rows, id dropout, save and reload."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ncf_recommender.evaluation.metrics import expected_ndcg
from ncf_recommender.models.content import (
    CALIBRATION_GRID,
    ContentItemEmbedding,
    build_content_sasrec,
    calibrate_new_items,
    grid_ndcg,
    item_content,
)
from ncf_recommender.models.layers import ITEM_EMBEDDING

FEATURES = sp.csr_matrix(
    np.array(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]],
        dtype=np.float32,
    )
)
WARM = np.array([True, True, False, True])  # item 2 is new


def _model(id_dropout: float = 0.5) -> keras.Model:
    keras.utils.set_random_seed(3)
    return build_content_sasrec(FEATURES, WARM, max_len=4, dim=8, id_dropout=id_dropout)


def test_a_new_item_is_its_content_and_a_warm_item_adds_its_id():
    layer = _model().get_layer(ITEM_EMBEDDING)
    assert isinstance(layer, ContentItemEmbedding)
    table = np.asarray(layer.table(training=False))
    ids = np.asarray(layer.embeddings)
    content = FEATURES.toarray() @ np.asarray(layer.feature_embeddings)
    np.testing.assert_allclose(table[0], 0.0)  # padding
    np.testing.assert_allclose(table[3], content[2], rtol=1e-5, atol=1e-6)  # new item
    np.testing.assert_allclose(table[1], ids[1] + content[0], rtol=1e-5, atol=1e-6)


def test_training_drops_ids_and_hides_new_items():
    layer = _model(id_dropout=0.5).get_layer(ITEM_EMBEDDING)
    inference = np.asarray(layer.table(training=False))
    dropped = kept = 0
    for _ in range(20):
        table = np.asarray(layer.table(training=True))
        np.testing.assert_allclose(table[3], 0.0)  # the new item does not exist yet
        for row in (1, 2, 4):
            same = np.allclose(table[row], inference[row], atol=1e-6)
            kept += same
            dropped += not same
    assert dropped > 10 and kept > 10  # about half of 60


def test_save_and_reload_keep_the_content(tmp_path):
    model = _model()
    path = tmp_path / "content_sasrec.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    history = np.array([[0, 1, 4, 3]], dtype=np.int32)
    np.testing.assert_allclose(
        np.asarray(again(history)), np.asarray(model(history)), rtol=1e-5, atol=1e-6
    )
    layer = again.get_layer(ITEM_EMBEDDING)
    assert np.asarray(layer.warm).tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]


# --- item content, linked related items, new-item scores -------------------------

VOCABULARY = pd.DataFrame(
    {
        "feature_idx": [0, 1, 2, 3, 4],
        "feature": ["brand=A", "title=rare", "related=I0", "related=I1", "related=I2"],
        "kind": ["brand", "title", "related", "related", "related"],
        "items": [3, 1, 2, 3, 1],
    }
)
ROWS = [  # (item_id, item_idx, feature_idx)
    ("I0", 0, 0), ("I0", 0, 2), ("I0", 0, 3),
    ("I1", 1, 0), ("I1", 1, 1), ("I1", 1, 3), ("I1", 1, 2),
    ("I2", 2, 0), ("I2", 2, 4), ("I2", 2, 2), ("I2", 2, 3),
]  # fmt: skip
ITEM_FEATURES = pd.DataFrame(
    ROWS, columns=["item_id", "item_idx", "feature_idx"]
).assign(weight=1.0)


def _small_table() -> ContentItemEmbedding:
    """The item table of a tiny content SASRec over the items above (I2 is new)."""
    content = item_content(ITEM_FEATURES, VOCABULARY, 3, min_feature_items=2)
    keras.utils.set_random_seed(0)
    model = build_content_sasrec(
        content, np.array([True, True, False]), max_len=4, dim=8
    )
    return model.get_layer(ITEM_EMBEDDING)


def test_item_content_links_related_items_and_averages_each_kind():
    content = item_content(ITEM_FEATURES, VOCABULARY, 3, min_feature_items=2)
    # related=<id> stands for that item (id + 1); the others are features of their own
    assert content.feature_items.tolist() == [0, 0, 1, 2, 3]
    assert content.kinds == ("brand", "related", "title")
    tower = content.features.toarray()
    # own related=<id> dropped; title=rare (1 item < 2) dropped; mean per kind
    np.testing.assert_allclose(tower[0], [1, 0, 0, 1, 0])
    np.testing.assert_allclose(tower[1], [1, 0, 1, 0, 0])
    np.testing.assert_allclose(tower[2], [1, 0, 0.5, 0.5, 0])
    # the k-NN vectors keep every feature, own id included, with unit norm
    knn = content.knn.toarray()
    np.testing.assert_allclose(np.linalg.norm(knn, axis=1), 1.0, rtol=1e-6)
    assert (knn[1] > 0).tolist() == [True, True, True, True, False]


def test_a_new_items_row_is_its_related_items_ids_and_its_other_features():
    layer = _small_table()
    layer.kind_scale.assign(np.array([2.0, 3.0, 1.0], np.float32))
    ids = np.asarray(layer.embeddings)
    brand = np.asarray(layer.feature_embeddings)[0]
    table = np.asarray(layer.table(training=False))
    # I2 is new: no id of its own, brand A (scale 2), mean of I0's and I1's ids (scale 3)
    expected = 2.0 * brand + 3.0 * 0.5 * (ids[1] + ids[2])
    np.testing.assert_allclose(table[3], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        table[1], ids[1] + 2.0 * brand + 3.0 * ids[2], rtol=1e-5, atol=1e-6
    )


def test_new_items_are_rescored_in_each_users_scale():
    layer = _small_table()
    padded = np.array([[0, 0, 0, 1], [0, 0, 1, 2]], dtype=np.int32)
    scores = np.array([[1.0, 3.0, 0.0], [2.0, 6.0, 0.0]], dtype=np.float32)
    # uncalibrated: the content row's score stands
    assert layer.rescore_new_items(scores, padded) is scores
    similarity = layer.knn_similarity(padded)
    out = layer.rescore_new_items(scores, padded, (0.0, 1.0, 0.5))
    for row in range(2):
        warm_scores, warm_sim = scores[row, :2], similarity[row, :2]
        z = (similarity[row, 2] - warm_sim.mean()) / (warm_sim.std() + 1e-9)
        expected = warm_scores.mean() + (warm_scores.std() + 1e-9) * (z - 0.5)
        assert out[row, 2] == pytest.approx(expected, rel=1e-5)
        np.testing.assert_array_equal(out[row, :2], scores[row, :2])  # warm untouched


def test_calibration_chooses_on_pseudo_new_items_and_restores_the_model():
    rng = np.random.default_rng(0)
    n_items = 40
    rows = [(f"I{i}", i, i % 4) for i in range(n_items)]  # four brands
    rows += [(f"I{i}", i, 4 + (i + 1) % n_items) for i in range(n_items)]  # next item
    features = pd.DataFrame(
        rows, columns=["item_id", "item_idx", "feature_idx"]
    ).assign(weight=1.0)
    vocabulary = pd.DataFrame(
        {
            "feature_idx": range(4 + n_items),
            "feature": [f"brand={b}" for b in range(4)]
            + [f"related=I{i}" for i in range(n_items)],
            "kind": ["brand"] * 4 + ["related"] * n_items,
            "items": [10] * 4 + [1] * n_items,
        }
    )
    content = item_content(features, vocabulary, n_items)
    warm = np.ones(n_items, dtype=bool)
    warm[-2:] = False
    keras.utils.set_random_seed(1)
    model = build_content_sasrec(content, warm, max_len=4, dim=8)
    padded = rng.integers(1, n_items - 1, size=(60, 4)).astype(np.int32)
    targets = (padded[:, -1] % (n_items - 2)).astype(np.int64)  # the next item
    excluded = sp.csr_matrix((60, n_items))
    summary = calibrate_new_items(model, padded, targets, excluded, share=0.25, seed=0)
    layer = model.get_layer(ITEM_EMBEDDING)
    assert tuple(summary["weights"]) in CALIBRATION_GRID
    np.testing.assert_allclose(np.asarray(layer.new_item_weights), summary["weights"])
    assert np.asarray(layer.warm).tolist() == [0.0, *warm.astype(float)]  # restored
    assert summary["pseudo_new_items"] == 10
    assert summary["draws"] == 3
    assert summary["warm_share"] >= 1 - summary["warm_tolerance"]


def test_the_grid_ranks_as_the_rescored_scores_do():
    layer = _small_table()
    rng = np.random.default_rng(3)
    padded = np.array(
        [[0, 0, 0, 1], [0, 0, 1, 2], [0, 0, 0, 2], [0, 0, 2, 1]], np.int32
    )
    scores = rng.normal(size=(4, 3)).astype(np.float32)
    targets = np.array([2, 0, 2, 1])
    excluded = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0]]))
    grid = [(0.0, 0.5, 0.0), (0.0, 1.0, 2.0), (0.0, 3.0, 8.0)]
    fast = grid_ndcg(layer, scores, padded, targets, excluded, grid=grid)
    for k, weights in enumerate(grid):
        rescored = layer.rescore_new_items(scores, padded, weights).astype(np.float64)
        rescored[excluded.toarray() > 0] = -np.inf
        target = rescored[np.arange(4), targets][:, None]
        g = (rescored > target).sum(axis=1)
        t = (rescored == target).sum(axis=1) - 1
        np.testing.assert_allclose(fast[k], expected_ndcg(g, t, 10))
    with pytest.raises(ValueError, match="a = 0"):
        grid_ndcg(layer, scores, padded, targets, excluded, grid=[(1.0, 0.0, 0.0)])


def test_looking_ids_up_reads_the_same_rows_as_the_whole_table():
    layer = _small_table()
    layer.kind_scale.assign(np.array([2.0, 3.0, 0.5], np.float32))
    ids = np.array([[0, 3, 1], [2, 2, 0]], np.int32)
    table = np.asarray(layer.table(training=False))
    np.testing.assert_allclose(
        np.asarray(layer.rows(ids)), table[ids], rtol=1e-5, atol=1e-6
    )


def test_a_large_catalogue_standardises_against_a_fixed_sample_of_known_items(
    monkeypatch,
):
    layer = _small_table()
    padded = np.array([[0, 0, 0, 1], [0, 0, 1, 2]], np.int32)
    similarity = layer.knn_similarity(padded)
    every = layer.standard_knn(padded)
    reference = similarity[:, :2]
    expected = (similarity[:, 2:] - reference.mean(1, keepdims=True)) / (
        reference.std(1, keepdims=True) + 1e-9
    )
    np.testing.assert_allclose(every, expected, rtol=1e-6)
    monkeypatch.setattr("ncf_recommender.models.content.KNN_REFERENCE_ITEMS", 1)
    sampled = layer.standard_knn(padded)
    assert sampled.shape == (2, 1)
    np.testing.assert_array_equal(sampled, layer.standard_knn(padded))  # fixed sample
