"""Seeded generator of ratings shaped like Amazon Electronics 2014.

The output has the format of the 2014 ``ratings_Electronics.csv`` file: one row
per rating with a reviewer-like ``user`` id (``'A2CX7LUOHB2NDG'``), an ASIN-like
``item`` id (``'B00004ZCJE'`` or ``'0594451647'``), a ``rating`` of 1.0 to 5.0
stars and a unix ``timestamp`` at day granularity. Rows are grouped by item, as
in the real file.

Generative model, in the order the generator runs:

1. **Catalogue.** Items are spread over a fixed list of product categories
   (camera, memory card, camera bag, TV, HDMI cable, ...) in proportion to the
   category's share. Inside a category, an item's popularity follows a Zipf
   law over its rank, so item popularity is heavy-tailed overall.
2. **Complements.** The category list carries a directed "bought next" graph
   (camera -> memory card, camera bag, tripod; memory card -> card reader;
   ...). Every item receives a few complement items, drawn once from the
   successor categories of its own category: a specific camera goes with a
   specific memory card. These item chains are what makes order matter.
3. **Users.** Each user's number of ratings follows a truncated discrete power
   law ``P(k) ~ (k + 0.5)**-a`` whose exponent is solved so the mean is
   ``n_ratings / n_users`` (about 1.86 for the real data: most users rate 1-3
   items, a few rate hundreds); counts are then nudged to sum to ``n_ratings``.
   The item Zipf exponent (1.2) and this shift are calibrated so that the
   full-size generation has about the real data's 5-core (see
   :data:`ELECTRONICS_2014_5CORE_LIKE`).
   Each user also has three interest categories with weights 0.6 / 0.3 / 0.1.
4. **Sequences.** Position by position, for every user still active at that
   position at once: with probability ``chain_prob`` the next item is a
   complement of the previous one; otherwise (``interest_prob``) a category is
   drawn from the user's interests, or from the global category mix, and an
   item from that category by popularity. Draws that repeat an item of the
   user's history are redrawn (after ten tries uniformly over all items), so
   (user, item) pairs are unique.
5. **Coverage.** Items that no draw reached replace random non-chain draws of
   their category, so exactly ``n_items`` items appear; like the real long
   tail, these items are rated once.
6. **Time.** Gaps between consecutive purchases are same-day ties (often for
   complements), days to weeks after a chained purchase, or months otherwise.
   A user's first day is drawn from a density that grows exponentially between
   1998-12-04 and 2014-07-23, so recent years hold most ratings.
7. **Stars.** A latent score (item quality + user leniency + noise) is cut at
   the quantiles that reproduce the real star shares 11.5 / 5.8 / 8.1 / 19.0 /
   55.6 % for 1-5 stars.
8. **Dirt** (optional, :func:`inject_dirt`): duplicate rows, repeated (user,
   item) pairs with another rating and day, missing values, unparsable values
   and out-of-range ratings, each row with exactly one defect, counted in
   ``frame.attrs["dirt_counts"]``.

All of it is vectorised numpy; the only Python loops run over sequence
positions (a few hundred), never over users or rows. Everything is a function
of the arguments, so the same arguments give an identical frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

#: Sizes of the real 2014 ``ratings_Electronics.csv``.
ELECTRONICS_2014: dict[str, int] = {
    "n_ratings": 7_824_482,
    "n_users": 4_201_696,
    "n_items": 476_002,
}
#: Sizes of the Amazon Reviews 2023 Electronics category (Hou et al. 2024):
#: 43.9M ratings by 18.3M users of 1.6M items. The generator keeps the 2014
#: star shares and time span; only the sizes (hence ratings per user, 2.4, and
#: per item, 27) follow 2023.
ELECTRONICS_2023: dict[str, int] = {
    "n_ratings": 43_900_000,
    "n_users": 18_300_000,
    "n_items": 1_600_000,
}
#: Generation whose iterative 5-core has roughly the size of the real 2014
#: Electronics 5-core (192,403 users, 63,001 items, 1,689,188 ratings). The
#: generator is calibrated so that this is the full-size preset itself: seed 42
#: gives a 5-core of 1,748,521 ratings, 181,602 users and 59,929 items
#: (``benchmarks/bench_generator.py``). Run the 5-core filter on its output.
ELECTRONICS_2014_5CORE_LIKE: dict[str, int] = dict(ELECTRONICS_2014)
#: Default size: its iterative 5-core (seed 42: 67,686 ratings, 7,308 users,
#: 4,477 items) is small enough for a quick whole ``kedro run`` (timings:
#: docs/results.md).
DEFAULT_N_RATINGS = 350_000

#: Real star shares for 1..5 stars.
STAR_SHARES = (0.115, 0.058, 0.081, 0.190, 0.556)
#: Column names of the generated frame (the real file has no header).
COLUMNS = ("user", "item", "rating", "timestamp")

SECONDS_PER_DAY = 86_400
FIRST_DAY = (date(1998, 12, 4) - date(1970, 1, 1)).days
LAST_DAY = (date(2014, 7, 23) - date(1970, 1, 1)).days
#: Growth of the density of users' first days (x1.5 a year).
_GROWTH_PER_DAY = math.log(1.5) / 365.25

# (name, share of items and of demand, categories bought next).
_CATEGORIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("camera", 5.0, ("memory card", "camera bag", "tripod", "camera battery")),
    ("camera lens", 3.0, ("lens filter", "camera bag", "lens cap")),
    ("lens filter", 1.5, ("lens cap", "cleaning kit")),
    ("lens cap", 0.8, ("lens filter",)),
    ("memory card", 4.0, ("card reader", "memory card case")),
    ("card reader", 1.2, ("usb cable",)),
    ("memory card case", 0.5, ("card reader",)),
    ("camera bag", 2.0, ("tripod", "camera strap")),
    ("camera strap", 0.6, ("camera bag",)),
    ("tripod", 1.8, ("remote shutter",)),
    ("remote shutter", 0.6, ("tripod",)),
    ("camera battery", 1.8, ("battery charger",)),
    ("battery charger", 1.4, ("rechargeable battery",)),
    ("rechargeable battery", 2.0, ("battery charger",)),
    ("cleaning kit", 0.8, ("screen protector",)),
    ("laptop", 4.0, ("laptop bag", "mouse", "usb hub", "external drive")),
    ("laptop bag", 2.0, ("mouse", "laptop cooler")),
    ("laptop cooler", 0.8, ("usb hub",)),
    ("mouse", 3.5, ("mouse pad", "keyboard")),
    ("mouse pad", 0.8, ("mouse",)),
    ("keyboard", 2.5, ("mouse",)),
    ("usb hub", 1.2, ("usb cable",)),
    ("usb cable", 3.0, ("wall charger",)),
    ("external drive", 3.0, ("drive enclosure", "usb cable")),
    ("drive enclosure", 1.0, ("external drive",)),
    ("internal drive", 2.0, ("drive enclosure", "sata cable")),
    ("sata cable", 0.8, ("internal drive",)),
    ("memory module", 2.0, ("internal drive",)),
    ("monitor", 2.5, ("monitor cable", "monitor mount")),
    ("monitor cable", 1.0, ("monitor",)),
    ("monitor mount", 0.8, ("monitor cable",)),
    ("tv", 3.5, ("hdmi cable", "tv mount", "soundbar", "streaming player")),
    ("hdmi cable", 3.0, ("hdmi switch",)),
    ("hdmi switch", 0.8, ("hdmi cable",)),
    ("tv mount", 1.5, ("hdmi cable",)),
    ("soundbar", 1.5, ("subwoofer", "optical cable")),
    ("subwoofer", 0.8, ("speaker wire",)),
    ("optical cable", 0.6, ("soundbar",)),
    ("speaker wire", 0.6, ("speakers",)),
    ("speakers", 2.5, ("speaker wire", "audio cable")),
    ("streaming player", 1.5, ("remote control",)),
    ("remote control", 1.0, ("rechargeable battery",)),
    ("headphones", 5.0, ("headphone case", "headphone amp", "audio cable")),
    ("headphone case", 0.8, ("audio cable",)),
    ("headphone amp", 0.6, ("audio cable",)),
    ("audio cable", 1.5, ("headphones",)),
    ("mp3 player", 2.5, ("headphones", "mp3 player case", "wall charger")),
    ("mp3 player case", 1.0, ("screen protector",)),
    ("tablet", 2.5, ("tablet case", "screen protector", "stylus")),
    ("tablet case", 2.0, ("stylus", "screen protector")),
    ("stylus", 0.8, ("tablet case",)),
    ("screen protector", 2.0, ("cleaning kit",)),
    ("e-reader", 1.5, ("e-reader cover", "wall charger")),
    ("e-reader cover", 1.2, ("reading light",)),
    ("reading light", 0.5, ("e-reader cover",)),
    ("wall charger", 1.5, ("usb cable",)),
    ("car charger", 1.2, ("gps mount",)),
    ("gps", 2.0, ("gps mount", "car charger", "gps case")),
    ("gps mount", 1.0, ("car charger",)),
    ("gps case", 0.6, ("gps mount",)),
    ("router", 2.0, ("network cable", "wifi adapter", "network switch")),
    ("network cable", 1.5, ("network switch",)),
    ("network switch", 1.0, ("network cable",)),
    ("wifi adapter", 1.2, ("router",)),
    ("printer", 1.5, ("ink", "usb cable")),
    ("ink", 1.5, ("ink",)),
    ("surge protector", 1.5, ("ups battery",)),
    ("ups battery", 0.8, ("surge protector",)),
    ("security camera", 1.0, ("memory card", "network cable")),
    ("radio", 1.0, ("rechargeable battery",)),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _CATEGORIES)

_N_INTERESTS = 3
_INTEREST_WEIGHTS = (0.6, 0.3, 0.1)
_N_COMPLEMENTS = 4
_COMPLEMENT_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
#: Item popularity inside a category: density ~ (rank + offset) ** -exponent.
_ITEM_ZIPF = 1.2
_ITEM_RANK_OFFSET = 2.0
#: Complements favour popular items less: their exponent is multiplied by this.
_COMPLEMENT_FLATTEN = 0.5
#: Ratings per user: P(k) ~ (k + shift) ** -a on 1..k_max, a solved for the mean.
_USER_SHIFT = 0.5
#: Same-day share and log-normal (median days, sigma) of the gap after a
#: chained purchase and after any other purchase.
_TIE_PROB_CHAIN, _TIE_PROB_OTHER = 0.30, 0.05
_GAP_CHAIN = (6.0, 1.2)
_GAP_OTHER = (90.0, 1.3)
_BASE36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
#: Resolution of the lookup tables used for small categorical draws.
_TABLE_SIZE = 4096

# Row provenance while generating.
_CHAIN, _INTEREST, _GLOBAL, _UNIFORM = 0, 1, 2, 3


def _allocate(total: int, shares: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``shares``."""
    spare = total - minimum * len(shares)
    raw = spare * shares / shares.sum()
    parts = np.floor(raw).astype(np.int64)
    rest = spare - parts.sum()
    parts[np.argsort(-(raw - parts), kind="stable")[:rest]] += 1
    return parts + minimum


