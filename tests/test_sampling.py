"""Exactness, determinism and distribution of ``ncf_recommender.training.sampling``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ncf_recommender.training.sampling import NegativeSampler, sample_eval_candidates

# A chi-square test at this level fails a correct sampler once in 10^4 runs.
P_MIN = 1e-4


def _pairs(users: np.ndarray, items: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(users.tolist(), items.tolist(), strict=True))


def _assert_exact(sampler_users, sampler_items, users, items, k, *, distinct=True):
    """No negative is a train positive; a positive's k negatives are distinct."""
    positives = _pairs(users, items)
    assert len(sampler_users) == len(users) * k
    np.testing.assert_array_equal(sampler_users, np.repeat(users, k))
    assert not _pairs(sampler_users, sampler_items) & positives
    if distinct:
        rows = np.sort(sampler_items.reshape(-1, k), axis=1)
        assert not (rows[:, 1:] == rows[:, :-1]).any()


def _random_positives(rng, n_users, n_items, max_degree):
    degree = rng.integers(1, max_degree + 1, n_users)
    users = np.repeat(np.arange(n_users), degree)
    items = np.concatenate([rng.choice(n_items, d, replace=False) for d in degree])
    return users, items


# --------------------------------------------------------------------- layout


def test_negatives_layout_and_dtypes():
    users = np.array([3, 3, 0, 5], dtype=np.int32)
    items = np.array([1, 2, 1, 0], dtype=np.int32)
    sampler = NegativeSampler(users, items, n_items=20, negatives_per_positive=3)
    neg_users, neg_items = sampler.negatives(epoch=0, seed=7)
    assert sampler.n_positives == 4
    assert neg_users.dtype == np.int32 and neg_items.dtype == np.int32
    np.testing.assert_array_equal(neg_users, [3, 3, 3, 3, 3, 3, 0, 0, 0, 5, 5, 5])
    assert neg_items.min() >= 0 and neg_items.max() < 20
    _assert_exact(neg_users, neg_items, users, items, 3)


