"""The NCF training loop: learning planted structure, early stopping, determinism."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.gmf import build_gmf
from ncf_recommender.models.mlp import build_mlp
from ncf_recommender.models.neumf import build_neumf
from ncf_recommender.models.scorers import KerasScorer
from ncf_recommender.training.batches import batched_dataset
from ncf_recommender.training.loop import (
    HISTORY_COLUMNS,
    seed_everything,
    stop_reason,
    validation_sample,
)
from ncf_recommender.training.loop import EpochSelector as _Selector
from ncf_recommender.training.ncf import (
    NCFData,
    catalogue_model,
    pairwise_cap,
    train_ncf,
)
from ncf_recommender.training.optimizers import FusedAdam, LazyAdam, build_optimizer
from ncf_recommender.training.params import TrainingParams
from ncf_recommender.training.sampling import NegativeSampler
from ncf_recommender.training.schedules import learning_rate_schedule

N_ITEMS, GROUPS = 40, 2
#: Users of the learning test: enough steps per epoch for the MLP to leave its
#: initial plateau within two epochs.
N_USERS = 600
#: Users of the other tests (only GMF, which learns the groups from less data).
FEW_USERS = 100


def planted(n_users: int = N_USERS) -> tuple[np.ndarray, ...]:
    """Two taste groups: users of group g interact only with the items of group g.

    Each user has 10 of its group's 20 items in train and one more held out for
    validation, so a model that learns the groups ranks the held-out item among
    the ~10 unseen in-group items, while a random ranking places it among all
    ~30 unseen items.
    """
    rng = np.random.default_rng(0)
    users, items, val_users, val_items = [], [], [], []
    per_group = N_ITEMS // GROUPS
    for user in range(n_users):
        group = user % GROUPS
        chosen = rng.choice(per_group, 11, replace=False) + group * per_group
        users += [user] * 10
        items += list(chosen[:10])
        val_users.append(user)
        val_items.append(chosen[10])
    as_array = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
    return as_array(users), as_array(items), as_array(val_users), as_array(val_items)


#: Training negatives per positive (the catalogued sampler's setting).
NEGATIVES = 4
CONFIG = TrainingParams(
    epochs=2,
    batch_size=64,
    learning_rate=0.02,
    patience=5,
    steps_per_execution=4,
    seed=3,
)


def _data(users, items, val_users, val_items, n_users: int) -> NCFData:
    sampler = NegativeSampler(users, items, N_ITEMS, negatives_per_positive=NEGATIVES)
    return NCFData(sampler, val_users, val_items, users, items, n_users, N_ITEMS)


def _train(build, config: TrainingParams = CONFIG, n_users: int = N_USERS):
    seed_everything(config.seed)
    model = build()
    return train_ncf(model, _data(*planted(n_users), n_users), config)


def _gmf():
    return build_gmf(FEW_USERS, N_ITEMS, 8)


@pytest.mark.parametrize(
    "build",
    [
        lambda: build_gmf(N_USERS, N_ITEMS, 8),
        lambda: build_mlp(N_USERS, N_ITEMS, 8, (16, 8)),
    ],
    ids=["gmf", "mlp"],
)
def test_two_epochs_learn_planted_groups_far_better_than_random(build):
    result = _train(build)
    history = result.history
    assert list(history.columns) == [
        "epoch",
        "loss",
        "val_hr@10",
        "val_ndcg@10",
        "val_mrr",
        "val_ndcg@10_smoothed",
        *HISTORY_COLUMNS[2:],
    ]
    assert history["epoch"].tolist() == [0, 1, 2]
    # Random ranking of one held-out item among ~30 unseen items: HR@10 ~ 1/3.
    assert history["val_hr@10"].iloc[-1] > 0.75
    assert history["val_ndcg@10"].iloc[-1] > history["val_ndcg@10"].iloc[0] + 0.2
    assert history["loss"].iloc[2] < history["loss"].iloc[1]
    assert history["selected"].sum() == 1
    assert (history.loc[1:, "examples"] == N_USERS * 10 * 5).all()
    assert result.best_epoch == int(history.loc[history["selected"], "epoch"].iloc[0])


def test_restored_weights_are_those_of_the_selected_epoch():
    config = TrainingParams(**{**CONFIG.model_dump(), "epochs": 4, "smoothing": 3})
    result = _train(_gmf, config, FEW_USERS)
    users, items, val_users, val_items = planted(FEW_USERS)
    metrics = full_ranking_metrics(
        KerasScorer(result.model, N_ITEMS),
        val_users,
        val_items,
        interaction_matrix(users, items, FEW_USERS, N_ITEMS),
        ks=(10,),
    )
    selected = result.history.loc[result.history["selected"]].iloc[0]
    assert metrics["ndcg@10"] == pytest.approx(selected["val_ndcg@10"], abs=1e-12)
    assert result.summary["seconds_to_best"] <= result.summary["train_seconds"]


def test_same_seed_gives_bit_identical_training():
    config = TrainingParams(**{**CONFIG.model_dump(), "epochs": 1})
    first, second = _train(_gmf, config, FEW_USERS), _train(_gmf, config, FEW_USERS)
    columns = ["loss", "val_ndcg@10", "val_hr@10"]
    assert first.history[columns].equals(second.history[columns])
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = _train(
        _gmf,
        TrainingParams(**{**CONFIG.model_dump(), "epochs": 1, "seed": 4}),
        FEW_USERS,
    )
    assert not np.array_equal(
        first.model.get_weights()[0], other.model.get_weights()[0]
    )


def test_smoothed_selection_prefers_a_plateau_to_a_spike():
    values = [0.0, 0.5, 0.1, 0.4, 0.4, 0.4, 0.1]
    raw, smooth = _Selector(1), _Selector(3)
    for epoch, value in enumerate(values):
        raw.add(value, [np.array(epoch)])
        smooth.add(value, [np.array(epoch)])
    raw.close()
    smooth.close()
    assert raw.best_epoch == 1 and int(raw.best_weights[0]) == 1
    assert smooth.best_epoch == 4 and int(smooth.best_weights[0]) == 4
    assert len(smooth.smoothed) == len(values)
    assert smooth.smoothed[1] == pytest.approx(0.2)
    assert smooth.smoothed[-1] == pytest.approx(0.25)  # window cut at the end
    assert smooth.epochs_since_best() == 2


def test_patience_stops_training_once_validation_stalls():
    selector = _Selector(1)
    for value in (0.1, 0.3, 0.2, 0.25):
        selector.add(value, [np.zeros(1)])
    assert selector.epochs_since_best() == 2 and selector.best_epoch == 1
    # Patience 1 on the planted data: training ends one epoch after the best.
    config = TrainingParams(**{**CONFIG.model_dump(), "epochs": 8, "patience": 1})
    history = _train(_gmf, config, FEW_USERS).history
    best = int(history.loc[history["selected"], "epoch"].iloc[0])
    assert history["epoch"].max() == min(best + 1, 8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epochs": 0}, "training.epochs"),
        ({"smoothing": 2}, "training.smoothing"),
        ({"learning_rate": 0.0}, "training.learning_rate"),
        ({"optimizer": "rmsprop"}, "training.optimizer"),
        ({"steps_per_execution": 0}, "training.steps_per_execution"),
        ({"decay_epochs": 0}, "training.decay_epochs"),
        ({"decay_floor": 1.5}, "training.decay_floor"),
        ({"loss": "bpr"}, "training.loss"),
        ({"weight_decay": -1.0}, "training.weight_decay"),
        (
            {"weight_decay": 0.1, "optimizer": "adam"},
            "weight_decay 0.1 needs optimizer 'keras_adam'",
        ),
    ],
)
def test_bad_training_config_names_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        TrainingParams(**change)


def test_training_needs_validation_rows():
    users, items, _, _ = planted(FEW_USERS)
    with pytest.raises(ValueError, match="val_interactions is empty"):
        train_ncf(_gmf(), _data(users, items, users[:0], items[:0], FEW_USERS), CONFIG)


def _fit_steps(optimizer, batches: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """GMF user embeddings before and after one step per batch of users."""
    seed_everything(0)
    model = build_gmf(FEW_USERS, N_ITEMS, 4)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    before = model.get_layer("gmf_user_embedding").get_weights()[0]
    for users in batches:
        x = {
            "user_idx": np.array(users, np.int32),
            "item_idx": np.arange(3, 3 + len(users), dtype=np.int32),
        }
        model.train_on_batch(x, np.resize(np.array([1.0, 0.0], np.float32), len(users)))
    return before, model.get_layer("gmf_user_embedding").get_weights()[0]


def test_lazy_adam_matches_adam_on_one_step_and_touches_only_batch_rows():
    _, dense = _fit_steps(keras.optimizers.Adam(0.01), [[0, 1]])
    before, lazy = _fit_steps(LazyAdam(0.01), [[0, 1]])
    np.testing.assert_allclose(lazy, dense, atol=1e-6)  # steps are 1e-2
    # Step 2 updates users 2-3: Adam still moves users 0-1 through their
    # momentum, lazy Adam leaves them where step 1 left them.
    _, dense_two = _fit_steps(keras.optimizers.Adam(0.01), [[0, 1], [2, 3]])
    _, lazy_two = _fit_steps(LazyAdam(0.01), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(lazy_two[:2], lazy[:2])
    assert not np.allclose(dense_two[:2], dense[:2])
    assert not np.allclose(lazy_two[2:4], before[2:4])
    np.testing.assert_array_equal(lazy_two[4:], before[4:])


def test_lazy_adam_sums_repeated_rows_before_the_update():
    # Adam's first step moves every coordinate with a gradient by about the
    # learning rate, also for a user that occurs twice in the batch.
    before, after = _fit_steps(LazyAdam(0.01), [[0, 1, 1]])
    np.testing.assert_allclose(np.abs(after[:2] - before[:2]), 0.01, rtol=0.02)


def test_lazy_adam_is_a_training_option():
    lazy = TrainingParams(optimizer="lazy_adam").optimizer
    assert isinstance(build_optimizer(lazy, 1e-3), LazyAdam)
    assert type(build_optimizer(TrainingParams().optimizer, 1e-3)) is FusedAdam


def _mlp_weights_after(optimizer, batches: list[dict[str, np.ndarray]]):
    """MLP-NCF weights after one ``train_on_batch`` per batch (labels alternate)."""
    seed_everything(0)
    model = build_mlp(FEW_USERS, N_ITEMS, 4, (8, 4))
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    for x in batches:
        size = x["user_idx"].size
        model.train_on_batch(x, np.resize(np.array([1.0, 0.0], np.float32), size))
    return model.get_weights()


def test_fused_adam_follows_keras_adam_step_for_step():
    """Same updates as Keras' Adam on dense (Dense) and sparse (embedding) gradients."""
    rng = np.random.default_rng(1)
    # Rows distinct within each batch: Keras squares an embedding's gradient
    # slice by slice, which differs from Adam's square of the summed gradient
    # only when a row repeats (see the next test).
    batches = [
        {
            "user_idx": rng.permutation(FEW_USERS)[:32].astype(np.int32),
            "item_idx": rng.permutation(N_ITEMS)[:32].astype(np.int32),
        }
        for _ in range(5)
    ]
    fused = _mlp_weights_after(FusedAdam(0.01), batches)
    keras_adam = _mlp_weights_after(keras.optimizers.Adam(0.01), batches)
    initial = _mlp_weights_after(keras.optimizers.SGD(0.0), batches)
    for ours, theirs, start in zip(fused, keras_adam, initial, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)  # 5 steps of ~1e-2
        assert not np.allclose(ours, start)


