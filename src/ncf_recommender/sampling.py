"""Exact, vectorised negative sampling for implicit feedback.

Implicit data hold only positives, so training (He et al., "Neural Collaborative
Filtering", WWW 2017) pairs each positive with ``k`` items the user has not
interacted with, re-drawn every epoch, and the sampled evaluation ranks each
held-out item among 99 stored negatives. This module draws both, exactly and
without Python loops over users or rows:

* **Exact.** A negative is never one of the user's excluded items and the ``k``
  negatives of one positive are distinct whenever the user has at least ``k``
  candidate items. Users with no candidate at all raise an error that names them.
* **Fast path (rejection).** Items are drawn in bulk from the unrestricted
  distribution. Membership of each ``(user, item)`` key in the user's excluded
  set is checked with a one-hash bit filter (about 1.5 % false hits), confirmed
  exactly with ``np.searchsorted`` on the sorted int64 keys ``user * n_items +
  item``; only the rejected entries are redrawn, for a bounded number of rounds.
* **Exact path (no retry).** Rows whose acceptance rate is low (a user holding
  more than half of the catalogue's mass) or that are still rejected after the
  rounds are drawn directly in the user's restricted coordinate space: a
  uniform draw ``r`` in ``[0, mass_u)`` is mapped to the item at that position
  once the user's own items (and the row's earlier negatives) are cut out of
  the line. For the uniform strategy this is the rank trick: with the user's
  sorted items ``p_0 < p_1 < ...``, the ``r``-th non-interacted item is
  ``r + #{j : p_j - j <= r}``, one ``searchsorted`` on the int64 keys
  ``user * n_items + (p_j - j)``.

Both paths draw the ``k`` negatives of a row column by column, each from the
distribution restricted to the items not yet excluded (the user's items and the
row's earlier negatives). Rejection sampling and the direct draw have the same
output distribution, so routing a row to one or the other does not bias it.

The popularity strategy weights item ``i`` by ``count_i ** exponent`` (``count``
= number of training positives of the item; items absent from training get
weight 0 and are never drawn). Weights are quantised to integers, so the
restricted cumulative sums are exact int64 arithmetic; the quantisation keeps
``2**(62 - ceil(log2(n)))`` units for the heaviest item and at least one unit for
every other training item, so no item's probability moves by more than about
``1e-13`` in absolute terms.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

#: Names of the training negative-sampling strategies.
STRATEGIES: tuple[str, ...] = ("uniform", "popularity")

# Multiplier of the multiplicative (Fibonacci) hash of the bit filter.
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
# Filter bits per excluded key (false-hit rate about 1 / _FILTER_BITS_PER_KEY).
_FILTER_BITS_PER_KEY = 64
_MIN_FILTER_BITS_LOG2 = 16
_BIT_MASKS = np.left_shift(np.uint8(1), np.arange(8, dtype=np.uint8))
# Rejection rounds before the remaining rows switch to the exact path.
_REJECTION_ROUNDS = 8
# Total integer mass available to quantised popularity weights.
_WEIGHT_BITS = 62
# How many offending users an error or warning message lists.
_USERS_SHOWN = 5


def _user_list(users: np.ndarray) -> str:
    """Format the first few user indices of ``users`` for a message."""
    shown = ", ".join(str(int(u)) for u in users[:_USERS_SHOWN])
    more = len(users) - _USERS_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def _as_index_array(values: np.ndarray, name: str) -> np.ndarray:
    """Validate a 1-D array of non-negative integer indices, returned as int64.

    Raises:
        ValueError: If ``values`` is not 1-D, not integer or holds a negative value.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} holds a negative index ({int(array.min())})")
    return array