def test_examples_are_positives_then_negatives():
    users = np.array([0, 1, 1])
    items = np.array([4, 2, 3])
    sampler = NegativeSampler(users, items, n_items=10, negatives_per_positive=2)
    ex_users, ex_items, labels = sampler.examples(epoch=1, seed=3)
    neg_users, neg_items = sampler.negatives(epoch=1, seed=3)
    assert labels.dtype == np.float32
    assert ex_users.dtype == np.int32 and ex_items.dtype == np.int32
    np.testing.assert_array_equal(ex_users, np.r_[users, neg_users])
    np.testing.assert_array_equal(ex_items, np.r_[items, neg_items])
    np.testing.assert_array_equal(labels, [1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_empty_positives_give_empty_arrays():
    sampler = NegativeSampler(np.array([], int), np.array([], int), n_items=5)
    users, items = sampler.negatives(0, 0)
    assert users.shape == items.shape == (0,)
    assert sampler.examples(0, 0)[2].shape == (0,)


def test_duplicate_positive_rows_are_kept_and_excluded():
    users = np.array([0, 0, 0])
    items = np.array([1, 1, 2])
    sampler = NegativeSampler(users, items, n_items=4, negatives_per_positive=2)
    neg_users, neg_items = sampler.negatives(0, 0)
    assert sampler.n_positives == 3
    assert sorted(set(neg_items.tolist())) == [0, 3]
    _assert_exact(neg_users, neg_items, users, items, 2)


# ------------------------------------------------------------------ exactness


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_user_with_all_items_but_one_gets_that_item(strategy):
    n_items = 30
    users = np.r_[np.zeros(n_items - 1, int), [1, 1]]
    items = np.r_[np.arange(1, n_items), [0, 5]]  # user 0 lacks item 0 only
    sampler = NegativeSampler(users, items, n_items, 1, strategy)
    for epoch in range(5):
        neg_users, neg_items = sampler.negatives(epoch, seed=0)
        np.testing.assert_array_equal(neg_items[neg_users == 0], 0)
        _assert_exact(neg_users, neg_items, users, items, 1)


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_too_few_candidates_warns_and_samples_with_replacement(strategy):
    users = np.r_[np.zeros(8, int), [1]]
    items = np.r_[np.arange(2, 10), [0]]  # user 0 can only get items 0 and 1
    with pytest.warns(UserWarning, match=r"user_idx 0 has fewer than 4"):
        sampler = NegativeSampler(users, items, 10, 4, strategy)
    neg_users, neg_items = sampler.negatives(0, 0)
    assert set(neg_items[neg_users == 0].tolist()) <= {0, 1}
    _assert_exact(neg_users, neg_items, users, items, 4, distinct=False)
    user1 = np.sort(neg_items[neg_users == 1])
    assert len(set(user1.tolist())) == 4  # user 1 still gets distinct negatives


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_user_with_every_item_raises_naming_the_user(strategy):
    users = np.r_[np.zeros(2, int), np.full(6, 7)]
    items = np.r_[[0, 1], np.arange(6)]
    with pytest.raises(ValueError, match=r"user_idx 7 has interacted with every item"):
        NegativeSampler(users, items, 6, 1, strategy)


def test_popularity_counts_only_train_items_as_candidates():
    # Item 3 never occurs in train: weight 0, so user 0 (items 0-2) has no candidate.
    users = np.array([0, 0, 0, 1])
    items = np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"user_idx 0 .*popularity"):
        NegativeSampler(users, items, 4, 1, "popularity")
    sampler = NegativeSampler(users, items, 4, 1, "uniform")
    neg_users, neg_items = sampler.negatives(0, 0)
    np.testing.assert_array_equal(neg_items[neg_users == 0], 3)


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_complement_of_exactly_k_items_is_a_permutation(strategy):
    # Every user has exactly k candidates: each positive's negatives are all of them.
    rng = np.random.default_rng(0)
    n_items, k = 12, 4
    users = np.repeat(np.arange(6), n_items - k)
    items = np.concatenate([rng.permutation(n_items)[: n_items - k] for _ in range(6)])
    sampler = NegativeSampler(users, items, n_items, k, strategy)
    neg_users, neg_items = sampler.negatives(3, seed=1)
    _assert_exact(neg_users, neg_items, users, items, k)
    for u in range(6):
        expected = sorted(set(range(n_items)) - set(items[users == u].tolist()))
        rows = np.sort(neg_items[neg_users == u].reshape(-1, k), axis=1)
        assert (rows == expected).all()


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_heavy_collisions_dense_users(strategy):
    # Users hold 40-90 % of a 50-item catalogue: many draws collide.
    rng = np.random.default_rng(1)
    degree = rng.integers(20, 46, 40)
    users = np.repeat(np.arange(40), degree)
    items = np.concatenate([rng.choice(50, d, replace=False) for d in degree])
    sampler = NegativeSampler(users, items, 50, 5, strategy)
    for epoch in range(3):
        _assert_exact(*sampler.negatives(epoch, 9), users, items, 5)


@pytest.mark.parametrize("exponent", [8.0, -6.0, 0.0])
def test_popularity_extreme_exponent_stays_exact(exponent):
    # Item i is held by i + 1 of 100 users; user 0 holds the 10 most popular items,
    # so with a large exponent almost all of the unrestricted mass is excluded for it.
    rng = np.random.default_rng(4)
    n_items = 40
    users = np.concatenate(
        [rng.choice(np.arange(1, 101), i + 1, False) for i in range(n_items)]
    )
    items = np.concatenate([np.full(i + 1, i) for i in range(n_items)])
    users, items = np.r_[users, np.zeros(10, int)], np.r_[items, np.arange(30, 40)]
    sampler = NegativeSampler(users, items, n_items, 6, "popularity", exponent)
    for epoch in range(3):
        _assert_exact(*sampler.negatives(epoch, 2), users, items, 6)


@settings(max_examples=60, deadline=None)
@given(
    n_items=st.integers(1, 40),
    k=st.integers(1, 12),  # above 8, uniform rows are drawn whole
    strategy=st.sampled_from(["uniform", "popularity"]),
    exponent=st.floats(-3.0, 3.0),
    seed=st.integers(0, 2**32),
    data=st.data(),
)
def test_exact_on_arbitrary_small_instances(  # noqa: PLR0917 (hypothesis strategies)
    n_items, k, strategy, exponent, seed, data
):
    n = data.draw(st.integers(0, 60))
    users = np.array(
        data.draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)), int
    )
    items = np.array(
        data.draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n)), int
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sampler = NegativeSampler(users, items, n_items, k, strategy, exponent)
    except ValueError as error:
        assert "has interacted with every item" in str(error)
        return
    neg_users, neg_items = sampler.negatives(seed % 5, seed)
    _assert_exact(neg_users, neg_items, users, items, k, distinct=False)
    pool = n_items if strategy == "uniform" else len(np.unique(items))
    rows = np.sort(neg_items.reshape(-1, k), axis=1)
    for user, row in zip(users, rows, strict=True):
        candidates = pool - len(np.unique(items[users == user]))
        if candidates >= k:
            assert len(np.unique(row)) == k