def test_fused_adam_first_step_moves_a_repeated_row_by_the_learning_rate():
    # Adam's first step is lr * g / (|g| + eps) for the summed gradient g, so
    # every coordinate with a gradient moves by about lr, also for user 1, which
    # occurs three times in the batch.
    x = {
        "user_idx": np.array([0, 1, 1, 1, 2], np.int32),
        "item_idx": np.array([3, 4, 5, 6, 7], np.int32),
    }
    before = _mlp_weights_after(keras.optimizers.SGD(0.0), [x])[0]
    after = _mlp_weights_after(FusedAdam(0.01), [x])[0]
    np.testing.assert_allclose(np.abs(after[:3] - before[:3]), 0.01, rtol=0.02)
    np.testing.assert_array_equal(after[3:], before[3:])


def test_learning_rate_decays_along_a_cosine_to_the_floor_and_stays():
    assert learning_rate_schedule(0.01, None, 0.0, 100) == 0.01
    schedule = learning_rate_schedule(0.01, 2, 0.1, 100)
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(100)) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))
    assert float(schedule(200)) == pytest.approx(0.001)
    assert float(schedule(1000)) == pytest.approx(0.001)


def test_batched_dataset_keeps_rows_in_order_with_a_short_last_batch() -> None:
    x = {"a": np.arange(10, dtype=np.int32), "b": np.arange(20).reshape(10, 2)}
    y = np.arange(10, dtype=np.float32) / 10
    dataset = batched_dataset((x, y), batch_size=4)
    batches = list(dataset.as_numpy_iterator())
    assert [len(batch[1]) for batch in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0]["a"] for b in batches]), x["a"])
    np.testing.assert_array_equal(np.concatenate([b[0]["b"] for b in batches]), x["b"])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    # No autotuning: its thread made fit() wait up to 5.12 s at every epoch end.
    assert dataset.options().autotune.enabled is False


