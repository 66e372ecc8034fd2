"""Benchmark of the embedded data generator at the real Amazon Electronics 2014 size.

Prints wall and CPU time, rows/s, peak RSS, the sizes achieved against the
target, and (with ``--kcore``, on by default) the iterative 5-core of the
result next to the real 5-core (192,403 users, 63,001 items, 1,689,188
ratings). A reference job in the same process (draw and sort as many random
int64 keys as there are rows) gives a machine-independent ratio.

Usage::

    .venv/bin/python benchmarks/bench_generator.py               # full size
    .venv/bin/python benchmarks/bench_generator.py --preset default
    .venv/bin/python benchmarks/bench_generator.py --csv /tmp/ratings.csv
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ncf_recommender.data import (
    DEFAULT_N_RATINGS,
    ELECTRONICS_2014,
    generate_ratings,
    write_ratings_csv,
)

REAL_5CORE = {"ratings": 1_689_188, "users": 192_403, "items": 63_001}


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def reference_seconds(n_rows: int) -> float:
    """Wall time of a reference job: draw and sort ``n_rows`` random int64 keys."""
    start = time.perf_counter()
    keys = np.random.default_rng(0).integers(0, 2**62, n_rows)
    keys.sort()
    return time.perf_counter() - start


def five_core(frame: pd.DataFrame, k: int = 5) -> tuple[int, int, int, int]:
    """Rows, users, items and rounds of the iterative k-core of ``frame``."""
    users = pd.factorize(frame["user"])[0]
    items = pd.factorize(frame["item"])[0]
    keep = np.ones(len(frame), dtype=bool)
    rounds = 0
    while True:
        uc = np.bincount(users[keep], minlength=users.max() + 1)
        ic = np.bincount(items[keep], minlength=items.max() + 1)
        drop = keep & ((uc[users] < k) | (ic[items] < k))
        if not drop.any():
            break
        keep &= ~drop
        rounds += 1
    return (
        int(keep.sum()),
        len(np.unique(users[keep])),
        len(np.unique(items[keep])),
        rounds,
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset", choices=["electronics_2014", "default"], default="electronics_2014"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-kcore", dest="kcore", action="store_false")
    parser.add_argument("--csv", type=Path, help="also time write_ratings_csv here")
    args = parser.parse_args()
    target = (
        dict(ELECTRONICS_2014)
        if args.preset == "electronics_2014"
        else {"n_ratings": DEFAULT_N_RATINGS}
    )

    rss_before = peak_rss_gb()
    ref = reference_seconds(target["n_ratings"])
    wall, cpu = time.perf_counter(), time.process_time()
    frame = generate_ratings(**target, seed=args.seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss = peak_rss_gb()

    print(f"preset {args.preset}, seed {args.seed}")
    print(
        f"generate_ratings: wall {wall:.2f} s, cpu {cpu:.2f} s, "
        f"{len(frame) / wall:,.0f} rows/s"
    )
    print(
        f"reference (sort {target['n_ratings']:,} random int64): {ref:.2f} s; "
        f"generator / reference = {wall / ref:.1f}"
    )
    print(f"peak RSS: {rss:.2f} GB (before generating: {rss_before:.2f} GB)")
    achieved = {
        "n_ratings": len(frame),
        "n_users": frame["user"].nunique(),
        "n_items": frame["item"].nunique(),
    }
    for key, value in achieved.items():
        wanted = target.get(key)
        print(
            f"{key}: {value:,} (target {wanted:,})"
            if wanted
            else f"{key}: {value:,} (derived)"
        )
    stars = frame["rating"].value_counts(normalize=True).sort_index()
    print("stars 1-5 (%):", " / ".join(f"{100 * s:.1f}" for s in stars))
    per_user = frame["user"].value_counts()
    print(
        f"users with <= 3 ratings: {100 * (per_user <= 3).mean():.1f} %, "
        f"max per user {per_user.max()}, max per item "
        f"{frame['item'].value_counts().max()}"
    )
    if args.kcore:
        start = time.perf_counter()
        rows, users, items, rounds = five_core(frame)
        print(
            f"iterative 5-core ({time.perf_counter() - start:.1f} s, {rounds} rounds): "
            f"{rows:,} ratings, {users:,} users, {items:,} items "
            f"(real Electronics 2014 5-core: {REAL_5CORE['ratings']:,}, "
            f"{REAL_5CORE['users']:,}, {REAL_5CORE['items']:,})"
        )
    if args.csv is not None:
        start = time.perf_counter()
        write_ratings_csv(frame, args.csv)
        size = args.csv.stat().st_size / 1e6
        print(f"write_ratings_csv: {time.perf_counter() - start:.2f} s, {size:.0f} MB")


if __name__ == "__main__":
    main()