# ---------------------------------------------------------------- determinism


def test_same_seed_same_arrays_and_epochs_differ():
    rng = np.random.default_rng(2)
    users, items = _random_positives(rng, 300, 500, 30)
    a = NegativeSampler(users, items, 500, 4)
    b = NegativeSampler(users, items, 500, 4)
    for left, right in zip(a.negatives(2, 11), b.negatives(2, 11), strict=True):
        np.testing.assert_array_equal(left, right)
    epoch0, epoch1 = a.negatives(0, 11)[1], a.negatives(1, 11)[1]
    other_seed = a.negatives(0, 12)[1]
    assert (epoch0 != epoch1).mean() > 0.9
    assert (epoch0 != other_seed).mean() > 0.9


def test_popularity_is_deterministic_too():
    rng = np.random.default_rng(3)
    users, items = _random_positives(rng, 100, 80, 20)
    sampler = NegativeSampler(users, items, 80, 3, "popularity")
    np.testing.assert_array_equal(
        sampler.negatives(4, 5)[1], sampler.negatives(4, 5)[1]
    )
    assert (sampler.negatives(4, 5)[1] != sampler.negatives(5, 5)[1]).any()


# --------------------------------------------------------------- distribution


@pytest.mark.parametrize(
    ("n_held", "column"),
    [(10, 0), (10, 3), (35, 0), (35, 3)],  # 35 of 50 items: the exact path
)
def test_uniform_negatives_pass_chi_square(n_held, column):
    n_items, k, rows = 50, 4, 200
    held = np.arange(0, 2 * n_held, 2) % n_items
    held = np.unique(np.r_[held, np.arange(n_held)])[:n_held]
    users = np.zeros(rows, int)
    items = np.resize(held, rows)  # duplicate rows of the user's positives
    sampler = NegativeSampler(users, items, n_items, k)
    draws = np.concatenate(
        [sampler.negatives(e, 0)[1].reshape(-1, k)[:, column] for e in range(30)]
    )
    free = np.setdiff1d(np.arange(n_items), held)
    counts = np.bincount(draws, minlength=n_items)
    assert counts[held].sum() == 0
    assert stats.chisquare(counts[free]).pvalue > P_MIN


@pytest.mark.parametrize("n_held", [5, 30])
def test_many_negatives_per_positive_are_exact_and_uniform(n_held):
    # k = 12 draws whole rows; 30 of 50 items held sends the user to the exact path.
    n_items, k = 50, 12
    held = np.arange(n_held) * 50 // n_held
    users = np.zeros(100, int)
    items = np.resize(held, 100)
    sampler = NegativeSampler(users, items, n_items, k)
    epochs = [sampler.negatives(e, 5) for e in range(20)]
    for neg_users, neg_items in epochs[:3]:
        _assert_exact(neg_users, neg_items, users, items, k)
    rows = np.concatenate([neg_items.reshape(-1, k) for _, neg_items in epochs])
    free = np.setdiff1d(np.arange(n_items), held)
    for draws in (rows[:, 0], rows[:, -1], rows.ravel()):
        counts = np.bincount(draws, minlength=n_items)
        assert counts[held].sum() == 0
        assert stats.chisquare(counts[free]).pvalue > P_MIN