def test_batched_dataset_with_fewer_rows_than_a_batch() -> None:
    batches = list(batched_dataset((np.arange(3), np.ones(3)), 8).as_numpy_iterator())
    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0][0], np.arange(3))


def test_stop_reason_prefers_patience_then_the_caps():
    kwargs = {"epochs": 5, "elapsed": 10.0, "budget": 5.0}
    assert stop_reason(epoch=5, patience_reached=True, **kwargs) == "patience"
    assert stop_reason(epoch=5, patience_reached=False, **kwargs) == "epochs"
    assert stop_reason(epoch=2, patience_reached=False, **kwargs) == "time_budget"
    assert (
        stop_reason(epoch=2, patience_reached=False, epochs=5, elapsed=1.0, budget=5.0)
        is None
    )
    assert (
        stop_reason(epoch=2, patience_reached=False, epochs=5, elapsed=9.0, budget=None)
        is None
    )


def test_reaching_the_epoch_cap_while_improving_is_warned_and_recorded(caplog):
    with caplog.at_level(logging.WARNING, logger="ncf_recommender.training.loop"):
        result = _train(_gmf, CONFIG, FEW_USERS)  # 2 epochs, patience 5
    assert result.summary["stopped_at_cap"] is True
    assert result.summary["stop_reason"] == "epochs"
    assert "stopped at its epoch cap" in caplog.text
    # A wall-clock budget already spent after epoch 1 stops there, also as a cap.
    config = TrainingParams(
        **{**CONFIG.model_dump(), "epochs": 5, "max_train_seconds": 1e-6}
    )
    budget = _train(_gmf, config, FEW_USERS).summary
    assert (budget["epochs_run"], budget["stop_reason"]) == (1, "time_budget")
    assert budget["stopped_at_cap"] is True