def _check_seed(value: int, name: str) -> int:
    """Validate a non-negative integer seed or epoch."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


class _ExclusionIndex:
    """Sorted set of excluded ``(user, item)`` pairs with per-user segments.

    Attributes:
        n_items: Catalogue size.
        keys: Sorted unique int64 keys ``user * n_items + item``.
        key_items: Item of each key.
        indptr: ``keys[indptr[u]:indptr[u + 1]]`` are user ``u``'s keys.
        degree: Number of distinct excluded items per user.
    """

    def __init__(
        self, users: np.ndarray, items: np.ndarray, n_items: int, n_users: int
    ) -> None:
        self.n_items = n_items
        keys = np.sort(users * n_items + items)
        if keys.size > 1:  # sort-based unique (np.unique hashes, which is slower)
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        self.keys = keys
        key_users = self.keys // n_items
        self.key_items = self.keys - key_users * n_items
        counts = np.bincount(key_users, minlength=n_users)
        self.indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.degree = counts.astype(np.int64)
        # Rank keys: user * n_items + (p_j - j) is non-decreasing, see module doc.
        within = np.arange(len(self.keys), dtype=np.int64) - self.indptr[key_users]
        self.rank_keys = self.keys - within
        self._build_filter()

    def _build_filter(self) -> None:
        """Set one bit per key in a bit array of about 64 bits per key."""
        wanted = max(1, _FILTER_BITS_PER_KEY * len(self.keys))
        bits_log2 = max(_MIN_FILTER_BITS_LOG2, math.ceil(math.log2(wanted)))
        self._shift = np.uint64(64 - bits_log2)
        self._filter = np.zeros(2**bits_log2 // 8, dtype=np.uint8)
        hashed = self._hash(self.keys)
        np.bitwise_or.at(
            self._filter, hashed >> np.uint64(3), _BIT_MASKS[hashed & np.uint64(7)]
        )

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        """Top ``bits_log2`` bits of the multiplicative hash of int64 keys."""
        hashed = keys.view(np.uint64) * _HASH_MULTIPLIER  # wraps modulo 2**64
        hashed >>= self._shift
        return hashed

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Exact membership of int64 ``keys`` in the excluded set.

        The bit filter clears most keys; the few it flags are confirmed with a
        binary search on the sorted keys.
        """
        hashed = self._hash(keys)
        byte = self._filter[hashed >> np.uint64(3)]
        byte &= _BIT_MASKS[hashed & np.uint64(7)]
        flagged = np.flatnonzero(byte)
        found = np.zeros(len(keys), dtype=bool)
        if flagged.size:
            candidates = keys[flagged]
            pos = np.searchsorted(self.keys, candidates)
            pos = np.minimum(pos, len(self.keys) - 1)
            found[flagged] = self.keys[pos] == candidates
        return found

    def count_below(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Number of the user's excluded items smaller than ``items``."""
        pos = np.searchsorted(self.keys, users * self.n_items + items)
        return pos - self.indptr[users]

    def rank_to_item(self, users: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """The ``ranks``-th (0-based) item not excluded for ``users``."""
        pos = np.searchsorted(self.rank_keys, users * self.n_items + ranks, "right")
        return ranks + (pos - self.indptr[users])


class _UniformSpace:
    """Uniform distribution over the catalogue, restricted per user."""

    def __init__(self, index: _ExclusionIndex) -> None:
        self.index = index
        self.total = index.n_items

    def mass(self, users: np.ndarray) -> np.ndarray:
        """Number of items not excluded for each user."""
        return self.total - self.index.degree[users]

    def candidates(self, users: np.ndarray) -> np.ndarray:
        """Number of drawable items per user (all non-excluded items)."""
        return self.mass(users)

    def weight(self, items: np.ndarray) -> np.ndarray:
        """Mass of each item (1)."""
        return np.ones(np.shape(items), dtype=np.int64)

    def free_draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Items drawn uniformly from the whole catalogue."""
        return rng.integers(0, self.total, size, dtype=np.int64)

    def start(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Position of non-excluded ``items`` in the user's restricted line."""
        return items - self.index.count_below(users, items)

    def locate(self, users: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Item at position ``offsets`` of each user's restricted line."""
        return self.index.rank_to_item(users, offsets)


class _PopularitySpace:
    """Distribution proportional to integer item weights, restricted per user."""

    def __init__(self, index: _ExclusionIndex, weights: np.ndarray) -> None:
        self.index = index
        self.weights = weights
        self.cum_incl = np.cumsum(weights)
        self.cum_excl = self.cum_incl - weights
        self.total = int(self.cum_incl[-1])
        self.n_weighted = int(np.count_nonzero(weights))
        key_weights = weights[index.key_items].astype(np.uint64)
        # Running sums wrap modulo 2**64; differences of them are exact because
        # every true partial sum is below 2**62.
        self._key_cum = np.zeros(len(index.keys) + 1, dtype=np.uint64)
        np.cumsum(key_weights, out=self._key_cum[1:])
        key_users = np.repeat(np.arange(len(index.degree)), index.degree)
        before = self._prefix(key_users, np.arange(len(index.keys)))
        # Q_j: position where the user's j-th excluded item was cut out.
        self._cut = self.cum_excl[index.key_items] - before

    def _prefix(self, users: np.ndarray, key_pos: np.ndarray) -> np.ndarray:
        """Weight of the user's excluded keys before global position ``key_pos``."""
        start = self._key_cum[self.index.indptr[users]]
        return (self._key_cum[key_pos] - start).view(np.int64)

    def mass(self, users: np.ndarray) -> np.ndarray:
        """Weight of the items not excluded for each user."""
        ends = self.index.indptr[users + 1]
        return self.total - self._prefix(users, ends)

    def candidates(self, users: np.ndarray) -> np.ndarray:
        """Number of drawable (positive-weight, non-excluded) items per user."""
        return self.n_weighted - self.index.degree[users]

    def weight(self, items: np.ndarray) -> np.ndarray:
        """Integer weight of each item."""
        return self.weights[items]

    def free_draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Items drawn proportionally to their weight from the whole catalogue."""
        offsets = rng.integers(0, self.total, size, dtype=np.int64)
        return np.searchsorted(self.cum_incl, offsets, side="right")

    def start(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Position of non-excluded ``items`` in the user's restricted line."""
        below = self.index.count_below(users, items)
        return self.cum_excl[items] - self._prefix(
            users, self.index.indptr[users] + below
        )

    def locate(self, users: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Item at position ``offsets`` of each user's restricted line."""
        cut_before = self._count_cuts(users, offsets)
        shifted = offsets + self._prefix(users, cut_before)
        return np.searchsorted(self.cum_incl, shifted, side="right")

    def _count_cuts(self, users: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Global key position of the first cut beyond ``offsets`` in each segment.

        A binary search vectorised over rows: each round halves every active
        row's ``[lo, hi)`` range, so it runs ``ceil(log2(max degree + 1))`` rounds.
        """
        lo = self.index.indptr[users].copy()
        hi = self.index.indptr[users + 1].copy()
        active = np.flatnonzero(lo < hi)
        while active.size:
            mid = (lo[active] + hi[active]) // 2
            right = self._cut[mid] <= offsets[active]
            lo[active[right]] = mid[right] + 1
            hi[active[~right]] = mid[~right]
            active = active[lo[active] < hi[active]]
        return lo


def _popularity_weights(items: np.ndarray, n_items: int, exponent: float) -> np.ndarray:
    """Integer weights proportional to ``count ** exponent`` (0 for unseen items)."""
    counts = np.bincount(items, minlength=n_items)
    seen = counts > 0
    weights = np.zeros(n_items, dtype=np.int64)
    if not seen.any():
        return weights
    log_weight = exponent * np.log(counts[seen].astype(np.float64))
    relative = np.exp(log_weight - log_weight.max())  # in (0, 1], no overflow
    unit_bits = _WEIGHT_BITS - math.ceil(math.log2(int(seen.sum()) + 1))
    scaled = np.rint(relative * 2.0**unit_bits).astype(np.int64)
    weights[seen] = np.maximum(scaled, 1)
    return weights


def _draw_rows(
    space: _UniformSpace | _PopularitySpace,
    users: np.ndarray,
    k: int,
    rng: np.random.Generator,
    with_replacement: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``k`` negatives per row, column by column, excluding earlier ones.

    Args:
        space: The (restricted) distribution to draw from.
        users: User of each row (int64).
        k: Negatives per row.
        rng: Source of randomness.
        with_replacement: Rows whose ``k`` draws are independent (users with
            fewer than ``k`` candidates); ``None`` for none.

    Returns:
        ``(len(users), k)`` int32 items.
    """
    index = space.index
    n = len(users)
    out = np.empty((n, k), dtype=np.int32)
    if n == 0:
        return out
    replace = np.zeros(n, dtype=bool) if with_replacement is None else with_replacement
    mass = space.mass(users)
    taken = np.zeros(n, dtype=np.int64)
    row_base = users * index.n_items
    for j in range(k):
        available = mass - taken
        # Rejection from the full catalogue accepts with probability
        # available / total; rows below 1/2 go straight to the exact path.
        easy = available >= space.total - available
        pending = np.flatnonzero(easy) if not easy.all() else None
        column = np.empty(n, dtype=np.int64)
        for _ in range(_REJECTION_ROUNDS):
            rows = slice(None) if pending is None else pending
            size = n if pending is None else len(pending)
            if size == 0:
                break
            draw = space.free_draw(rng, size)
            rejected = index.contains(row_base[rows] + draw)
            if j:
                earlier = (out[rows, :j] == draw[:, None]).any(axis=1)
                rejected |= earlier & ~replace[rows]
            column[rows] = draw
            pending = np.flatnonzero(rejected) if pending is None else pending[rejected]
        hard = np.flatnonzero(~easy)
        if pending is not None and pending.size:
            hard = np.concatenate([hard, pending])
        if hard.size:
            column[hard] = _draw_exact(
                space, users[hard], out[hard, :j], replace[hard], rng
            )
        out[:, j] = column
        taken += np.where(replace, 0, space.weight(column))
    return out


def _draw_exact(
    space: _UniformSpace | _PopularitySpace,
    users: np.ndarray,
    earlier: np.ndarray,
    replace: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One draw per row from the user's restricted line minus earlier picks."""
    picks = earlier.astype(np.int64)
    widths = space.weight(picks)
    widths[replace] = 0
    available = space.mass(users) - widths.sum(axis=1)
    offsets = rng.integers(0, available, dtype=np.int64)
    if picks.shape[1]:
        starts = space.start(np.repeat(users, picks.shape[1]), picks.ravel())
        starts = starts.reshape(picks.shape)
        order = np.argsort(starts, axis=1)
        starts = np.take_along_axis(starts, order, axis=1)
        widths = np.take_along_axis(widths, order, axis=1)
        for i in range(picks.shape[1]):  # ascending cut points, k is small
            offsets += np.where(offsets >= starts[:, i], widths[:, i], 0)
    return space.locate(users, offsets)


class NegativeSampler:
    """Per-epoch training negatives for a fixed set of training positives.

    Each positive ``(u, i)`` gets ``negatives_per_positive`` items that are not
    among ``u``'s training positives (held-out validation and test items stay
    drawable: excluding them would leak the answer), distinct within the
    positive where ``u`` has enough candidates. Every call is deterministic in
    ``(epoch, seed)``; different epochs give different negatives.

    Attributes:
        n_positives: Number of training positives (rows given, duplicates kept).
        n_items: Catalogue size.
        negatives_per_positive: Negatives per positive (``k``).
        strategy: ``"uniform"`` or ``"popularity"``.
        exponent: Popularity exponent (used by the popularity strategy).
    """

    def __init__(  # noqa: PLR0917 (public interface fixed by the modelling pipeline)
        self,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        n_items: int,
        negatives_per_positive: int = 4,
        strategy: str = "uniform",
        exponent: float = 0.75,
    ) -> None:
        """Index the training positives.

        Args:
            user_idx: User index of each training positive.
            item_idx: Item index of each training positive, in ``[0, n_items)``.
            n_items: Catalogue size.
            negatives_per_positive: Negatives per positive, at least 1.
            strategy: ``"uniform"`` over all items, or ``"popularity"`` with
                weights ``count ** exponent`` over the training items.
            exponent: Exponent of the popularity weights (finite).

        Raises:
            ValueError: On malformed input (the message names the argument), or
                if a user has interacted with every drawable item (the message
                names the user). Users with fewer than ``k`` but at least one
                candidate trigger a ``UserWarning`` naming them; their ``k``
                negatives are then drawn with replacement.
        """
        users = _as_index_array(user_idx, "user_idx")
        items = _as_index_array(item_idx, "item_idx")
        if len(users) != len(items):
            raise ValueError(
                f"user_idx and item_idx differ in length ({len(users)} vs {len(items)})"
            )
        if isinstance(n_items, bool) or not isinstance(n_items, int | np.integer):
            raise ValueError(f"n_items must be an integer, got {n_items!r}")
        if n_items < 1:
            raise ValueError(f"n_items must be at least 1, got {n_items}")
        if items.size and items.max() >= n_items:
            raise ValueError(
                f"item_idx holds {int(items.max())}, outside [0, n_items={n_items})"
            )
        k = negatives_per_positive
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(
                f"negatives_per_positive must be an integer >= 1, got {k!r}"
            )
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if not math.isfinite(exponent):
            raise ValueError(f"exponent must be finite, got {exponent!r}")

        self.n_positives = len(users)
        self.n_items = int(n_items)
        self.negatives_per_positive = int(k)
        self.strategy = strategy
        self.exponent = float(exponent)
        self._users = users
        self._users32 = users.astype(np.int32)
        self._items32 = items.astype(np.int32)
        n_users = int(users.max()) + 1 if users.size else 0
        index = _ExclusionIndex(users, items, self.n_items, n_users)
        if strategy == "uniform":
            self._space: _UniformSpace | _PopularitySpace = _UniformSpace(index)
        else:
            weights = _popularity_weights(index.key_items, self.n_items, exponent)
            self._space = _PopularitySpace(index, weights)
        self._short_rows = self._check_capacity(n_users)

    def _check_capacity(self, n_users: int) -> np.ndarray | None:
        """Reject users without candidates; flag rows of users with too few."""
        if self.n_positives == 0:
            return None
        present = np.flatnonzero(self._space.index.degree)
        candidates = self._space.candidates(present)
        empty = present[candidates <= 0]
        if empty.size:
            raise ValueError(
                f"user_idx {_user_list(empty)} has interacted with every item it "
                f"could be given as a negative ({self.strategy} strategy over "
                f"{self.n_items} items): no negative can be drawn"
            )
        k = self.negatives_per_positive
        short = present[candidates < k]
        if not short.size:
            return None
        warnings.warn(
            f"user_idx {_user_list(short)} has fewer than {k} candidate negative "
            f"items; the {k} negatives of each of its positives are drawn with "
            "replacement",
            UserWarning,
            stacklevel=3,
        )
        is_short = np.zeros(n_users, dtype=bool)
        is_short[short] = True
        return is_short[self._users]

    def negatives(self, epoch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw one epoch of negatives.

        Args:
            epoch: Epoch number (>= 0); each epoch gets its own random stream.
            seed: Base seed (>= 0).

        Returns:
            ``(users, items)``, int32 arrays of length ``n_positives * k``;
            negative ``j`` of positive ``i`` sits at ``i * k + j``.

        Raises:
            ValueError: If ``epoch`` or ``seed`` is not a non-negative integer.
        """
        rng = np.random.default_rng(
            [_check_seed(seed, "seed"), _check_seed(epoch, "epoch")]
        )
        k = self.negatives_per_positive
        items = _draw_rows(self._space, self._users, k, rng, self._short_rows)
        return np.repeat(self._users32, k), items.reshape(-1)

    def examples(
        self, epoch: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch of labelled training examples.

        Args:
            epoch: Epoch number (>= 0).
            seed: Base seed (>= 0).

        Returns:
            ``(users, items, labels)``: int32, int32 and float32 arrays holding
            all positives (label 1) in input order followed by the negatives of
            :meth:`negatives` (label 0); not shuffled.
        """
        neg_users, neg_items = self.negatives(epoch, seed)
        labels = np.zeros(self.n_positives + len(neg_items), dtype=np.float32)
        labels[: self.n_positives] = 1.0
        return (
            np.concatenate([self._users32, neg_users]),
            np.concatenate([self._items32, neg_items]),
            labels,
        )


def sample_eval_candidates(  # noqa: PLR0917 (public interface, protocol order)
    known_user_idx: np.ndarray,
    known_item_idx: np.ndarray,
    eval_user_idx: np.ndarray,
    n_items: int,
    n_negatives: int = 99,
    seed: int = 2017,
) -> np.ndarray:
    """Draw the stored negatives of the sampled evaluation protocol.

    For each evaluation user: ``n_negatives`` distinct items drawn uniformly
    without replacement from the items the user never interacted with, using a
    fresh ``numpy.random.default_rng(seed)`` (the same algorithm as the
    training sampler: bulk draws, exact rejection of known pairs and earlier
    picks, and an exact rank-based draw for the rest).

    Args:
        known_user_idx: Users of ALL known interactions (train, validation and
            test).
        known_item_idx: Items of those interactions.
        eval_user_idx: The users to draw for, one row each (in this order).
        n_items: Catalogue size.
        n_negatives: Negatives per user.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        ``(len(eval_user_idx), n_negatives)`` int32 array; row ``i`` belongs to
        ``eval_user_idx[i]``.

    Raises:
        ValueError: On malformed input (the message names the argument), or if
            a user has fewer than ``n_negatives`` items it never interacted with
            (the message names the user).
    """
    users = _as_index_array(known_user_idx, "known_user_idx")
    items = _as_index_array(known_item_idx, "known_item_idx")
    targets = _as_index_array(eval_user_idx, "eval_user_idx")
    if len(users) != len(items):
        raise ValueError(
            "known_user_idx and known_item_idx differ in length "
            f"({len(users)} vs {len(items)})"
        )
    if (
        isinstance(n_items, bool)
        or not isinstance(n_items, int | np.integer)
        or n_items < 1
    ):
        raise ValueError(f"n_items must be an integer >= 1, got {n_items!r}")
    if items.size and items.max() >= n_items:
        raise ValueError(
            f"known_item_idx holds {int(items.max())}, outside [0, n_items={n_items})"
        )
    if isinstance(n_negatives, bool) or not isinstance(n_negatives, int | np.integer):
        raise ValueError(f"n_negatives must be an integer, got {n_negatives!r}")
    if n_negatives < 1:
        raise ValueError(f"n_negatives must be at least 1, got {n_negatives}")
    seed = _check_seed(seed, "seed")
    n_users = int(max(users.max(initial=-1), targets.max(initial=-1))) + 1
    index = _ExclusionIndex(users, items, int(n_items), n_users)
    space = _UniformSpace(index)
    short = np.unique(targets[space.mass(targets) < n_negatives])
    if short.size:
        raise ValueError(
            f"eval user_idx {_user_list(short)} has fewer than {n_negatives} items "
            f"it never interacted with (of {n_items}): cannot draw {n_negatives} "
            "distinct negatives"
        )
    return _draw_rows(space, targets, int(n_negatives), np.random.default_rng(seed))
