"""Tests of the next-item sequence models, their data helpers and their training."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ncf_recommender.constants import ITEM_IDX, TIMESTAMP, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.baselines import (
    DotProductScorer,
    MostPopularScorer,
    fit_als,
)
from ncf_recommender.models.gru4rec import build_gru4rec
from ncf_recommender.models.sasrec import build_sasrec
from ncf_recommender.models.sequences import (
    SequenceScorer,
    UserHistories,
    build_histories,
    extend_histories,
    histories_from_lists,
    load_sequence_model,
    pad_histories,
    training_windows,
)
from ncf_recommender.pipelines.data_processing.nodes import split_leave_last_two
from ncf_recommender.training.params import SequenceTrainingParams
from ncf_recommender.training.sequence import (
    SampledLogits,
    SequenceValidation,
    sequence_validation,
    train_sequence,
)
from ncf_recommender.training.sequence import (
    sample_validation as _validation_sample,
)


def train_sequence_model(model, histories, validation, params):
    """``(model, history)`` of :func:`train_sequence`; the summary in ``attrs``."""
    result = train_sequence(model, histories, validation, params)
    result.history.attrs = {
        key: result.summary[key] for key in ("stopped_at_cap", "stop_reason")
    }
    return result.model, result.history


N_ITEMS = 12
MAX_LEN = 5


def _tiny(kind: str, n_items: int = N_ITEMS, max_len: int = MAX_LEN) -> keras.Model:
    if kind == "sasrec":
        return build_sasrec(n_items, max_len, 8, 2, 2, dropout=0.1, seed=3)
    return build_gru4rec(n_items, max_len, 8, 6, dropout=0.1, seed=3)


def _frame(users: list[int], items: list[int], stamps: list[int]) -> pd.DataFrame:
    return pd.DataFrame({USER_IDX: users, ITEM_IDX: items, TIMESTAMP: stamps}).astype(
        "int64"
    )


# --- history helpers -------------------------------------------------------------


def test_build_histories_sorts_by_time_and_keeps_input_order_on_ties() -> None:
    frame = _frame([1, 0, 1, 1, 0], [5, 7, 3, 4, 2], [20, 5, 10, 10, 1])
    histories = build_histories(frame, n_users=3)
    assert histories.user_items(0).tolist() == [2, 7]
    assert histories.user_items(1).tolist() == [
        3,
        4,
        5,
    ]  # 3 before 4: equal time, input order
    assert histories.user_items(2).tolist() == []
    assert frame[ITEM_IDX].tolist() == [5, 7, 3, 4, 2]  # input untouched


def test_build_histories_names_missing_column_and_bad_index() -> None:
    with pytest.raises(KeyError, match="timestamp"):
        build_histories(pd.DataFrame({USER_IDX: [0], ITEM_IDX: [1]}), n_users=1)
    with pytest.raises(ValueError, match="user_idx"):
        build_histories(_frame([4], [1], [0]), n_users=2)


def test_extend_pad_and_truncate() -> None:
    histories = histories_from_lists([[0, 1, 2, 3, 4, 5], [6], []], N_ITEMS)
    extended = extend_histories(histories, np.array([2, 1]), np.array([9, 10]))
    assert extended.user_items(1).tolist() == [6, 10]
    assert extended.user_items(2).tolist() == [9]
    padded = pad_histories(extended, None, 4)
    # ids are item_idx + 1, left-padded with 0, last max_len items kept
    np.testing.assert_array_equal(padded, [[3, 4, 5, 6], [0, 0, 7, 11], [0, 0, 0, 10]])
    with pytest.raises(ValueError, match="repeats"):
        extend_histories(histories, np.array([1, 1]), np.array([2, 3]))


def test_training_windows_cover_every_target_once() -> None:
    histories = histories_from_lists([[10, 3, 7, 1, 0, 5, 2], [7, 8], [9]], N_ITEMS)
    windows = training_windows(histories, max_len=3)
    # user 0: its 6 targets in two windows (latest first); user 1: one; user 2: none.
    # Inputs are ids (item_idx + 1); targets are item indices.
    np.testing.assert_array_equal(windows.inputs, [[2, 1, 6], [11, 4, 8], [0, 0, 8]])
    np.testing.assert_array_equal(windows.targets, [[0, 5, 2], [3, 7, 1], [0, 0, 8]])
    np.testing.assert_array_equal(windows.weights, [[1, 1, 1], [1, 1, 1], [0, 0, 1]])


def test_training_windows_targets_follow_inputs() -> None:
    rng = np.random.default_rng(0)
    lists = [list(rng.integers(0, N_ITEMS, rng.integers(0, 15))) for _ in range(20)]
    windows = training_windows(
        histories_from_lists(lists, N_ITEMS), max_len=4, stride=2
    )
    valid = (windows.weights[:, 1:] > 0) & (windows.weights[:, :-1] > 0)
    # the input at position p + 1 is the target at position p
    np.testing.assert_array_equal(
        (windows.inputs[:, 1:] - 1)[valid], windows.targets[:, :-1][valid]
    )


# --- models ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sasrec", "gru4rec"])
def test_model_output_shapes(kind: str) -> None:
    model = _tiny(kind)
    ids = np.array([[0, 0, 1, 2, 3], [0, 0, 0, 0, 0], [4, 5, 6, 7, 8]], dtype="int32")
    assert model.predict_on_batch(ids).shape == (3, N_ITEMS)
    hidden = keras.Model(model.inputs, model.get_layer("sequence_output").output)
    assert hidden(ids).shape == (3, MAX_LEN, 8)


@pytest.mark.parametrize("kind", ["sasrec", "gru4rec"])
def test_prediction_at_t_ignores_later_items(kind: str) -> None:
    model = _tiny(kind)
    hidden = keras.Model(model.inputs, model.get_layer("sequence_output").output)
    ids = np.array([[1, 2, 3, 4, 5]], dtype="int32")
    base = np.asarray(hidden(ids))
    for t in range(MAX_LEN - 1):
        changed = ids.copy()
        changed[0, t + 1 :] = 12  # a different item at every later position
        out = np.asarray(hidden(changed))
        np.testing.assert_allclose(out[0, : t + 1], base[0, : t + 1], atol=1e-5)
        assert not np.allclose(out[0, t + 1 :], base[0, t + 1 :], atol=1e-5)


@pytest.mark.parametrize("kind", ["sasrec", "gru4rec"])
def test_padding_is_masked(kind: str) -> None:
    model = _tiny(kind)
    ids = np.array([[0, 0, 0, 2, 3]], dtype="int32")
    before = model.predict_on_batch(ids)
    layer = model.get_layer("item_embedding")
    table = layer.get_weights()[0].copy()
    table[0] = 7.0  # the padding row must not matter
    layer.set_weights([table])
    np.testing.assert_allclose(model.predict_on_batch(ids), before, atol=1e-5)


@pytest.mark.parametrize("kind", ["sasrec", "gru4rec"])
def test_keras_round_trip_in_safe_mode(kind: str, tmp_path) -> None:
    model = _tiny(kind)
    ids = np.array([[0, 1, 2, 3, 4], [0, 0, 0, 0, 9]], dtype="int32")
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        reloaded.predict_on_batch(ids), model.predict_on_batch(ids)
    )
    np.testing.assert_array_equal(
        load_sequence_model(path).predict_on_batch(ids), model.predict_on_batch(ids)
    )


def test_builders_reject_bad_sizes() -> None:
    with pytest.raises(ValueError, match="max_len"):
        build_sasrec(10, 0)
    with pytest.raises(ValueError, match="dropout"):
        build_gru4rec(10, 5, dropout=1.0)


# --- scorer ----------------------------------------------------------------------


def test_scorer_full_subset_and_supplied_history() -> None:
    model = _tiny("sasrec")
    histories = histories_from_lists([[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11]], N_ITEMS)
    scorer = SequenceScorer(model, histories, batch_size=2)
    users = np.array([2, 0, 1])
    full = scorer.score(users)
    assert full.shape == (3, N_ITEMS) and scorer.n_items == N_ITEMS
    items = np.array([[0, 5], [11, 3], [2, 2]])
    np.testing.assert_array_equal(
        scorer.score(users, items), np.take_along_axis(full, items, 1)
    )
    # A supplied history (no user index at all) scores like a known user with it.
    supplied = scorer.score_history([[5, 6, 7, 8, 9, 10, 11], [1, 2, 3]])
    np.testing.assert_allclose(supplied, full[[0, 1]], atol=1e-6)
    assert scorer.score_history([[]]).shape == (1, N_ITEMS)
    with pytest.raises(ValueError, match="history item index"):
        scorer.score_history([[0, N_ITEMS]])
    with pytest.raises(ValueError, match="user_idx"):
        scorer.score(np.array([3]))


def test_params_name_the_bad_key() -> None:
    with pytest.raises(ValueError, match=r"training\.loss"):
        SequenceTrainingParams(loss="hinge")
    with pytest.raises(ValueError, match=r"training\.batch_size"):
        SequenceTrainingParams.model_validate({"batch_size": 0})
    with pytest.raises(ValueError, match="unknown training parameter"):
        SequenceTrainingParams.model_validate({"epoch": 3})
    with pytest.raises(ValueError, match=r"training\.decay_epochs"):
        SequenceTrainingParams(decay_epochs=0)
    with pytest.raises(ValueError, match=r"training\.decay_floor"):
        SequenceTrainingParams(decay_floor=-0.1)
    auto = SequenceTrainingParams(loss="auto", full_softmax_max_items=10)
    assert auto.resolved_loss(10) == "softmax"
    assert auto.resolved_loss(11) == "sampled_softmax"


def test_validation_sample_is_a_seeded_subset_of_the_validation_users() -> None:
    validation = SequenceValidation(
        users=np.arange(100) * 2,
        targets=np.arange(100) + 1000,
        exclude=sp.csr_matrix((200, 1200)),
        histories=None,  # type: ignore[arg-type]
    )
    params = SequenceTrainingParams(max_validation_users=10, seed=3)
    sample = _validation_sample(validation, params)
    assert sample.users.size == 10
    assert np.all(np.diff(sample.users) > 0)
    # Each kept user keeps its own target.
    np.testing.assert_array_equal(sample.targets, sample.users // 2 + 1000)
    again = _validation_sample(validation, params)
    np.testing.assert_array_equal(sample.users, again.users)
    assert _validation_sample(validation, SequenceTrainingParams()) is validation
    with pytest.raises(ValueError, match=r"training\.max_validation_users"):
        SequenceTrainingParams(max_validation_users=0)


def test_sampled_logits_mask_accidental_hits() -> None:
    hidden = np.array([[[1.0, 0.0], [0.0, 2.0]]], dtype="float32")  # (1, T=2, d=2)
    positives = np.array([[[3.0, 1.0], [1.0, 1.0]]], dtype="float32")
    negatives = np.array([[[1.0, 1.0], [0.5, 4.0], [2.0, 0.0]]], dtype="float32")  # K=3
    target_ids = np.array([[5, 7]], dtype="int32")
    negative_ids = np.array([[7, 2, 5]], dtype="int32")  # 7 and 5 are accidental hits
    logits = np.asarray(
        SampledLogits()(hidden, positives, negatives, target_ids, negative_ids)
    )
    np.testing.assert_allclose(logits[0, 0], [3.0, 1.0, 0.5, -1e9])
    np.testing.assert_allclose(logits[0, 1], [2.0, -1e9, 8.0, 0.0])


# --- training on planted sequences -----------------------------------------------


def _planted(n_users: int = 80, n_items: int = 30, seed: int = 0) -> pd.DataFrame:
    """Every user walks the catalogue in order: item i is always followed by i + 1 (mod n)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 14, n_users)
    users = np.repeat(np.arange(n_users), lengths)
    step = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    items = (np.repeat(rng.integers(0, n_items, n_users), lengths) + step) % n_items
    frame = pd.DataFrame(
        {
            "user_id": users.astype(str),
            "item_id": items.astype(str),
            USER_IDX: users.astype("int32"),
            ITEM_IDX: items.astype("int32"),
            "rating": 1.0,
            TIMESTAMP: 1000 + step,
        }
    )
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


