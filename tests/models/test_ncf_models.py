"""GMF, MLP-NCF and NeuMF builders, NeuMF pretraining and the Keras scorer."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from kedro_datasets.tensorflow import TensorFlowModelDataset

from ncf_recommender.models.gmf import build_gmf
from ncf_recommender.models.mlp import build_mlp
from ncf_recommender.models.neumf import build_neumf
from ncf_recommender.models.scorers import KerasScorer

N_USERS, N_ITEMS = 7, 11


def _randomise(model: keras.Model, seed: int = 0) -> keras.Model:
    """Give every weight a spread-out value, so predictions differ clearly."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights(
                [rng.normal(0, 0.7, w.shape).astype(w.dtype) for w in weights]
            )
    return model


def _pairs(n: int = 20, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "user_idx": rng.integers(0, N_USERS, n).astype(np.int32),
        "item_idx": rng.integers(0, N_ITEMS, n).astype(np.int32),
    }


BUILDERS = {
    "gmf": lambda: build_gmf(N_USERS, N_ITEMS, embedding_dim=4, l2=0.01),
    "mlp": lambda: build_mlp(N_USERS, N_ITEMS, 4, layers=(8, 4), l2=0.01, dropout=0.2),
    "neumf": lambda: build_neumf(N_USERS, N_ITEMS, 3, 4, (8, 4), 0.01, 0.2),
}


@pytest.fixture(params=sorted(BUILDERS))
def model(request) -> keras.Model:
    keras.utils.set_random_seed(0)
    return _randomise(BUILDERS[request.param]())


def test_output_is_one_probability_per_pair(model):
    scores = keras.ops.convert_to_numpy(model(_pairs(), training=False))
    assert scores.shape == (20, 1)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.std() > 0.01  # the randomised weights give distinct scores
    assert sorted(tensor.name for tensor in model.inputs) == ["item_idx", "user_idx"]
    assert all(tensor.dtype == "int32" for tensor in model.inputs)


def test_round_trip_through_the_catalog_dataset_in_safe_mode(model, tmp_path):
    dataset = TensorFlowModelDataset(
        filepath=str(tmp_path / f"{model.name}.keras"),
        load_args={"safe_mode": True, "compile": False},
    )
    dataset.save(model)
    assert (tmp_path / f"{model.name}.keras").is_file()
    loaded = dataset.load()
    pairs = _pairs()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(pairs, training=False)),
        keras.ops.convert_to_numpy(model(pairs, training=False)),
    )
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]


def test_neumf_pretraining_fuses_the_two_logits_with_alpha():
    keras.utils.set_random_seed(0)
    gmf = _randomise(build_gmf(N_USERS, N_ITEMS, 3), seed=1)
    mlp = _randomise(build_mlp(N_USERS, N_ITEMS, 4, (8, 4)), seed=2)
    neumf = build_neumf(
        N_USERS,
        N_ITEMS,
        3,
        4,
        (8, 4),
        pretrained_gmf=gmf,
        pretrained_mlp=mlp,
        alpha=0.3,
    )
    pairs = _pairs()

    def logit(m: keras.Model) -> np.ndarray:
        p = keras.ops.convert_to_numpy(m(pairs, training=False)).astype(np.float64)
        return np.log(p / (1 - p))

    np.testing.assert_allclose(
        logit(neumf), 0.3 * logit(gmf) + 0.7 * logit(mlp), atol=1e-4
    )
    np.testing.assert_array_equal(
        neumf.get_layer("mlp_dense_1").get_weights()[0],
        mlp.get_layer("mlp_dense_1").get_weights()[0],
    )


