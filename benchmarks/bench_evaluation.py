"""Evaluation and baseline benchmark: real-data check and full-ranking speed.

1. MovieLens-100k under ../shared/PROTOCOL.md (split and stored negatives built
   here, independently of the pipelines): MostPop and implicit ALS through
   ``evaluate_scorer``; compare with ../shared/benchmarks/ml100k_peers.md.
2. Full-ranking evaluation users/s for a dot-product scorer on generated
   factors (default 50k users x 60k items x 64 factors), against scoring alone
   in the same process.
3. Optionally (``--als-scale``) ALS seconds per iteration at Amazon scale
   (192k users x 63k items, 1.7M interactions, 64 factors, generated).

Run: ``.venv/bin/python benchmarks/bench_evaluation.py [--ml100k PATH]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ncf_recommender.constants import (
    EVAL_NEGATIVES_PER_USER,
    EVAL_NEGATIVES_SEED,
    ITEM_IDX,
    USER_IDX,
)
from ncf_recommender.evaluation import (
    evaluate_scorer,
    full_ranking_pass,
    interaction_matrix,
)
from ncf_recommender.models.baselines import (
    DotProductScorer,
    MostPopularScorer,
    fit_als,
)

DEFAULT_ML100K = Path("/work/data_ml100k/ml-100k.inter")


def leave_last_two(path: Path) -> dict[str, object]:
    """Read ml-100k and build the protocol's split and stored test negatives."""
    raw = pd.read_csv(
        path, sep="\t", dtype={"user_id:token": str, "item_id:token": str}
    )
    users_raw = raw["user_id:token"].to_numpy()
    items_raw = raw["item_id:token"].to_numpy()
    stamps = raw["timestamp:float"].to_numpy().astype(np.int64)
    # Stable sort by user, then timestamp; equal timestamps keep input order.
    order = np.lexsort((np.arange(len(raw)), stamps, users_raw))
    users_raw, items_raw, stamps = users_raw[order], items_raw[order], stamps[order]
    # Duplicate (user, item) pairs collapse to the latest (last after the sort).
    pairs = pd.DataFrame({"user": users_raw, "item": items_raw})
    keep = ~pairs.duplicated(keep="last").to_numpy()
    users_raw, items_raw = users_raw[keep], items_raw[keep]
    user_ids, users = np.unique(users_raw, return_inverse=True)
    item_ids, items = np.unique(items_raw, return_inverse=True)
    n_users, n_items = user_ids.size, item_ids.size
    counts = np.bincount(users, minlength=n_users)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    from_end = counts[users] - 1 - (np.arange(users.size) - starts[users])
    eligible = counts[users] >= 3
    test_mask = eligible & (from_end == 0)
    val_mask = eligible & (from_end == 1)
    train_mask = ~(test_mask | val_mask)

    def table(mask: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({USER_IDX: users[mask], ITEM_IDX: items[mask]})

    train, val, test = table(train_mask), table(val_mask), table(test_mask)
    # 99 negatives per test user, uniform without replacement over the items
    # the user never interacted with: the 99 smallest of iid uniform keys.
    rng = np.random.default_rng(EVAL_NEGATIVES_SEED)
    test_users = test[USER_IDX].to_numpy()
    seen = interaction_matrix(users, items, n_users, n_items)[test_users].toarray() > 0
    keys = rng.random((test_users.size, n_items))
    keys[seen] = np.inf
    chosen = np.argpartition(keys, EVAL_NEGATIVES_PER_USER, axis=1)[
        :, :EVAL_NEGATIVES_PER_USER
    ]
    chosen = np.take_along_axis(
        chosen, np.argsort(np.take_along_axis(keys, chosen, axis=1), axis=1), axis=1
    )
    assert np.isfinite(np.take_along_axis(keys, chosen, axis=1)).all()
    candidates = pd.DataFrame(
        {
            USER_IDX: np.repeat(test_users, EVAL_NEGATIVES_PER_USER),
            ITEM_IDX: chosen.ravel(),
        }
    )
    return {
        "train": train,
        "val": val,
        "test": test,
        "candidates": candidates,
        "n_users": n_users,
        "n_items": n_items,
    }


def report(name: str, entry: dict, train_seconds: float, train_cpu: float) -> None:
    """Print one model's headline numbers (train wall and CPU seconds)."""
    full, sampled = entry["full"], entry["sampled"]
    print(
        f"{name:<34} full HR@10 {full['hr@10']:.4f}  NDCG@10 {full['ndcg@10']:.4f}  "
        f"MRR {full['mrr']:.4f} | sampled HR@10 {sampled['hr@10']:.4f}  "
        f"NDCG@10 {sampled['ndcg@10']:.4f} | cov@10 {entry['coverage@10']:.3f}  "
        f"nov@10 {entry['novelty@10']:.2f} | train {train_seconds:.1f}s "
        f"(cpu {train_cpu:.1f}s)  "
        f"eval {entry['eval_seconds']:.2f}s"
    )


def real_data(path: Path) -> None:
    """MostPop and ALS on MovieLens-100k."""
    data = leave_last_two(path)
    train, n_users, n_items = data["train"], data["n_users"], data["n_items"]
    print(
        f"ml-100k: {len(train)} train / {len(data['val'])} val / {len(data['test'])} test "
        f"rows; {n_users} users, {n_items} items"
    )
    args = (data["train"], data["val"], data["test"], data["candidates"])
    start, cpu = time.perf_counter(), time.process_time()
    popular = MostPopularScorer(train[ITEM_IDX].to_numpy(), n_items)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    report("MostPop", evaluate_scorer(popular, *args, n_users=n_users), seconds, cpu)
    matrix = interaction_matrix(train[USER_IDX], train[ITEM_IDX], n_users, n_items)
    for alpha in (1.0, 0.0):
        for seed in (0, 1, 2):
            start, cpu = time.perf_counter(), time.process_time()
            factors = fit_als(
                matrix,
                factors=128,
                regularization=10.0,
                alpha=alpha,
                iterations=30,
                seed=seed,
            )
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            name = f"ALS k128 reg10 alpha{alpha:g} seed{seed}"
            entry = evaluate_scorer(DotProductScorer(*factors), *args, n_users=n_users)
            report(name, entry, seconds, cpu)


def ranking_speed(n_users: int, n_items: int, factors: int, eval_users: int) -> None:
    """Full-ranking users/s of a dot-product scorer on generated factors."""
    rng = np.random.default_rng(0)
    scorer = DotProductScorer(
        rng.standard_normal((n_users, factors), dtype=np.float32),
        rng.standard_normal((n_items, factors), dtype=np.float32),
    )
    per_user = 10
    users = rng.choice(n_users, size=eval_users, replace=False)
    seen_items = rng.integers(0, n_items, size=(eval_users, per_user))
    exclude = interaction_matrix(
        np.repeat(users, per_user), seen_items.ravel(), n_users, n_items
    )
    targets = (seen_items.max(axis=1) + 1) % n_items
    targets[(seen_items == targets[:, None]).any(axis=1)] = -1
    users, targets = users[targets >= 0], targets[targets >= 0]
    batch = max(1, (1 << 23) // n_items)

    def score_only() -> None:
        for low in range(0, users.size, batch):
            scorer.score(users[low : low + batch])

    runs = {
        "scoring only (reference)": score_only,
        "metrics (g, t)": lambda: full_ranking_pass(scorer, users, targets, exclude),
        "metrics + top-10 lists": lambda: full_ranking_pass(
            scorer, users, targets, exclude, top_n=10
        ),
    }
    print(
        f"full ranking, {users.size} users x {n_items} items x {factors} factors "
        f"(batch {batch} users):"
    )
    reference = None
    for name, run in runs.items():
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        reference = reference or wall
        print(
            f"  {name:<26} {users.size / wall:8.0f} users/s wall "
            f"({wall / reference:.2f}x reference), {users.size / cpu:8.0f} users/cpu-s"
        )


def als_speed(iterations: int) -> None:
    """ALS seconds per iteration at Amazon Electronics 5-core scale."""
    rng = np.random.default_rng(0)
    n_users, n_items, nnz = 192_000, 63_000, 1_700_000
    # Skewed item popularity, every user with at least 5 interactions.
    users = np.concatenate(
        [np.repeat(np.arange(n_users), 5), rng.integers(0, n_users, nnz - 5 * n_users)]
    )
    items = (n_items * rng.random(users.size) ** 3).astype(np.int64)
    matrix = interaction_matrix(users, items, n_users, n_items)
    start, cpu = time.perf_counter(), time.process_time()
    fit_als(matrix, factors=64, iterations=iterations)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"ALS {n_users} users x {n_items} items, {matrix.nnz} interactions, 64 factors: "
        f"{seconds / iterations:.1f} s/iteration wall, {cpu / iterations:.1f} cpu-s/iteration "
        f"({iterations} iterations)"
    )


def main() -> None:
    """Parse arguments and run the selected parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml100k", type=Path, default=DEFAULT_ML100K)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=60_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--eval-users", type=int, default=20_000)
    parser.add_argument("--als-scale", type=int, default=0, metavar="ITERATIONS")
    parser.add_argument("--skip-real", action="store_true")
    options = parser.parse_args()
    if not options.skip_real:
        real_data(options.ml100k)
    ranking_speed(options.users, options.items, options.factors, options.eval_users)
    if options.als_scale:
        als_speed(options.als_scale)


if __name__ == "__main__":
    main()