PLANTED_USERS, PLANTED_ITEMS = 80, 30


@pytest.fixture(scope="module")
def planted() -> dict:
    """The planted data set, split leave-last-two, with train histories and validation."""
    train, val, test = split_leave_last_two(_planted(PLANTED_USERS, PLANTED_ITEMS))
    histories, validation = sequence_validation(
        train, val, PLANTED_USERS, PLANTED_ITEMS
    )
    return {
        "train": train,
        "val": val,
        "test": test,
        "histories": histories,
        "validation": validation,
    }


@pytest.fixture(
    scope="module", params=[("sasrec", "softmax"), ("gru4rec", "sampled_softmax")]
)
def trained(
    request: pytest.FixtureRequest, planted: dict
) -> tuple[keras.Model, pd.DataFrame]:
    """One model per kind trained on the planted data (shared by the tests below)."""
    kind, loss = request.param
    model = _tiny(kind, n_items=PLANTED_ITEMS, max_len=8)
    params = SequenceTrainingParams(
        epochs=30,
        batch_size=16,
        learning_rate=0.01,
        decay_epochs=None,
        loss=loss,
        n_negatives=8,
        patience=3,
        seed=0,
    )
    return train_sequence_model(
        model, planted["histories"], planted["validation"], params
    )


def test_planted_sequences_beat_non_sequential_baselines(
    trained, planted: dict
) -> None:
    model, history = trained
    train, val, test = planted["train"], planted["val"], planted["test"]
    assert history["selected"].sum() == 1
    assert {"epoch", "loss", "val_ndcg@10", "train_seconds"} <= set(history.columns)
    # Test: the model reads train + validation, but was never trained on validation.
    test_histories = extend_histories(
        planted["histories"], val[USER_IDX].to_numpy(), val[ITEM_IDX].to_numpy()
    )
    seen = interaction_matrix(
        pd.concat([train[USER_IDX], val[USER_IDX]]),
        pd.concat([train[ITEM_IDX], val[ITEM_IDX]]),
        PLANTED_USERS,
        PLANTED_ITEMS,
    )
    users, targets = test[USER_IDX].to_numpy(), test[ITEM_IDX].to_numpy()
    sequence = full_ranking_metrics(
        SequenceScorer(model, test_histories), users, targets, seen
    )
    popular = full_ranking_metrics(
        MostPopularScorer(train[ITEM_IDX], PLANTED_ITEMS), users, targets, seen
    )
    train_matrix = interaction_matrix(
        train[USER_IDX], train[ITEM_IDX], PLANTED_USERS, PLANTED_ITEMS
    )
    als = full_ranking_metrics(
        DotProductScorer(*fit_als(train_matrix, 8, 0.1, seed=0)), users, targets, seen
    )
    summary = f"sequence {sequence['ndcg@10']:.3f}, popular {popular['ndcg@10']:.3f}, ALS {als['ndcg@10']:.3f}"
    assert sequence["ndcg@10"] > 0.8, summary
    assert sequence["ndcg@10"] > 1.5 * max(popular["ndcg@10"], als["ndcg@10"]), summary