def test_neumf_pretraining_rejects_mismatched_sizes():
    gmf = build_gmf(N_USERS, N_ITEMS, 5)
    mlp = build_mlp(N_USERS, N_ITEMS, 4, (8, 4))
    with pytest.raises(ValueError, match="gmf_user_embedding"):
        build_neumf(
            N_USERS, N_ITEMS, 3, 4, (8, 4), pretrained_gmf=gmf, pretrained_mlp=mlp
        )
    with pytest.raises(ValueError, match="both"):
        build_neumf(N_USERS, N_ITEMS, 5, 4, (8, 4), pretrained_gmf=gmf)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: build_gmf(0, N_ITEMS), "n_users"),
        (lambda: build_gmf(N_USERS, N_ITEMS, embedding_dim=0), "embedding_dim"),
        (lambda: build_gmf(N_USERS, N_ITEMS, l2=-1.0), "l2"),
        (lambda: build_mlp(N_USERS, N_ITEMS, layers=()), "layers"),
        (lambda: build_mlp(N_USERS, N_ITEMS, layers=(8, 0)), r"layers\[1\]"),
        (lambda: build_mlp(N_USERS, N_ITEMS, dropout=1.0), "dropout"),
        (lambda: build_neumf(N_USERS, N_ITEMS, mlp_dim=-2), "mlp_dim"),
    ],
)
def test_bad_sizes_fail_with_the_argument_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _predict_all(model: keras.Model) -> np.ndarray:
    users = np.repeat(np.arange(N_USERS, dtype=np.int32), N_ITEMS)
    items = np.tile(np.arange(N_ITEMS, dtype=np.int32), N_USERS)
    out = model.predict({"user_idx": users, "item_idx": items}, verbose=0)
    return out.reshape(N_USERS, N_ITEMS)


def test_keras_scorer_equals_model_predict(model):
    scorer = KerasScorer(model, N_ITEMS, batch_size=16)
    assert scorer.fast and scorer.n_items == N_ITEMS
    # Only GMF is a dot product; MLP-NCF and NeuMF run their tower per pair.
    assert scorer.pairwise == (model.name != "gmf")
    expected = _predict_all(model)
    users = np.array([3, 0, 6, 3])
    np.testing.assert_allclose(scorer.score(users), expected[users], atol=1e-5)
    candidates = np.random.default_rng(0).integers(0, N_ITEMS, (4, 5))
    np.testing.assert_allclose(
        scorer.score(users, candidates),
        np.take_along_axis(expected[users], candidates, 1),
        atol=1e-5,
    )


def test_keras_scorer_falls_back_to_predict_for_other_models():
    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    item = keras.Input(shape=(), dtype="int32", name="item_idx")
    u = keras.layers.Embedding(N_USERS, 3, name="u")(user)
    i = keras.layers.Embedding(N_ITEMS, 3, name="i")(item)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Add()([u, i]))
    other = _randomise(keras.Model({"user_idx": user, "item_idx": item}, out))
    scorer = KerasScorer(other, N_ITEMS, batch_size=10)
    assert not scorer.fast and scorer.pairwise
    np.testing.assert_allclose(
        scorer.score(np.arange(N_USERS)), _predict_all(other), atol=1e-6
    )


def test_keras_scorer_rejects_bad_indices(model):
    scorer = KerasScorer(model, N_ITEMS)
    with pytest.raises(ValueError, match="user_idx"):
        scorer.score(np.array([N_USERS]))
    with pytest.raises(ValueError, match="item_idx"):
        scorer.score(np.array([0]), np.array([[N_ITEMS]]))
    with pytest.raises(ValueError, match="items must be"):
        scorer.score(np.array([0, 1]), np.zeros((3, 2), dtype=int))


def test_fast_sigmoid_gives_the_bits_of_the_masked_two_branch_formula():
    from ncf_recommender.models.scorers import _sigmoid  # noqa: PLC0415

    logits = np.random.default_rng(0).normal(0, 8, 100_000).astype(np.float32)
    logits[:4] = [0.0, -0.0, 100.0, -100.0]
    expected = np.empty_like(logits)
    positive = logits >= 0
    expected[positive] = 1.0 / (1.0 + np.exp(-logits[positive]))
    exp = np.exp(logits[~positive])
    expected[~positive] = exp / (1.0 + exp)
    np.testing.assert_array_equal(
        _sigmoid(logits).view(np.int32), expected.view(np.int32)
    )
