"""Exact, vectorised negative sampling for implicit feedback.

Implicit data hold only positives, so training (He et al., "Neural Collaborative
Filtering", WWW 2017) pairs each positive with ``k`` items the user has not
interacted with, re-drawn every epoch, and the sampled evaluation ranks each
held-out item among 99 stored negatives. This module draws both, exactly, with
numpy array operations and no Python loop over users or rows (the loops below
run over blocks of 262,144 rows, the ``k`` negative slots and a bounded number
of redraw rounds):

* **Exact.** A negative is never one of the user's excluded items, and the
  ``k`` negatives of one positive are distinct whenever the user has at least
  ``k`` candidate items. A user without any candidate raises an error naming
  the user; a user with fewer than ``k`` gets a warning naming it and its
  negatives are drawn with replacement.
* **Fast path (rejection).** Items are drawn in bulk from the unrestricted
  distribution. Each user owns a small block of a bit filter (a power of two
  of 32-bit words, at least 64 bits per excluded item), so a draw is screened
  with one multiplicative hash and one gather that stays in cache when rows
  are grouped by user, as ``train_interactions`` is. The few flagged draws
  (at most about 1.6 % false hits) are confirmed by a vectorised binary search
  in the user's sorted items; rejected draws, and draws equal to an earlier
  negative of the same positive, are redrawn for at most eight rounds.
* **Exact path (no retry).** Rows with a low acceptance rate (the user holds
  at least half of the catalogue's mass) and rows still rejected after the
  rounds draw an offset ``r`` uniformly in ``[0, mass_u)`` on the user's
  restricted line, the catalogue with the user's items (and the row's earlier
  negatives) cut out, and map it back to an item. For the uniform strategy
  this is the rank trick: with the user's sorted items ``p_0 < p_1 < ...``,
  the ``r``-th non-interacted item is ``r + #{j : p_j - j <= r}``.

The ``k`` negatives of a row are drawn slot by slot, each from the distribution
restricted to the items not yet excluded (successive sampling). Rejection and
the direct draw give the same distribution, and a redraw round's outcome does
not depend on which allowed item was drawn, so routing a row to either path
does not bias it. Rows are processed in blocks so that temporaries stay in the
CPU cache; rows not grouped by user are grouped internally and put back.

The popularity strategy weights item ``i`` by ``count_i ** exponent`` (``count``
= number of training positives of the item; items absent from training get
weight 0 and are never drawn). Weights are quantised to integers, so the
restricted cumulative sums are exact int64 arithmetic: the heaviest item gets
``2**(62 - ceil(log2(n + 1)))`` units and every other training item at least
one, which moves no item's probability by more than about ``1e-13``.
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext

import numpy as np

from ncf_recommender.progress import progress

#: Names of the training negative-sampling strategies.
STRATEGIES: tuple[str, ...] = ("uniform", "popularity")

# Multiplier of the 32-bit multiplicative (Fibonacci) hash of the bit filter.
_HASH_MULTIPLIER = np.uint32(0x9E3779B1)
# Filter bits per excluded item (false-hit rate at most about 1 / 64).
_FILTER_BITS_PER_KEY = 64
# Rows per block: a block's int32 temporaries (1 MiB each) stay in the L2/L3 caches.
_BLOCK_ROWS = 262_144
# Rejection rounds before the remaining rows switch to the exact path.
_REJECTION_ROUNDS = 8
# Up to this many negatives per row, a slot is checked against the earlier slots
# one by one (k * (k - 1) / 2 comparisons); larger uniform draws (the 99
# evaluation negatives) draw whole rows and find repeats by sorting each row.
_SLOT_BY_SLOT_MAX_K = 8
# Total integer mass available to quantised popularity weights.
_WEIGHT_BITS = 62
# Linear steps of the guide-table lookup before falling back to a binary search.
_GUIDE_STEPS = 4
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


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_seed(value: int, name: str) -> int:
    """Validate a non-negative integer seed or epoch."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _check_n_items(n_items: int, items: np.ndarray, name: str) -> int:
    """Validate the catalogue size against the largest item index in ``items``."""
    if not _is_int(n_items) or n_items < 1:
        raise ValueError(f"n_items must be an integer >= 1, got {n_items!r}")
    if n_items >= 2**31:
        raise ValueError(f"n_items must be below 2**31 (int32 item_idx), got {n_items}")
    if items.size and items.max() >= n_items:
        raise ValueError(
            f"{name} holds {int(items.max())}, outside [0, n_items={n_items})"
        )
    return int(n_items)