@pytest.mark.slow
def test_cold_start_history_predicts_the_planted_next_item(trained) -> None:
    model, _ = trained
    no_users = UserHistories(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    scorer = SequenceScorer(model, no_users)
    assert scorer.n_users == 0
    scores = scorer.score_history([[3, 4, 5], [27, 28, 29, 0, 1]])
    assert scores.argmax(axis=1).tolist() == [6, 2]


@pytest.mark.slow
def test_bce_training_is_deterministic_under_a_seed(planted: dict) -> None:
    params = SequenceTrainingParams(
        epochs=2, batch_size=16, loss="bce", n_negatives=4, seed=5
    )
    runs = []
    for _ in range(2):
        model = _tiny("gru4rec", n_items=PLANTED_ITEMS, max_len=8)
        model, history = train_sequence_model(
            model, planted["histories"], planted["validation"], params
        )
        runs.append((model.get_weights(), history["loss"].to_numpy()))
    assert np.isfinite(runs[0][1]).all()
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    for first, second in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(first, second)


def test_a_capped_sequence_run_is_flagged_and_patience_is_not(planted: dict) -> None:
    runs = {}
    for epochs, patience in ((1, 5), (40, 1)):
        params = SequenceTrainingParams(
            epochs=epochs,
            batch_size=16,
            decay_epochs=None,
            loss="bce",
            n_negatives=4,
            patience=patience,
            seed=5,
        )
        model = _tiny("gru4rec", n_items=PLANTED_ITEMS, max_len=8)
        _, history = train_sequence_model(
            model, planted["histories"], planted["validation"], params
        )
        runs[epochs] = history
    assert runs[1].attrs == {"stopped_at_cap": True, "stop_reason": "epochs"}
    # Patience 1 stops at the first epoch without improvement, well before 40.
    assert runs[40].attrs == {"stopped_at_cap": False, "stop_reason": "patience"}
    assert runs[40]["epoch"].max() < 40