def test_many_negatives_with_too_few_candidates_repeat_them():
    users = np.r_[np.zeros(45, int), [1, 1]]
    items = np.r_[np.arange(45), [0, 1]]  # user 0 has 5 candidates, k = 10
    with pytest.warns(UserWarning, match=r"user_idx 0 has fewer than 10"):
        sampler = NegativeSampler(users, items, 50, 10)
    neg_users, neg_items = sampler.negatives(0, 0)
    assert set(neg_items[neg_users == 0].tolist()) <= set(range(45, 50))
    _assert_exact(neg_users, neg_items, users, items, 10, distinct=False)
    assert len(set(neg_items[neg_users == 1][:10].tolist())) == 10


@pytest.mark.parametrize(
    ("n_items", "k"),
    [(16, 2), (16, 9), (40, 9)],  # slot by slot; rows, exact path; rows, rejection
)
def test_uniform_pairs_within_a_positive_are_uniform(n_items, k):
    # Ordered pairs (negative 0, negative 1) over the m = n_items - 4 candidates.
    users = np.zeros(500, int)
    items = np.resize(np.arange(4), 500)
    sampler = NegativeSampler(users, items, n_items, k)
    rows = np.concatenate(
        [sampler.negatives(e, 1)[1].reshape(-1, k) for e in range(20)]
    )
    m = n_items - 4
    code = (rows[:, 0] - 4) * m + (rows[:, 1] - 4)
    counts = np.bincount(code, minlength=m * m).reshape(m, m)
    assert np.diag(counts).sum() == 0
    assert stats.chisquare(counts[~np.eye(m, dtype=bool)]).pvalue > P_MIN


def _popularity_fixture():
    # Item i appears count_i times in train; user 0 holds items 0 and 5.
    counts = np.array([30, 1, 2, 5, 9, 14, 20, 3, 8, 12])
    items = np.repeat(np.arange(10), counts)
    users = np.arange(len(items)) % 60 + 1
    users[items == 0] = np.arange(30) + 1  # keep (user, item) pairs unique-ish
    users = np.r_[users, [0] * 400]
    items = np.r_[items, np.resize([0, 5], 400)]
    train_counts = np.bincount(items, minlength=10)
    return users, items, train_counts


@pytest.mark.parametrize("exponent", [1.0, 0.75, 2.0])
def test_popularity_first_negative_follows_weights(exponent):
    users, items, counts = _popularity_fixture()
    sampler = NegativeSampler(users, items, 10, 3, "popularity", exponent)
    mine = users == 0
    first = np.concatenate(
        [sampler.negatives(e, 4)[1].reshape(-1, 3)[mine, 0] for e in range(40)]
    )
    free = np.array([1, 2, 3, 4, 6, 7, 8, 9])
    weights = counts[free].astype(float) ** exponent
    observed = np.bincount(first, minlength=10)
    assert observed[[0, 5]].sum() == 0
    expected = weights / weights.sum() * len(first)
    assert stats.chisquare(observed[free], expected).pvalue > P_MIN


def test_popularity_second_negative_is_successive_sampling():
    users, items, counts = _popularity_fixture()
    sampler = NegativeSampler(users, items, 10, 2, "popularity", 1.0)
    mine = users == 0
    second = np.concatenate(
        [sampler.negatives(e, 8)[1].reshape(-1, 2)[mine, 1] for e in range(40)]
    )
    free = np.array([1, 2, 3, 4, 6, 7, 8, 9])
    p = counts[free] / counts[free].sum()
    # P(second = x) = sum over y != x of p(y) * p(x) / (1 - p(y)).
    q = np.array(
        [sum(p[y] * p[x] / (1 - p[y]) for y in range(8) if y != x) for x in range(8)]
    )
    observed = np.bincount(second, minlength=10)[free]
    assert stats.chisquare(observed, q / q.sum() * len(second)).pvalue > P_MIN


# -------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"user_idx": np.array([0, 1])}, "differ in length"),
        ({"user_idx": np.array([-1])}, "user_idx holds a negative"),
        ({"item_idx": np.array([9])}, "item_idx holds 9, outside"),
        ({"item_idx": np.array([0.5])}, "item_idx must hold integers"),
        ({"n_items": 0}, "n_items must be an integer >= 1"),
        ({"negatives_per_positive": 0}, "negatives_per_positive"),
        ({"strategy": "zipf"}, "strategy must be one of"),
        ({"exponent": float("nan")}, "exponent must be finite"),
    ],
)
def test_bad_sampler_arguments_are_named(kwargs, match):
    arguments = {"user_idx": np.array([0]), "item_idx": np.array([1]), "n_items": 9}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        NegativeSampler(**arguments)