def _segment_search(
    values: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    targets: np.ndarray,
    *,
    right: bool,
) -> np.ndarray:
    """Vectorised ``searchsorted`` of each target in its own sorted segment.

    Args:
        values: Array sorted within every segment ``values[lo[i]:hi[i]]``.
        lo: Segment starts.
        hi: Segment ends (exclusive).
        targets: One value to place per segment.
        right: ``side="right"`` (first value ``> target``) if true, else
            ``side="left"`` (first value ``>= target``).

    Returns:
        Global positions in ``[lo, hi]``. The loop halves every segment per
        round, so it runs ``ceil(log2(longest segment + 1))`` rounds.
    """
    lo = lo.copy()
    hi = hi.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        a_lo, a_hi = lo[active], hi[active]
        mid = (a_lo + a_hi) >> 1
        probe = values[mid]
        go_right = probe <= targets[active] if right else probe < targets[active]
        lo[active] = np.where(go_right, mid + 1, a_lo)
        hi[active] = np.where(go_right, a_hi, mid)
        active = active[lo[active] < hi[active]]
    return lo


class _ExclusionIndex:
    """Each user's excluded items, sorted, with a per-user bit filter.

    Attributes:
        n_items: Catalogue size.
        indptr: ``key_items[indptr[u]:indptr[u + 1]]`` are user ``u``'s items.
        degree: Number of distinct excluded items per user.
        key_items: Excluded items, sorted by user then item.
        rank_items: ``p_j - j`` for the user's ``j``-th item ``p_j``.
    """

    def __init__(
        self, users: np.ndarray, items: np.ndarray, n_items: int, n_users: int
    ) -> None:
        self.n_items = n_items
        keys = np.sort(users * n_items + items)
        if keys.size > 1:  # sort-based unique (np.unique hashes, which is slower)
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        key_users = keys // n_items
        key_items = keys - key_users * n_items
        self.key_items = key_items.astype(np.int32)
        self.degree = np.bincount(key_users, minlength=n_users).astype(np.int64)
        self.indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(self.degree, out=self.indptr[1:])
        within = np.arange(len(keys), dtype=np.int64) - self.indptr[key_users]
        self.rank_items = (key_items - within).astype(np.int32)
        self._build_filter(key_users)

    def _build_filter(self, key_users: np.ndarray) -> None:
        """Give each user ``2**ceil(log2(2 * degree))`` words (at least 1); set item bits."""
        words = -(-self.degree * _FILTER_BITS_PER_KEY // 32)
        words = np.left_shift(
            1, np.ceil(np.log2(np.maximum(words, 1))).astype(np.int64)
        )
        total = int(words.sum())
        dtype = np.uint32 if total < 2**32 else np.uint64
        self._word_offset = (np.cumsum(words) - words).astype(dtype)
        self._word_mask = (words - 1).astype(dtype)
        self._filter = np.zeros(total, dtype=np.uint32)
        word, bit = self._hash(
            self.key_items.astype(np.uint32),
            self._word_offset[key_users],
            self._word_mask[key_users],
        )
        np.bitwise_or.at(self._filter, word, np.left_shift(np.uint32(1), bit))

    @staticmethod
    def _hash(
        items: np.ndarray, offset: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filter word (in the user's block) and bit of uint32 ``items``."""
        hashed = items * _HASH_MULTIPLIER  # wraps modulo 2**32
        word = (hashed >> np.uint32(5)).astype(offset.dtype, copy=False)
        word &= mask
        word += offset
        hashed >>= np.uint32(27)
        return word, hashed

    def screen(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row filter block (offset, mask) of ``users``, for :meth:`flagged`."""
        return self._word_offset[users], self._word_mask[users]

    def flagged(
        self,
        screen: tuple[np.ndarray, np.ndarray],
        rows: slice | np.ndarray,
        items: np.ndarray,
    ) -> np.ndarray:
        """Bit-filter screen of ``items`` for ``rows``: False means not excluded."""
        offset, mask = screen
        offset, mask = offset[rows], mask[rows]
        if items.ndim == 2:  # whole rows of draws
            offset, mask = offset[:, None], mask[:, None]
        word, bit = self._hash(items.view(np.uint32), offset, mask)
        hits = self._filter[word]
        hits >>= bit
        hits &= np.uint32(1)
        return hits.astype(bool)

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Exact membership of ``(users, items)`` in the excluded set."""
        lo, hi = self.indptr[users], self.indptr[users + 1]
        pos = _segment_search(self.key_items, lo, hi, items, right=False)
        found = pos < hi
        found[found] = self.key_items[pos[found]] == items[found]
        return found

    def count_below(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Number of the user's excluded items smaller than ``items``."""
        lo, hi = self.indptr[users], self.indptr[users + 1]
        return _segment_search(self.key_items, lo, hi, items, right=False) - lo

    def rank_to_item(self, users: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """The ``ranks``-th (0-based) item not excluded for ``users``."""
        lo, hi = self.indptr[users], self.indptr[users + 1]
        return ranks + (
            _segment_search(self.rank_items, lo, hi, ranks, right=True) - lo
        )


class _UniformSpace:
    """Uniform distribution over the catalogue, restricted per user."""

    def __init__(self, index: _ExclusionIndex) -> None:
        self.index = index
        self.total = index.n_items
        self.max_weight = 1

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
        """Items drawn uniformly from the whole catalogue (int32)."""
        return rng.integers(0, self.total, size, dtype=np.int32)

    def start(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Position of non-excluded ``items`` on the user's restricted line."""
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
        # Guide table: bins of 2**shift units, each pointing at the first item
        # that ends after the bin's start, so a draw needs about one step.
        spread = self.total / max(self.n_weighted, 1)  # no weight: no positives
        self._shift = max(0, math.ceil(math.log2(max(spread, 1.0))))
        bin_starts = np.arange(((self.total - 1) >> self._shift) + 1, dtype=np.int64)
        guide = np.searchsorted(self.cum_incl, bin_starts << self._shift, "right")
        self._guide = guide.astype(np.int32)
        self.max_weight = int(weights.max())
        # Running sums of the excluded items' weights wrap modulo 2**64;
        # differences of them are exact because every true sum is below 2**62.
        key_weights = weights[index.key_items].astype(np.uint64)
        self._key_cum = np.zeros(len(key_weights) + 1, dtype=np.uint64)
        np.cumsum(key_weights, out=self._key_cum[1:])
        key_users = np.repeat(np.arange(len(index.degree)), index.degree)
        before = self._prefix(key_users, np.arange(len(key_weights)))
        # Where the user's j-th excluded item is cut out of its restricted line.
        self._cut = self.cum_excl[index.key_items] - before

    def _prefix(self, users: np.ndarray, key_pos: np.ndarray) -> np.ndarray:
        """Weight of the user's excluded items before global position ``key_pos``."""
        start = self._key_cum[self.index.indptr[users]]
        return (self._key_cum[key_pos] - start).view(np.int64)

    def mass(self, users: np.ndarray) -> np.ndarray:
        """Weight of the items not excluded for each user."""
        return self.total - self._prefix(users, self.index.indptr[users + 1])

    def candidates(self, users: np.ndarray) -> np.ndarray:
        """Number of drawable (positive-weight, non-excluded) items per user."""
        return self.n_weighted - self.index.degree[users]

    def weight(self, items: np.ndarray) -> np.ndarray:
        """Integer weight of each item."""
        return self.weights[items]

    def free_draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Items drawn proportionally to their weight (int32)."""
        offsets = rng.integers(0, self.total, size, dtype=np.int64)
        found = self._guide[offsets >> self._shift]
        behind = np.flatnonzero(self.cum_incl[found] <= offsets)
        for _ in range(_GUIDE_STEPS):
            if not behind.size:
                break
            found[behind] += 1
            behind = behind[self.cum_incl[found[behind]] <= offsets[behind]]
        if behind.size:
            found[behind] = np.searchsorted(self.cum_incl, offsets[behind], "right")
        return found

    def start(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Position of non-excluded ``items`` on the user's restricted line."""
        below = self.index.count_below(users, items)
        return self.cum_excl[items] - self._prefix(
            users, self.index.indptr[users] + below
        )

    def locate(self, users: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Item at position ``offsets`` of each user's restricted line."""
        lo, hi = self.index.indptr[users], self.index.indptr[users + 1]
        cuts_before = _segment_search(self._cut, lo, hi, offsets, right=True)
        shifted = offsets + self._prefix(users, cuts_before)
        return np.searchsorted(self.cum_incl, shifted, side="right")


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
    *,
    description: str | None = None,
) -> np.ndarray:
    """Draw ``k`` negatives per row, block by block of rows.

    Args:
        space: The (restricted) distribution to draw from.
        users: User of each row (int64); fastest when grouped by user.
        k: Negatives per row.
        rng: Source of randomness.
        with_replacement: Rows whose ``k`` draws are independent (users with
            fewer than ``k`` candidates); ``None`` for none.
        description: Show progress (rows/s) under this name; ``None``: none.
            Progress never touches ``rng``: the draws are the same.

    Returns:
        ``(len(users), k)`` int32 items.
    """
    out = np.empty((len(users), k), dtype=np.int32)
    shown = (
        nullcontext(_no_progress)
        if description is None
        else progress(description, len(users), unit="rows")
    )
    with shown as advance:
        for start in range(0, len(users), _BLOCK_ROWS):
            rows = slice(start, start + _BLOCK_ROWS)
            replace = None if with_replacement is None else with_replacement[rows]
            if isinstance(space, _UniformSpace) and k > _SLOT_BY_SLOT_MAX_K:
                _draw_block_rows(space, users[rows], rng, replace, out[rows])
            else:
                _draw_block(space, users[rows], rng, replace, out[rows])
            advance(len(users[rows]))
    return out


def _no_progress(_: float) -> None:
    """``advance`` when no progress is shown."""


def _draw_block(
    space: _UniformSpace | _PopularitySpace,
    users: np.ndarray,
    rng: np.random.Generator,
    replace: np.ndarray | None,
    block: np.ndarray,
) -> None:
    """Fill ``block`` (rows x k) with negatives for one block of rows, slot by slot."""
    index = space.index
    n, k = block.shape
    screen = index.screen(users)
    mass = space.mass(users)
    taken = np.zeros(n, dtype=np.int64)
    distinct = None if replace is None else ~replace
    # Rejection accepts with probability available / total; rows below one half
    # go straight to the exact path. Most blocks stay above it for every slot,
    # which one bound on the smallest mass proves.
    lowest = int(mass.min()) - (k - 1) * space.max_weight
    always_easy = 2 * lowest >= space.total
    easy = None
    for j in range(k):
        if not always_easy:
            available = mass - taken
            easy = available >= space.total - available
        if easy is None or easy.all():
            rows: slice | np.ndarray = slice(None)
        else:
            rows = np.flatnonzero(easy)
        size = n if isinstance(rows, slice) else len(rows)
        column = block[:, j]
        for _ in range(_REJECTION_ROUNDS):
            if size == 0:
                break
            draw = space.free_draw(rng, size)
            rejected = index.flagged(screen, rows, draw)
            hits = np.flatnonzero(rejected)
            if hits.size:
                row_hits = hits if isinstance(rows, slice) else rows[hits]
                rejected[hits] = index.contains(users[row_hits], draw[hits])
            if j:
                repeated = block[rows, 0] == draw
                for i in range(1, j):
                    repeated |= block[rows, i] == draw
                if distinct is not None:
                    repeated &= distinct[rows]
                rejected |= repeated
            column[rows] = draw
            again = np.flatnonzero(rejected)
            rows = again if isinstance(rows, slice) else rows[again]
            size = len(rows)
        hard = np.flatnonzero(~easy) if easy is not None else np.zeros(0, np.int64)
        if size:
            hard = np.concatenate([hard, rows])
        if hard.size:
            column[hard] = _draw_exact(
                space,
                users[hard],
                block[hard, :j],
                None if replace is None else replace[hard],
                rng,
            )
        if j + 1 < k and not always_easy:
            weight = space.weight(column)
            taken += weight if replace is None else np.where(replace, 0, weight)


def _repeats(draws: np.ndarray) -> np.ndarray:
    """Mark every occurrence of a value after its first one in the same row."""
    repeated = np.zeros(draws.shape, dtype=bool)
    ordered = np.sort(draws, axis=1)
    rows = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    if rows.size:
        order = np.argsort(draws[rows], axis=1, kind="stable")
        values = np.take_along_axis(draws[rows], order, axis=1)
        later = np.zeros(values.shape, dtype=bool)
        later[:, 1:] = values[:, 1:] == values[:, :-1]
        marks = np.zeros(values.shape, dtype=bool)
        np.put_along_axis(marks, order, later, axis=1)
        repeated[rows] = marks
    return repeated


def _invalid(
    space: _UniformSpace,
    screen: tuple[np.ndarray, np.ndarray],
    users: np.ndarray,
    rows: np.ndarray,
    draws: np.ndarray,
    *,
    replace: np.ndarray | None,
) -> np.ndarray:
    """Entries of ``draws`` (one row per ``rows``) that are excluded or repeats."""
    index = space.index
    invalid = index.flagged(screen, rows, draws)
    hit_rows, hit_slots = np.nonzero(invalid)
    if hit_rows.size:
        invalid[hit_rows, hit_slots] = index.contains(
            users[rows[hit_rows]], draws[hit_rows, hit_slots]
        )
    repeated = _repeats(draws)
    if replace is not None:
        repeated &= ~replace[rows, None]
    return invalid | repeated


def _draw_block_rows(
    space: _UniformSpace,
    users: np.ndarray,
    rng: np.random.Generator,
    replace: np.ndarray | None,
    block: np.ndarray,
) -> None:
    """Fill ``block`` with uniform negatives drawn a whole row at a time.

    Every entry is drawn from the catalogue; excluded entries and repeats
    within a row (all but the first occurrence) are redrawn for a few rounds,
    and rows still invalid are drawn afresh by the exact path, slot by slot.
    Every step treats all non-excluded items alike (it looks only at exclusion
    and equality), so the result is uniform over the ordered k-tuples of
    distinct candidates, as slot-by-slot sampling without replacement is.
    """
    k = block.shape[1]
    screen = space.index.screen(users)
    easy = 2 * (space.mass(users) - (k - 1)) >= space.total
    rows = np.flatnonzero(easy)
    block[rows] = space.free_draw(rng, (rows.size, k))
    for round_ in range(_REJECTION_ROUNDS + 1):
        if not rows.size:
            break
        draws = block[rows]
        invalid = _invalid(space, screen, users, rows, draws, replace=replace)
        bad = np.flatnonzero(invalid.any(axis=1))
        rows = rows[bad]  # rows checked and found invalid
        if not rows.size or round_ == _REJECTION_ROUNDS:
            break
        draws, invalid = draws[bad], invalid[bad]
        draws[invalid] = space.free_draw(rng, int(invalid.sum()))
        block[rows] = draws
    hard = np.concatenate([np.flatnonzero(~easy), rows])
    if hard.size:
        hard_replace = None if replace is None else replace[hard]
        for j in range(k):
            block[hard, j] = _draw_exact(
                space, users[hard], block[hard, :j], hard_replace, rng
            )


def _draw_exact(
    space: _UniformSpace | _PopularitySpace,
    users: np.ndarray,
    earlier: np.ndarray,
    replace: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One draw per row from the user's restricted line minus earlier picks."""
    picks = earlier.astype(np.int64)
    widths = space.weight(picks)
    if replace is not None:
        widths[replace] = 0
    offsets = rng.integers(0, space.mass(users) - widths.sum(axis=1), dtype=np.int64)
    if picks.shape[1]:
        starts = space.start(np.repeat(users, picks.shape[1]), picks.ravel())
        starts = starts.reshape(picks.shape)
        order = np.argsort(starts, axis=1)
        starts = np.take_along_axis(starts, order, axis=1)
        widths = np.take_along_axis(widths, order, axis=1)
        for i in range(picks.shape[1]):  # cut points in ascending order
            offsets += np.where(offsets >= starts[:, i], widths[:, i], 0)
    return space.locate(users, offsets).astype(np.int32)


class NegativeSampler:
    """Per-epoch training negatives for a fixed set of training positives.

    Each positive ``(u, i)`` gets ``negatives_per_positive`` items that are not
    among ``u``'s training positives (held-out validation and test items stay
    drawable: excluding them would leak the answer), distinct within the
    positive where ``u`` has enough candidates. Every call is deterministic in
    ``(epoch, seed)``; different epochs give different negatives. Positives
    grouped by user (as ``train_interactions`` is) are sampled fastest.

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
        n_items = _check_n_items(n_items, items, "item_idx")
        k = negatives_per_positive
        if not _is_int(k) or k < 1:
            raise ValueError(
                f"negatives_per_positive must be an integer >= 1, got {k!r}"
            )
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if not math.isfinite(exponent):
            raise ValueError(f"exponent must be finite, got {exponent!r}")

        self.n_positives = len(users)
        self.n_items = n_items
        self.negatives_per_positive = int(k)
        self.strategy = strategy
        self.exponent = float(exponent)
        self._users32 = users.astype(np.int32)
        self._items32 = items.astype(np.int32)
        grouped = users.size < 2 or bool((users[1:] >= users[:-1]).all())
        self._order = None if grouped else np.argsort(users, kind="stable")
        self._grouped_users = users if grouped else users[self._order]
        n_users = int(users.max()) + 1 if users.size else 0
        index = _ExclusionIndex(users, items, n_items, n_users)
        if strategy == "uniform":
            self._space: _UniformSpace | _PopularitySpace = _UniformSpace(index)
        else:
            weights = _popularity_weights(index.key_items, n_items, exponent)
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
        return is_short[self._grouped_users]

    def negatives(self, epoch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw one epoch of negatives.

        Args:
            epoch: Epoch number (>= 0); each epoch gets its own random stream,
                ``numpy.random.default_rng([seed, epoch])``.
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
        items = _draw_rows(self._space, self._grouped_users, k, rng, self._short_rows)
        if self._order is not None:  # back to the caller's row order
            ordered = np.empty_like(items)
            ordered[self._order] = items
            items = ordered
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
    without replacement from the items the user never interacted with, from a
    fresh ``numpy.random.default_rng(seed)`` (the training sampler's algorithm:
    bulk draws, exact rejection of known pairs and of the row's earlier picks,
    and the exact rank-based draw for the rest).

    Args:
        known_user_idx: Users of ALL known interactions (train, validation and
            test).
        known_item_idx: Items of those interactions.
        eval_user_idx: The users to draw for, one row each, in this order.
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
    n_items = _check_n_items(n_items, items, "known_item_idx")
    if not _is_int(n_negatives) or n_negatives < 1:
        raise ValueError(f"n_negatives must be an integer >= 1, got {n_negatives!r}")
    seed = _check_seed(seed, "seed")
    n_users = int(max(users.max(initial=-1), targets.max(initial=-1))) + 1
    space = _UniformSpace(_ExclusionIndex(users, items, n_items, n_users))
    short = np.unique(targets[space.mass(targets) < n_negatives])
    if short.size:
        raise ValueError(
            f"eval user_idx {_user_list(short)} has fewer than {n_negatives} items "
            f"it never interacted with (of {n_items}): cannot draw {n_negatives} "
            "distinct negatives"
        )
    return _draw_rows(
        space,
        targets,
        int(n_negatives),
        np.random.default_rng(seed),
        description="evaluation negatives",
    )