def test_stopping_on_patience_is_not_a_cap():
    config = TrainingParams(**{**CONFIG.model_dump(), "epochs": 30, "patience": 1})
    summary = _train(_gmf, config, FEW_USERS).summary
    assert summary["epochs_run"] < 30
    assert (summary["stopped_at_cap"], summary["stop_reason"]) == (False, "patience")
    with pytest.raises(ValueError, match=r"training\.max_train_seconds"):
        TrainingParams(max_train_seconds=0)


def test_pairwise_models_validate_on_a_sample_capped_by_pairs():
    users = np.arange(1000)
    config = TrainingParams(max_validation_users=600, validation_max_pairs=4000)
    kept = users[validation_sample(users.size, config, cap=pairwise_cap(config, 40))]
    assert kept.size == 100  # 4,000 pairs / 40 items
    assert users[validation_sample(users.size, config)].size == 600  # a dot product
    loose = TrainingParams(max_validation_users=600, validation_max_pairs=10**9)
    same = users[validation_sample(users.size, loose, cap=pairwise_cap(loose, 40))]
    np.testing.assert_array_equal(same, users[validation_sample(users.size, config)])


SOFTMAX = TrainingParams(
    **{
        **CONFIG.model_dump(),
        "loss": "softmax",
        "optimizer": "keras_adam",
        "weight_decay": 0.01,
        "learning_rate": 0.05,
    }
)


def test_softmax_loss_trains_gmf_on_its_positives_and_learns_the_groups():
    result = _train(lambda: build_gmf(N_USERS, N_ITEMS, 8), SOFTMAX)
    history = result.history
    assert history["val_hr@10"].iloc[-1] > 0.75  # random: about 1/3
    assert (history.loc[1:, "examples"] == N_USERS * 10).all()  # no negatives
    # the trained GMF is the softmax's model: sigmoid(logit + bias) per item
    logits = catalogue_model(result.model).predict(
        np.arange(3, dtype=np.int32), verbose=0
    )
    bias = float(result.model.get_layer("prediction").bias.numpy()[0])
    for user in range(3):
        scores = result.model.predict(
            {
                USER_IDX: np.full(N_ITEMS, user, dtype=np.int32),
                ITEM_IDX: np.arange(N_ITEMS, dtype=np.int32),
            },
            verbose=0,
        )[:, 0]
        np.testing.assert_allclose(
            scores, 1 / (1 + np.exp(-(logits[user] + bias))), rtol=1e-5, atol=1e-7
        )


@pytest.mark.parametrize(
    "build",
    [
        lambda: build_mlp(FEW_USERS, N_ITEMS, 8, (16, 8)),
        lambda: build_neumf(FEW_USERS, N_ITEMS, 8, 8, (16, 8)),
    ],
    ids=["mlp", "neumf"],
)
def test_softmax_loss_is_for_gmf_only(build):
    with pytest.raises(ValueError, match="'softmax' trains GMF only"):
        _train(build, SOFTMAX, FEW_USERS)