@pytest.mark.parametrize(("epoch", "seed", "name"), [(-1, 0, "epoch"), (0, -3, "seed")])
def test_negative_epoch_or_seed_is_rejected(epoch, seed, name):
    sampler = NegativeSampler(np.array([0]), np.array([1]), 9)
    with pytest.raises(ValueError, match=name):
        sampler.negatives(epoch, seed)


# ------------------------------------------------------- evaluation candidates


def _eval_fixture(rng, n_users=200, n_items=400):
    users, items = _random_positives(rng, n_users, n_items, 60)
    held_out = rng.integers(0, len(users), n_users // 2)  # some interactions = "test"
    return users, items, n_items, held_out


def test_eval_candidates_are_99_distinct_never_interacted():
    rng = np.random.default_rng(5)
    users, items, n_items, held_out = _eval_fixture(rng)
    eval_users = np.unique(users[held_out])
    negatives = sample_eval_candidates(users, items, eval_users, n_items)
    assert negatives.shape == (len(eval_users), 99) and negatives.dtype == np.int32
    rows = np.sort(negatives, axis=1)
    assert not (rows[:, 1:] == rows[:, :-1]).any()
    known = _pairs(users, items)
    candidates = _pairs(np.repeat(eval_users, 99), negatives.ravel())
    assert not candidates & known
    for row in held_out:  # the held-out item is never among the user's candidates
        position = np.searchsorted(eval_users, users[row])
        assert items[row] not in negatives[position]


def test_eval_candidates_are_deterministic_in_the_seed():
    rng = np.random.default_rng(6)
    users, items, n_items, _ = _eval_fixture(rng)
    eval_users = np.arange(0, 200, 3)
    first = sample_eval_candidates(users, items, eval_users, n_items)
    np.testing.assert_array_equal(
        first, sample_eval_candidates(users, items, eval_users, n_items)
    )
    other = sample_eval_candidates(users, items, eval_users, n_items, seed=2018)
    assert (first != other).mean() > 0.9


def test_eval_candidates_inclusion_is_uniform():
    # One user with 30 of 130 items, drawn 400 times: each of the 100 free items is
    # included with probability 99 / 100.
    users = np.zeros(30, int)
    items = np.arange(0, 130, 130 / 30).astype(int)[:30]
    negatives = sample_eval_candidates(
        users, items, np.zeros(400, int), 130, 60, seed=3
    )
    counts = np.bincount(negatives.ravel(), minlength=130)
    assert counts[items].sum() == 0
    assert stats.chisquare(counts[np.setdiff1d(np.arange(130), items)]).pvalue > P_MIN


def test_eval_user_without_known_interactions_gets_any_items():
    negatives = sample_eval_candidates(np.array([0]), np.array([3]), np.array([5]), 120)
    assert len(np.unique(negatives[0])) == 99


def test_eval_candidates_error_names_the_short_user():
    users = np.r_[np.zeros(5, int), np.ones(30, int)]
    items = np.r_[np.arange(5), np.arange(30)]
    with pytest.raises(ValueError, match=r"eval user_idx 1 has fewer than 99 items"):
        sample_eval_candidates(users, items, np.array([0, 1]), n_items=128)
    # With exactly 99 free items the user gets all of them.
    negatives = sample_eval_candidates(users, items, np.array([1]), n_items=129)
    np.testing.assert_array_equal(np.sort(negatives[0]), np.arange(30, 129))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"known_item_idx": np.array([200])}, "known_item_idx holds 200"),
        ({"eval_user_idx": np.array([[0]])}, "eval_user_idx must be 1-D"),
        ({"n_negatives": 0}, "n_negatives must be an integer >= 1"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"known_user_idx": np.array([0, 0])}, "differ in length"),
    ],
)
def test_bad_eval_arguments_are_named(kwargs, match):
    arguments = {
        "known_user_idx": np.array([0]),
        "known_item_idx": np.array([1]),
        "eval_user_idx": np.array([0]),
        "n_items": 150,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sample_eval_candidates(**arguments)
