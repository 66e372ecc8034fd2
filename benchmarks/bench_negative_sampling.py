"""Benchmark: training negatives at Amazon Electronics 2014 scale.

Samples 4 negatives for each of the 7,824,482 positives of the embedded
generator's full-size preset (``generate_ratings(**ELECTRONICS_2014)``: 4.2M
users, 476k items, heavy-tailed activity) with ``NegativeSampler`` and prints
negatives per second (wall clock and process CPU time), the time to draw the
99 evaluation negatives of every user with at least 3 ratings, the sampler's memory
(tracemalloc peak and bytes per positive at three sizes, to show it is linear)
and the peak RSS, then times a naive reference on a random subset of users in
the same process: per user, ``numpy.setdiff1d`` of the catalogue and the user's
items followed by one ``rng.choice`` of ``k * degree`` items (with replacement,
so it is not even exact within a positive). The naive cost is dominated by the
per-user set difference, so it is scaled by the number of users.

The positives are grouped by user, as ``train_interactions`` is. The generator
runs in a child process (a minute or so), so the printed peak RSS belongs to
the sampler alone. ``--source powerlaw`` replaces it by a numpy stand-in of the
same shape (Zipf-like users and items) for a quick run.

    .venv/bin/python benchmarks/bench_negative_sampling.py [--epochs 5] [--source powerlaw]

Target: at least 20 million negatives per second on 2 cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ncf_recommender.training.sampling import NegativeSampler, sample_eval_candidates

N_POSITIVES = 7_824_482
N_USERS = 4_201_696
N_ITEMS = 476_002
K = 4
SEED = 2024


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _generated(path: str) -> None:
    """Child process: generate the full-size ratings and save their indices."""
    import pandas as pd  # noqa: PLC0415 (child process only)

    from ncf_recommender.data.generator import (  # noqa: PLC0415
        ELECTRONICS_2014,
        generate_ratings,
    )

    frame = generate_ratings(**ELECTRONICS_2014, seed=42)
    users = pd.factorize(frame["user"])[0].astype(np.int32)
    items = pd.factorize(frame["item"])[0].astype(np.int32)
    np.savez(path, users=users, items=items)


def _powerlaw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in: Zipf-like user activity and item popularity, unique pairs."""
    user_weight = 1.0 / np.arange(1, N_USERS + 1) ** 0.6
    item_weight = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.9
    users = np.searchsorted(
        np.cumsum(user_weight) / user_weight.sum(), rng.random(N_POSITIVES)
    )
    items = np.searchsorted(
        np.cumsum(item_weight) / item_weight.sum(), rng.random(N_POSITIVES)
    )
    keys = np.unique(
        np.minimum(users, N_USERS - 1) * N_ITEMS + np.minimum(items, N_ITEMS - 1)
    )
    return (keys // N_ITEMS).astype(np.int32), (keys % N_ITEMS).astype(np.int32)


def _positives(source: str) -> tuple[np.ndarray, np.ndarray, str]:
    if source == "generator":
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "positives.npz")
            child = multiprocessing.get_context("spawn").Process(
                target=_generated, args=(path,)
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(
                    f"generator child failed with exit code {child.exitcode}"
                )
            with np.load(path) as data:
                users, items = data["users"], data["items"]
        label = (
            "generate_ratings(**ELECTRONICS_2014, seed=42), all ratings as positives"
        )
    else:
        users, items = _powerlaw(np.random.default_rng(SEED))
        label = "numpy power-law stand-in (Zipf users ^0.6, items ^0.9)"
    order = np.argsort(users, kind="stable")  # grouped by user, like train_interactions
    return users[order], items[order], label


def _sampler_memory(users: np.ndarray, items: np.ndarray, n_items: int) -> None:
    """tracemalloc peak of construction + one epoch, per positive, at three sizes."""
    for share in (4, 2, 1):
        n = len(users) // share
        tracemalloc.start()
        sampler = NegativeSampler(users[:n], items[:n], n_items, K)
        sampler.negatives(0, SEED)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del sampler
        print(
            f"  {n:>10,} positives: peak {peak / 1e6:8.1f} MB = {peak / n:6.1f} B/positive"
        )


def _naive_rate(
    users: np.ndarray, items: np.ndarray, n_items: int, n_sample: int
) -> tuple[float, int, float]:
    """Naive per-user reference on ``n_sample`` random users, scaled to all users."""
    rng = np.random.default_rng(SEED)
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    n_users = len(bounds) - 1
    chosen = rng.choice(n_users, size=min(n_sample, n_users), replace=False)
    catalogue = np.arange(n_items)
    start = time.perf_counter()
    drawn = 0
    for user in chosen:  # the naive reference loops over users on purpose
        own = items[bounds[user] : bounds[user + 1]]
        candidates = np.setdiff1d(catalogue, own, assume_unique=True)
        drawn += rng.choice(candidates, size=K * len(own)).size
    elapsed = time.perf_counter() - start
    scaled = elapsed * n_users / len(chosen)
    return K * len(users) / scaled, len(chosen), scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", choices=("generator", "powerlaw"), default="generator"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--naive-users", type=int, default=400)
    parser.add_argument(
        "--popularity", action="store_true", help="also time popularity"
    )
    args = parser.parse_args()

    print(
        f"load average at start: {_load()} ({os.cpu_count()} CPUs), numpy {np.__version__}"
    )
    users, items, label = _positives(args.source)
    n_items = int(items.max()) + 1
    print(
        f"positives: {len(users):,} ({label}); {len(np.unique(users)):,} users, "
        f"{n_items:,} items; k = {K}"
    )

    start = time.perf_counter()
    sampler = NegativeSampler(users, items, n_items, K)
    print(f"NegativeSampler init: {time.perf_counter() - start:.2f} s wall")

    walls, cpus = [], []
    for epoch in range(args.epochs):
        wall, cpu = time.perf_counter(), time.process_time()
        neg_users, neg_items = sampler.negatives(epoch, SEED)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    n_neg = len(neg_items)
    print(f"uniform, {args.epochs} epochs of {n_neg:,} negatives:")
    print(
        f"  wall: best {min(walls):.2f} s = {n_neg / min(walls) / 1e6:.1f} M negatives/s, "
        f"median {np.median(walls):.2f} s = {n_neg / np.median(walls) / 1e6:.1f} M/s"
    )
    print(
        f"  CPU:  best {min(cpus):.2f} s = {n_neg / min(cpus) / 1e6:.1f} M negatives/s, "
        f"median {np.median(cpus):.2f} s = {n_neg / np.median(cpus) / 1e6:.1f} M/s"
    )

    print(f"peak RSS after the epochs (sampler process): {_peak_rss_gb():.2f} GB")

    keys = np.sort(users.astype(np.int64) * n_items + items)
    probe = neg_users.astype(np.int64) * n_items + neg_items
    pos = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
    rows = np.sort(neg_items.reshape(-1, K), axis=1)
    print(
        f"  check (last epoch): {int((keys[pos] == probe).sum())} negatives are positives, "
        f"{int((rows[:, 1:] == rows[:, :-1]).any(axis=1).sum())} positives with a repeated negative"
    )
    del keys, probe, pos, rows, neg_users, neg_items

    eval_users = np.flatnonzero(np.bincount(users) >= 3)
    wall, cpu = time.perf_counter(), time.process_time()
    sample_eval_candidates(users, items, eval_users, n_items)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"eval candidates, 99 for each of {len(eval_users):,} users with >= 3 ratings: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU"
    )

    if args.popularity:
        popular = NegativeSampler(users, items, n_items, K, "popularity", 0.75)
        wall, cpu = time.perf_counter(), time.process_time()
        popular.negatives(0, SEED)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"popularity (0.75), 1 epoch: {wall:.2f} s wall = {n_neg / wall / 1e6:.1f} M/s, "
            f"{cpu:.2f} s CPU = {n_neg / cpu / 1e6:.1f} M/s"
        )
        del popular

    print("sampler memory (tracemalloc, init + one epoch):")
    _sampler_memory(users, items, n_items)

    naive, n_sample, scaled = _naive_rate(users, items, n_items, args.naive_users)
    best = n_neg / min(walls)
    print(
        f"naive per-user setdiff1d + choice on {n_sample} random users: "
        f"{naive:,.0f} negatives/s (scaled to all users: {scaled / 3600:.1f} h per epoch)"
    )
    print(f"speed-up of NegativeSampler over naive (best wall): {best / naive:,.0f}x")
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