def _table(weights: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Lookup table: a uniform index into it draws ``i`` with ``weights[i]``."""
    sizes = _allocate(_TABLE_SIZE, np.asarray(weights, dtype=np.float64), minimum=1)
    return np.repeat(np.arange(len(sizes), dtype=np.int16), sizes)


def _draw(rng: np.random.Generator, table: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from a lookup table made by :func:`_table`."""
    return table[rng.integers(0, len(table), n)]


@dataclass(frozen=True)
class _Catalogue:
    """Items, their categories, complements, and samplers over them.

    Items are numbered by category and, inside a category, by popularity rank.
    """

    category: np.ndarray  # (n_items,) int16 category of each item
    cat_lo: np.ndarray  # (n_cat,) first item of each category
    cat_size: np.ndarray  # (n_cat,) number of items of each category
    cat_table: np.ndarray  # lookup table of the global category demand
    complements: np.ndarray  # (n_items, _N_COMPLEMENTS) complement items
    quality: np.ndarray  # (n_items,) latent quality for the stars

    def sample_categories(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` categories from the global demand mix."""
        return _draw(rng, self.cat_table, n)

    def sample_items(
        self, rng: np.random.Generator, cats: np.ndarray, flatten: float = 1.0
    ) -> np.ndarray:
        """Draw one item per entry of ``cats`` by popularity inside it.

        Ranks invert the continuous CDF of the density
        ``(x + _ITEM_RANK_OFFSET) ** -exponent`` on ``[0, size)``; ``flatten``
        multiplies the exponent (< 1 favours the head less).
        """
        off, e = _ITEM_RANK_OFFSET, 1.0 - _ITEM_ZIPF * flatten
        size = self.cat_size.astype(np.float64)
        u = rng.random(len(cats))
        if abs(e) < 1e-9:
            log_span = np.log((size + off) / off)
            x = off * np.exp(u * log_span[cats]) - off
        else:
            base = off**e
            span = (size + off) ** e - base
            x = (base + u * span[cats]) ** (1.0 / e) - off
        rank = np.minimum(x.astype(np.int64), self.cat_size[cats] - 1)
        return (self.cat_lo[cats] + rank).astype(np.int32)


def _build_catalogue(rng: np.random.Generator, n_items: int) -> _Catalogue:
    """Assign items to categories, complements and quality."""
    names = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    shares = np.array([share for _, share, _ in _CATEGORIES])
    n_cat = len(shares)
    sizes = _allocate(n_items, shares, minimum=1)
    cat_lo = np.cumsum(sizes) - sizes
    category = np.repeat(np.arange(n_cat, dtype=np.int16), sizes)
    cat = _Catalogue(
        category=category,
        cat_lo=cat_lo,
        cat_size=sizes,
        cat_table=_table(shares),
        complements=np.empty((0, _N_COMPLEMENTS), dtype=np.int32),
        quality=rng.normal(0.0, 0.6, n_items),
    )
    # Complement categories: successors of the item's category, the first
    # listed most likely (weights 1, 1/2, 1/3, ...).
    succ_tables = np.stack(
        [
            np.array([names[n] for n in nexts], dtype=np.int16)[
                _table(1.0 / np.arange(1, len(nexts) + 1))
            ]
            for _, _, nexts in _CATEGORIES
        ]
    )
    pick = rng.integers(0, _TABLE_SIZE, (n_items, _N_COMPLEMENTS))
    next_cat = succ_tables[category[:, None], pick]
    complements = cat.sample_items(rng, next_cat.ravel(), _COMPLEMENT_FLATTEN)
    return replace(cat, complements=complements.reshape(n_items, _N_COMPLEMENTS))


def _user_counts(
    rng: np.random.Generator, n_ratings: int, n_users: int, k_max: int
) -> np.ndarray:
    """Heavy-tailed ratings per user, sorted descending, summing to n_ratings."""
    target = n_ratings / n_users
    if target == 1.0:
        return np.ones(n_users, dtype=np.int64)
    k = np.arange(1, k_max + 1, dtype=np.float64)

    def mean(a: float) -> float:
        w = (k + _USER_SHIFT) ** -a
        return float((k * w).sum() / w.sum())

    lo, hi = -2.0, 30.0  # the truncated mean decreases in the exponent
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean(mid) > target else (lo, mid)
    w = (k + _USER_SHIFT) ** -lo
    counts = 1 + np.searchsorted(np.cumsum(w) / w.sum(), rng.random(n_users))
    counts = np.minimum(counts, k_max)
    diff = n_ratings - int(counts.sum())
    while diff > 0:  # add to users in proportion to their activity
        room = counts * (counts < k_max)
        add = rng.choice(n_users, size=diff, p=room / room.sum())
        counts = np.minimum(counts + np.bincount(add, minlength=n_users), k_max)
        diff = n_ratings - int(counts.sum())
    if diff < 0:  # remove ratings beyond each user's first, uniformly
        extra = np.cumsum(counts - 1)
        units = rng.choice(int(extra[-1]), size=-diff, replace=False)
        drop = np.searchsorted(extra, units, side="right")
        counts = counts - np.bincount(drop, minlength=n_users)
    return np.sort(counts)[::-1]


def _draw_fresh(
    rng: np.random.Generator,
    cat: _Catalogue,
    interests: np.ndarray,
    interest_prob: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw items from the users' interests or the global mix (one per row)."""
    n = len(interests)
    use_interest = rng.random(n) < interest_prob
    slot = _draw(rng, _table(_INTEREST_WEIGHTS), n)
    cats = np.where(
        use_interest, interests[np.arange(n), slot], cat.sample_categories(rng, n)
    )
    kind = np.where(use_interest, _INTEREST, _GLOBAL).astype(np.int8)
    return cat.sample_items(rng, cats), kind


def _generate_sequences(
    rng: np.random.Generator,
    cat: _Catalogue,
    counts: np.ndarray,
    chain_prob: float,
    interest_prob: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item sequences in position-major layout.

    Users are sorted by descending count, so the users active at position t are
    ``0 .. active[t] - 1`` and their rows are the block
    ``offsets[t] .. offsets[t] + active[t]``.

    Returns:
        The item of every row, how it was drawn, and the block offsets.
    """
    n_items = len(cat.category)
    active = np.bincount(counts - 1)[::-1].cumsum()[::-1]
    offsets = np.r_[0, np.cumsum(active)]
    items = np.empty(offsets[-1], dtype=np.int32)
    kind = np.empty(offsets[-1], dtype=np.int8)
    interests = cat.sample_categories(rng, len(counts) * _N_INTERESTS)
    interests = interests.reshape(len(counts), _N_INTERESTS)
    # Share of the non-chained draws that come from the user's interests.
    fresh_interest_prob = interest_prob / (1.0 - chain_prob)
    comp_table = _table(_COMPLEMENT_WEIGHTS)
    for t, n in enumerate(active):
        new, new_kind = _draw_fresh(rng, cat, interests[:n], fresh_interest_prob)
        if t > 0:
            prev = items[offsets[t - 1] : offsets[t - 1] + n]
            chained = rng.random(n) < chain_prob
            comp = cat.complements[prev, _draw(rng, comp_table, n)]
            new = np.where(chained, comp, new)
            new_kind = np.where(chained, _CHAIN, new_kind).astype(np.int8)
        # Redraw items already in the user's history (uniformly after a while).
        todo = np.arange(n) if t > 0 else np.empty(0, dtype=np.int64)
        for attempt in range(100):
            history = items[offsets[:t, None] + todo[None, :]]
            todo = todo[(history == new[todo]).any(axis=0)]
            if len(todo) == 0:
                break
            if attempt < 10:
                redraw, redraw_kind = _draw_fresh(
                    rng, cat, interests[todo], fresh_interest_prob
                )
            else:
                redraw = rng.integers(0, n_items, len(todo), dtype=np.int32)
                redraw_kind = np.full(len(todo), _UNIFORM, dtype=np.int8)
            new[todo], new_kind[todo] = redraw, redraw_kind
        else:
            raise RuntimeError(f"could not draw distinct items at position {t}")
        items[offsets[t] : offsets[t] + n] = new
        kind[offsets[t] : offsets[t] + n] = new_kind
    return items, kind, offsets


def _cover_all_items(
    rng: np.random.Generator, cat: _Catalogue, items: np.ndarray, kind: np.ndarray
) -> np.ndarray:
    """Give every unused item a row taken from a non-chain draw of its category.

    Each unused item takes a random such row whose item is rated at least three
    times; an item that loses all its rows that way, or two unused items that
    pick the same row, are handled in the next round.

    Returns:
        A new item array in which every item appears, unless a category runs
        out of rows to take.
    """
    n_items, n_cat = len(cat.category), len(cat.cat_lo)
    out = items.copy()
    for _ in range(20):
        counts = np.bincount(out, minlength=n_items)
        unused = np.flatnonzero(counts == 0)
        if len(unused) == 0:
            break
        rows = np.flatnonzero((kind != _CHAIN) & (counts[out] >= 3))
        row_cat = cat.category[out[rows]]
        rows = rows[np.argsort(row_cat, kind="stable")]
        n_rows = np.bincount(row_cat, minlength=n_cat)
        unused_cat = cat.category[unused]
        pick = np.cumsum(n_rows)[unused_cat] - n_rows[unused_cat]
        pick += (rng.random(len(unused)) * n_rows[unused_cat]).astype(np.int64)
        ok = n_rows[unused_cat] > 0
        taken, first = np.unique(rows[pick[ok]], return_index=True)
        out[taken] = unused[ok][first]
    return out


def _row_users(offsets: np.ndarray) -> np.ndarray:
    """User of every row in the position-major layout."""
    sizes = np.diff(offsets)
    return np.arange(offsets[-1]) - np.repeat(offsets[:-1], sizes)


def _days(
    rng: np.random.Generator, counts: np.ndarray, kind: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Day number of every row: non-decreasing per user, with same-day ties."""
    n_rows = len(kind)
    chained = kind == _CHAIN
    tie = rng.random(n_rows) < np.where(chained, _TIE_PROB_CHAIN, _TIE_PROB_OTHER)
    median = np.where(chained, _GAP_CHAIN[0], _GAP_OTHER[0])
    sigma = np.where(chained, _GAP_CHAIN[1], _GAP_OTHER[1])
    gap = 1 + np.floor(median * np.exp(sigma * rng.standard_normal(n_rows)))
    elapsed = np.where(tie, 0, gap).astype(np.int64)
    elapsed[: offsets[1]] = 0
    for t in range(1, len(offsets) - 1):
        prev = elapsed[offsets[t - 1] : offsets[t - 1] + offsets[t + 1] - offsets[t]]
        elapsed[offsets[t] : offsets[t + 1]] += prev
    user = _row_users(offsets)
    span = elapsed[offsets[counts - 1] + np.arange(len(counts))]
    window = LAST_DAY - FIRST_DAY
    scale = np.where(span > window, window / np.maximum(span, 1), 1.0)
    elapsed = np.floor(elapsed * scale[user]).astype(np.int64)
    room = window - np.minimum(span, window)
    # First day from a density growing like exp(g * day) on [0, room].
    u = rng.random(len(counts))
    start = np.log1p(u * np.expm1(_GROWTH_PER_DAY * room)) / _GROWTH_PER_DAY
    start = np.minimum(start.astype(np.int64), room)
    return FIRST_DAY + start[user] + elapsed


def _stars(
    rng: np.random.Generator, quality: np.ndarray, user: np.ndarray, item: np.ndarray
) -> np.ndarray:
    """Stars from item quality + user leniency + noise, cut at real shares."""
    leniency = rng.normal(0.0, 0.7, int(user.max()) + 1)
    score = quality[item] + leniency[user] + rng.standard_normal(len(item))
    cuts = np.quantile(score, np.cumsum(STAR_SHARES)[:-1])
    return 1.0 + np.searchsorted(cuts, score).astype(np.float64)


def _distinct_chars(
    rng: np.random.Generator, n: int, width: int, alphabet: np.ndarray
) -> np.ndarray:
    """``n`` distinct random strings of ``width`` characters, as a uint8 matrix.

    Distinct by construction: a few character positions spell a bijective
    affine scramble of the row number; the others are random.
    """
    base = len(alphabet)
    k = max(1, math.ceil(math.log(max(n, 2), base)))
    if k > min(width, 10):
        raise ValueError(f"cannot make {n} distinct ids of width {width}")
    modulus = base**k
    a = int(rng.integers(1, modulus))
    while math.gcd(a, modulus) != 1:
        a = int(rng.integers(1, modulus))
    code = (a * np.arange(n, dtype=np.int64) + int(rng.integers(0, modulus))) % modulus
    digits = rng.integers(0, base, (n, width), dtype=np.uint8)
    for pos in np.sort(rng.choice(width, size=k, replace=False)):
        code, digits[:, pos] = np.divmod(code, base)
    return alphabet[digits]


def _reviewer_chars(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Reviewer-like ids, ``'A'`` + 12 or 13 upper-case alphanumerics.

    Returns:
        A ``(n, 16)`` uint8 character matrix (two spare columns) and the
        length of each id (13 or 14). The first 13 characters are distinct.
    """
    chars = np.zeros((n, 16), dtype=np.uint8)
    chars[:, 0] = ord("A")
    chars[:, 1:13] = _distinct_chars(rng, n, 12, _BASE36)
    chars[:, 13] = _BASE36[rng.integers(0, 36, n)]
    return chars, np.where(rng.random(n) < 0.8, 14, 13)


def _asin_chars(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct ASIN-like ids: ``'B00'`` + 7 alphanumerics, or 10 digits (5 %).

    Returns:
        A ``(n, 16)`` uint8 character matrix, ids in the first 10 columns.
    """
    numeric = rng.random(n) < 0.05
    n_num = int(numeric.sum())
    chars = np.zeros((n, 16), dtype=np.uint8)
    chars[numeric, :10] = _distinct_chars(rng, n_num, 10, _DIGITS)
    chars[~numeric, :3] = np.frombuffer(b"B00", dtype=np.uint8)
    chars[~numeric, 3:10] = _distinct_chars(rng, n - n_num, 7, _BASE36)
    return chars


def _take_rows(chars: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``chars[index]`` for a ``(n, 16)`` uint8 matrix, fast (16-byte rows)."""
    rows = chars.view(np.complex128).ravel().take(index)
    return rows.view(np.uint8).reshape(len(index), 16)


def _string_column(chars: np.ndarray, lengths: np.ndarray) -> pd.Series:
    """A pandas ``str`` column of the first ``lengths[i]`` characters of each row."""
    n, width = chars.shape
    keep = np.arange(width, dtype=np.int8)[None, :] < lengths.astype(np.int8)[:, None]
    values = pa.LargeStringArray.from_buffers(
        n,
        pa.py_buffer(np.r_[0, np.cumsum(lengths)].astype(np.int64)),
        pa.py_buffer(chars[keep]),
    )
    return pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _assemble(
    rng: np.random.Generator,
    cat: _Catalogue,
    user: np.ndarray,
    item: np.ndarray,
    day: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Stars, ids, and the real file's row order (by item id, then day).

    Returns:
        The ratings frame, and the id of every catalogue item (by item index).
    """
    n_users, n_items = int(user.max()) + 1, len(cat.category)
    user_chars, user_len = _reviewer_chars(rng, n_users)
    item_chars = _asin_chars(rng, n_items)
    # One int64 key per row: rank of the item id, day, random tie-breaker.
    by_rank = np.argsort(item_chars[:, :10].copy().view("S10").ravel())
    item_rank = np.empty(n_items, dtype=np.int64)
    item_rank[by_rank] = np.arange(n_items)
    tie = rng.permutation(n_users)
    untie = np.empty(n_users, dtype=np.int64)
    untie[tie] = np.arange(n_users)
    user_bits = (n_users - 1).bit_length()
    day_bits = (LAST_DAY - FIRST_DAY).bit_length()
    if (n_items - 1).bit_length() + day_bits + user_bits > 63:
        raise ValueError(f"n_users={n_users} and n_items={n_items} are too large")
    key = item_rank[item] << (day_bits + user_bits)
    key |= (day - FIRST_DAY) << user_bits
    key |= tie[user]
    key.sort()
    item = by_rank[key >> (day_bits + user_bits)]
    day = FIRST_DAY + ((key >> user_bits) & ((1 << day_bits) - 1))
    user = untie[key & ((1 << user_bits) - 1)]
    frame = pd.DataFrame(
        {
            "user": _string_column(_take_rows(user_chars, user), user_len[user]),
            "item": _string_column(
                _take_rows(item_chars, item), np.full(len(item), 10)
            ),
            "rating": _stars(rng, cat.quality, user, item),
            "timestamp": day * SECONDS_PER_DAY,
        }
    )
    item_ids = item_chars[:, :10].copy().view("S10").ravel().astype(str)
    return frame, item_ids


def _check_args(
    *,
    n_ratings: int,
    n_users: int,
    n_items: int,
    dirt: float,
    chain_prob: float,
    interest_prob: float,
) -> None:
    """Raise ``ValueError`` naming the first bad argument."""
    n_cat = len(_CATEGORIES)
    for name, value in (
        ("n_ratings", n_ratings),
        ("n_users", n_users),
        ("n_items", n_items),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if n_ratings < 1:
        raise ValueError(f"n_ratings must be at least 1, got {n_ratings}")
    if n_users < 1 or n_users > n_ratings:
        raise ValueError(f"n_users must be in 1..n_ratings={n_ratings}, got {n_users}")
    if n_items < 2 * n_cat:
        raise ValueError(f"n_items must be at least {2 * n_cat}, got {n_items}")
    if n_ratings > n_users * (n_items // 4):
        raise ValueError(
            f"n_ratings={n_ratings} is too dense for n_users={n_users} and "
            f"n_items={n_items}: at most n_users * n_items // 4"
        )
    if not isinstance(dirt, int | float) or not 0.0 <= dirt <= 0.5:
        raise ValueError(f"dirt must be a fraction in [0, 0.5], got {dirt!r}")
    if not (0.0 <= chain_prob < 1.0 and 0.0 <= interest_prob <= 1.0 - chain_prob):
        raise ValueError(
            "chain_prob and interest_prob must satisfy 0 <= chain_prob < 1 and "
            f"0 <= interest_prob <= 1 - chain_prob, got {chain_prob!r}, {interest_prob!r}"
        )


def _default_sizes(
    n_ratings: int, n_users: int | None, n_items: int | None
) -> tuple[int, int]:
    """Users and items given, or in the real 2014 file's proportion to ``n_ratings``."""
    ratio = n_ratings / ELECTRONICS_2014["n_ratings"]
    if n_users is None:
        n_users = max(1, round(ratio * ELECTRONICS_2014["n_users"]))
    if n_items is None:
        n_items = max(2 * len(_CATEGORIES), round(ratio * ELECTRONICS_2014["n_items"]))
    return n_users, n_items


def generate_ratings(
    n_ratings: int = DEFAULT_N_RATINGS,
    n_users: int | None = None,
    n_items: int | None = None,
    seed: int = 42,
    dirt: float = 0.0,
    *,
    chain_prob: float = 0.4,
    interest_prob: float = 0.45,
) -> pd.DataFrame:
    """Generate Amazon-Electronics-2014-shaped ratings (see the module docstring).

    Args:
        n_ratings: Number of clean ratings.
        n_users: Number of distinct users; by default in the real data's
            proportion to ``n_ratings`` (4,201,696 per 7,824,482).
        n_items: Number of distinct items; by default in the real data's
            proportion (476,002 per 7,824,482).
        seed: Seed of every random draw.
        dirt: Fraction of ``n_ratings`` to make dirty (see :func:`inject_dirt`).
        chain_prob: Probability that a purchase after the first is a complement
            of the previous one.
        interest_prob: Probability that a purchase is drawn from the user's
            interest categories (otherwise: from the global category mix).

    Returns:
        Columns ``user`` (str), ``item`` (str), ``rating`` (float, 1-5) and
        ``timestamp`` (int64, unix seconds at midnight UTC), grouped by item.
        With ``dirt > 0`` every column is ``object`` and has ``n_ratings`` plus
        the duplicate rows. ``frame.attrs["dirt_counts"]`` counts each kind
        of injected defect (all zero without dirt).

    Raises:
        ValueError: If an argument is out of range; the message names it.
    """
    if isinstance(n_ratings, bool) or not isinstance(n_ratings, int | np.integer):
        raise ValueError(f"n_ratings must be an int, got {n_ratings!r}")
    n_users, n_items = _default_sizes(n_ratings, n_users, n_items)
    _check_args(
        n_ratings=n_ratings,
        n_users=n_users,
        n_items=n_items,
        dirt=dirt,
        chain_prob=chain_prob,
        interest_prob=interest_prob,
    )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = np.random.default_rng(seed)
    cat = _build_catalogue(rng, n_items)
    k_max = min(
        n_items // 4, max(round(n_ratings**0.4), math.ceil(4 * n_ratings / n_users))
    )
    counts = _user_counts(rng, n_ratings, n_users, k_max)
    items, kind, offsets = _generate_sequences(
        rng, cat, counts, chain_prob, interest_prob
    )
    items = _cover_all_items(rng, cat, items, kind)
    user = _row_users(offsets)
    day = _days(rng, counts, kind, offsets)

    frame, item_ids = _assemble(rng, cat, user, items, day)
    _remember_catalogue(
        (n_ratings, n_users, n_items, seed, chain_prob, interest_prob),
        ItemCatalogue(
            item_ids=item_ids,
            category=cat.category.copy(),
            rank=np.arange(n_items) - cat.cat_lo[cat.category],
            complements=cat.complements.copy(),
        ),
    )
    frame, counts_by_kind = inject_dirt(frame, dirt, seed)
    frame.attrs["dirt_counts"] = counts_by_kind
    return frame


class ItemCatalogue(NamedTuple):
    """The generated catalogue, for the item metadata of the same generation.

    Attributes:
        item_ids: ``(n_items,)`` the id of each item, as in the ratings.
        category: ``(n_items,)`` index into :data:`CATEGORY_NAMES`.
        rank: ``(n_items,)`` popularity rank inside its category (0: the head).
        complements: ``(n_items, 4)`` items bought next (purchase chains).
    """

    item_ids: np.ndarray
    category: np.ndarray
    rank: np.ndarray
    complements: np.ndarray


#: The catalogue of the latest generation, keyed by its arguments: the metadata
#: of the ratings just generated needs no second generation.
_LATEST_CATALOGUE: dict[tuple, ItemCatalogue] = {}


def _remember_catalogue(key: tuple, catalogue: ItemCatalogue) -> None:
    _LATEST_CATALOGUE.clear()
    _LATEST_CATALOGUE[key] = catalogue


def generate_item_catalogue(
    n_ratings: int = DEFAULT_N_RATINGS,
    n_users: int | None = None,
    n_items: int | None = None,
    seed: int = 42,
    *,
    chain_prob: float = 0.4,
    interest_prob: float = 0.45,
) -> ItemCatalogue:
    """The item catalogue of ``generate_ratings`` with the same arguments.

    Reuses the latest generation when its arguments match; otherwise generates
    (the item ids are drawn after the ratings, so they need the whole draw).

    Returns:
        An :class:`ItemCatalogue`.
    """
    n_users, n_items = _default_sizes(n_ratings, n_users, n_items)
    key = (n_ratings, n_users, n_items, seed, chain_prob, interest_prob)
    if key not in _LATEST_CATALOGUE:
        generate_ratings(
            n_ratings,
            n_users,
            n_items,
            seed,
            chain_prob=chain_prob,
            interest_prob=interest_prob,
        )
    return _LATEST_CATALOGUE[key]


#: Kinds of injected defects, in the order they are allocated.
DIRT_KINDS: tuple[str, ...] = (
    "exact_duplicate",
    "conflicting_duplicate",
    "missing_user",
    "missing_item",
    "missing_rating",
    "missing_timestamp",
    "unparsable_rating",
    "unparsable_timestamp",
    "out_of_range_rating",
)
_DIRT_SHARES = np.array([0.2, 0.2, 0.05, 0.05, 0.05, 0.05, 0.15, 0.1, 0.15])
#: Neither empty nor blank nor a pandas NA marker ('NA', 'null', ...): those read
#: back from a CSV file as missing values, which would blur the two counts.
UNPARSABLE_RATINGS = ("abc", "five", "#VALUE!", "5 stars", "?")
UNPARSABLE_TIMESTAMPS = ("abc", "yesterday", "#VALUE!", "unknown", "2014-13-45")
OUT_OF_RANGE_RATINGS = (0.0, 6.0, -1.0)


def inject_dirt(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add realistic defects to clean ratings, each dirty row with exactly one.

    ``round(fraction * len(frame))`` defects are split over :data:`DIRT_KINDS`
    (20 % exact duplicates, 20 % duplicates of a (user, item) pair with another
    rating and a day 1-365 days apart, 5 % each of a missing user, item,
    rating or timestamp, 15 % unparsable ratings such as ``'abc'``, 10 %
    unparsable timestamps, 15 % out-of-range ratings 0, 6 or -1). Duplicates
    are inserted at random places; the other defects overwrite a value of a
    distinct row, never one that is duplicated.

    Args:
        frame: Clean ratings with the columns of :data:`COLUMNS`.
        fraction: Share of defects relative to ``len(frame)``, in [0, 0.5].
        seed: Seed of the defects' placement and values.

    Returns:
        The dirty frame (``object`` columns holding native values, strings for
        unparsable ones and NaN for missing ones, as a CSV reader that cannot
        infer one type gives) and the number of rows of each kind. With
        ``fraction == 0`` the input frame itself and zero counts.

    Raises:
        ValueError: If ``fraction`` is outside [0, 0.5] or a column is missing.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}; expected {list(COLUMNS)}")
    if not 0.0 <= fraction <= 0.5:
        raise ValueError(f"fraction must be in [0, 0.5], got {fraction!r}")
    n = len(frame)
    sizes = _allocate(round(fraction * n), _DIRT_SHARES, minimum=0)
    counts = dict(zip(DIRT_KINDS, (int(s) for s in sizes), strict=True))
    if sizes.sum() == 0:
        return frame, counts
    rng = np.random.default_rng([seed, 0xD127])
    rows = np.split(
        rng.choice(n, size=int(sizes.sum()), replace=False), np.cumsum(sizes)[:-1]
    )
    groups = dict(zip(DIRT_KINDS, rows, strict=True))
    cols = {c: frame[c].to_numpy(dtype=object) for c in COLUMNS}

    # Duplicates: exact copies, and copies with another rating and day.
    dup_rows = np.r_[groups["exact_duplicate"], groups["conflicting_duplicate"]]
    dups = {c: v[dup_rows].copy() for c, v in cols.items()}
    conflict = slice(len(groups["exact_duplicate"]), None)
    n_conf = len(groups["conflicting_duplicate"])
    shift = rng.integers(1, 366, n_conf) * rng.choice([-1, 1], n_conf)
    old_ts = frame["timestamp"].to_numpy()[groups["conflicting_duplicate"]]
    dups["timestamp"][conflict] = [int(x) for x in old_ts + shift * SECONDS_PER_DAY]
    old_r = frame["rating"].to_numpy()[groups["conflicting_duplicate"]]
    dups["rating"][conflict] = [
        float(x) for x in (old_r - 1 + rng.integers(1, 5, n_conf)) % 5 + 1
    ]

    # Value defects overwrite one field of distinct other rows.
    for c in COLUMNS:
        cols[c][groups[f"missing_{c}"]] = np.nan
    for c, bad in (
        ("rating", UNPARSABLE_RATINGS),
        ("timestamp", UNPARSABLE_TIMESTAMPS),
    ):
        g = groups[f"unparsable_{c}"]
        cols[c][g] = np.array(bad, dtype=object)[rng.integers(0, len(bad), len(g))]
    g = groups["out_of_range_rating"]
    cols["rating"][g] = np.array(OUT_OF_RANGE_RATINGS, dtype=object)[
        rng.integers(0, len(OUT_OF_RANGE_RATINGS), len(g))
    ]

    # Insert each duplicate after a random row.
    key = np.r_[2 * np.arange(n), 2 * rng.integers(0, n, len(dup_rows)) + 1]
    order = np.argsort(key, kind="stable")
    out = pd.DataFrame(
        {c: pd.Series(np.r_[cols[c], dups[c]][order], dtype=object) for c in COLUMNS}
    )
    return out, counts


def write_ratings_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ratings exactly like ``ratings_Electronics.csv``.

    No header, no index, columns user, item, rating, timestamp; ratings as
    ``5.0``, timestamps as integers, missing values as empty fields. Clean
    generated frames take a fast Arrow path (timed by
    ``benchmarks/bench_generator.py --csv PATH``).

    Args:
        frame: Ratings with the columns of :data:`COLUMNS`.
        path: Destination file; its parent directory is created if needed.

    Raises:
        ValueError: If a column is missing.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}; expected {list(COLUMNS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _clean_csv_table(frame)
    if table is None:
        frame.loc[:, list(COLUMNS)].to_csv(path, header=False, index=False)
    else:
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
        pa_csv.write_csv(table, path, options)


def _clean_csv_table(frame: pd.DataFrame) -> pa.Table | None:
    """All-string Arrow table of a clean frame, or ``None`` if it is not clean.

    Clean: string ids without missing values or commas, whole-star float
    ratings 0-9 and int64 timestamps.
    """
    user, item = frame["user"], frame["item"]
    rating, timestamp = frame["rating"].to_numpy(), frame["timestamp"]
    if not (
        isinstance(user.dtype, pd.StringDtype)
        and isinstance(item.dtype, pd.StringDtype)
        and rating.dtype == np.float64
        and timestamp.dtype == np.int64
        and not (user.isna().any() or item.isna().any())
        and np.isin(rating, np.arange(10.0)).all()
    ):
        return None
    ids = [pa.array(col, type=pa.large_string()) for col in (user, item)]
    if any(pc.any(pc.match_substring(a, ",")).as_py() for a in ids):
        return None
    stars = pa.array([f"{s}.0" for s in range(10)])
    return pa.table(
        {
            "user": ids[0],
            "item": ids[1],
            "rating": stars.take(pa.array(rating.astype(np.int64))),
            "timestamp": pa.array(timestamp.to_numpy()).cast(pa.string()),
        }
    )
