"""The content-aware item table: content-only cold rows, id dropout, save and reload."""

from __future__ import annotations

import keras
import numpy as np
import scipy.sparse as sp

from ncf_recommender.models.content import ContentItemEmbedding, build_content_sasrec
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
