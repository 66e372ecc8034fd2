"""Training and full-ranking speed of the Keras NCF models on the embedded data.

For each data size (ratings drawn by the embedded Amazon-shaped generator, ids
encoded, every rating a positive) and each model (GMF, MLP-NCF, NeuMF):

1. Training examples/s: ``model.fit`` (the project's Adam,
   :class:`~ncf_recommender.training.optimizers.FusedAdam`,
   ``steps_per_execution=50``) on the batches that
   :func:`ncf_recommender.training.ncf.epoch_dataset` builds (fresh
   negatives, shuffled, pre-batched), capped at ``--examples`` examples, after
   a warm-up that traces the graph. References in the same process: the same
   batches with ``steps_per_execution=1``, with Keras' own
   ``keras.optimizers.Adam``, and with
   :class:`~ncf_recommender.training.optimizers.LazyAdam`.
2. Full-ranking evaluation users/s: ``full_ranking_metrics`` with
   :class:`~ncf_recommender.models.scorers.KerasScorer` (numpy fast path) on
   ``--eval-users`` users against every item. Reference: the scorer's generic
   path (batched ``model(...)`` calls on every user-item pair).
3. Whole epochs (``--epochs``, default 4) through ``model.fit``, the way
   :func:`~ncf_recommender.training.ncf.train_ncf` calls it, with tf.data
   autotuning off (the project's setting) and on (TensorFlow's default). With
   it on, ``fit`` waits at the end of an epoch for the autotuner's thread,
   whose sleep doubles up to 5.12 s, so some epochs end on a 5.12 s boundary.

Embedding tables grow with the data (users x dim), and Adam updates the whole
table every step, so its examples/s falls with size; LazyAdam updates only the
rows a batch looks up. The two sizes show how much that matters. ``--batch-size
4096`` is the MovieLens-100k setting of GMF and MLP-NCF.

Run: ``.venv/bin/python benchmarks/bench_training.py [--sizes 100000 1000000]``.

``--scaling`` instead measures what ``kedro run`` trains on: the default data
(the generator's default size) and ``--env synthetic-full`` (Electronics 2014
size), both after the project's 5-core filter, then prints, per model and
optimiser, examples/s at each size and the ratio full / default (target >= 0.7:
throughput must not fall as the catalogue grows). One process, same batches; each
repeat times both sizes back to back (a shared machine's load hits both alike).
``--optimizers lazy`` skips the slow fused Adam.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ncf_recommender.data import generate_ratings
from ncf_recommender.datasets import SyntheticRatingsDataset
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.gmf import build_gmf
from ncf_recommender.models.mlp import build_mlp
from ncf_recommender.models.neumf import build_neumf
from ncf_recommender.models.scorers import KerasScorer
from ncf_recommender.pipelines.data_processing.nodes import filter_k_core
from ncf_recommender.pipelines.data_processing.params import KCoreParams
from ncf_recommender.training.loop import seed_everything
from ncf_recommender.training.ncf import epoch_dataset
from ncf_recommender.training.optimizers import FusedAdam, LazyAdam
from ncf_recommender.training.params import TrainingParams
from ncf_recommender.training.sampling import NegativeSampler

BUILDERS: dict[str, Callable[[int, int], keras.Model]] = {
    "gmf": lambda n_users, n_items: build_gmf(n_users, n_items, 64),
    "mlp": lambda n_users, n_items: build_mlp(n_users, n_items, 64, (128, 64, 32)),
    "neumf": lambda n_users, n_items: build_neumf(
        n_users, n_items, 64, 64, (128, 64, 32)
    ),
}


def encoded(n_ratings: int, seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Generated ratings with integer user and item indices."""
    frame = generate_ratings(n_ratings=n_ratings, seed=seed)
    users, user_ids = pd.factorize(frame["user"])
    items, item_ids = pd.factorize(frame["item"])
    return users.astype(np.int64), items.astype(np.int64), len(user_ids), len(item_ids)


#: ``source_ratings`` of the default environment and of ``--env synthetic-full``.
SCALING_SOURCES: dict[str, dict[str, int]] = {
    "default": {},
    "full": {"n_ratings": 7_824_482, "n_users": 4_201_696, "n_items": 476_002},
}


def five_core(source: dict[str, int], seed: int = 42) -> tuple[np.ndarray, ...]:
    """The source's ratings after the project's 5-core filter, as indices."""
    frame = SyntheticRatingsDataset(seed=seed, **source).load()
    frame = frame.rename(columns={"user": "user_id", "item": "item_id"})
    frame = frame.drop_duplicates(["user_id", "item_id"])
    kept, _ = filter_k_core(frame, {}, KCoreParams())
    users, user_ids = pd.factorize(kept["user_id"])
    items, item_ids = pd.factorize(kept["item_id"])
    return users.astype(np.int64), items.astype(np.int64), len(user_ids), len(item_ids)


def scaling(args: argparse.Namespace) -> None:
    """Examples/s at the default and at the full size, and their ratio.

    Both data sets are built first; then, per model and optimiser, each repeat
    times the default size and the full size back to back, so a change in the
    load of a shared machine hits both sizes alike (best of ``--repeats``).
    """
    config = TrainingParams(batch_size=args.batch_size)
    data: dict[str, tuple[int, int, NegativeSampler]] = {}
    for size, source in SCALING_SOURCES.items():
        users, items, n_users, n_items = five_core(source)
        print(
            f"{size}: {users.size:,} interactions after 5-core, {n_users:,} users, "
            f"{n_items:,} items",
            flush=True,
        )
        sampler = NegativeSampler(
            users, items, n_items, negatives_per_positive=args.negatives
        )
        data[size] = (n_users, n_items, sampler)
        # The input pipeline of one epoch (fresh negatives, shuffle, batching),
        # which train_model runs before each fit and which the fit rate excludes.
        seconds = []
        for epoch in range(1, 3):
            start = time.perf_counter()
            _, n_examples = epoch_dataset(sampler, epoch, config)
            seconds.append(time.perf_counter() - start)
        print(
            f"  input pipeline (epoch_dataset): {min(seconds):.2f} s per epoch of "
            f"{n_examples:,} examples = {n_examples / min(seconds):,.0f} examples/s",
            flush=True,
        )
    rates: dict[tuple[str, str, str], float] = {}
    for name in args.models:
        for optimizer in args.optimizers:
            for _ in range(args.repeats):
                for size, (n_users, n_items, sampler) in data.items():
                    seed_everything(args.seed)
                    model = BUILDERS[name](n_users, n_items)
                    rate = examples_per_second(
                        model, sampler, config, args.examples, optimizer
                    )
                    key = (size, name, optimizer)
                    rates[key] = max(rates.get(key, 0.0), rate)
                    print(
                        f"  {size:7s} {name:6s} {optimizer:5s} {rate:>10,.0f} examples/s",
                        flush=True,
                    )
    print("ratio full / default examples/s, best of each (target >= 0.7):")
    for name in args.models:
        ratios = ", ".join(
            f"{optimizer} {rates['full', name, optimizer]:,.0f} / "
            f"{rates['default', name, optimizer]:,.0f} = "
            f"{rates['full', name, optimizer] / rates['default', name, optimizer]:4.2f}"
            for optimizer in args.optimizers
        )
        print(f"  {name:6s} {ratios}")


OPTIMIZERS: dict[str, Callable[[float], keras.optimizers.Optimizer]] = {
    "fused": FusedAdam,  # the project's "adam"
    "keras": keras.optimizers.Adam,
    "lazy": LazyAdam,
}


def examples_per_second(
    model: keras.Model,
    sampler: NegativeSampler,
    config: TrainingParams,
    examples: int,
    optimizer: str = "fused",
) -> float:
    """Training throughput on ``examples`` examples, after a warm-up.

    The epoch's examples are repeated when ``examples`` exceeds them, so the
    count is always what was trained (an epoch of the default data has fewer
    examples than a steady measurement needs).
    """
    model.compile(
        optimizer=OPTIMIZERS[optimizer](config.learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        steps_per_execution=config.steps_per_execution,
    )
    dataset, _ = epoch_dataset(sampler, 1, config)
    dataset = dataset.repeat()
    steps = max(1, examples // config.batch_size)
    warm_up = 2 * config.steps_per_execution
    model.fit(dataset.take(warm_up), epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(dataset.skip(warm_up).take(steps), epochs=1, verbose=0, shuffle=False)
    return steps * config.batch_size / (time.perf_counter() - start)


def epoch_seconds(
    model: keras.Model,
    sampler: NegativeSampler,
    config: TrainingParams,
    epochs: int,
    *,
    autotune: bool,
) -> list[float]:
    """Wall seconds of each of ``epochs`` whole-epoch ``fit`` calls (after a warm-up)."""
    model.compile(
        optimizer=FusedAdam(config.learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        steps_per_execution=config.steps_per_execution,
    )
    options = tf.data.Options()
    options.autotune.enabled = autotune
    seconds = []
    for epoch in range(epochs + 1):
        dataset, _ = epoch_dataset(sampler, epoch + 1, config)
        dataset = dataset.with_options(options)
        if epoch == 0:
            dataset = dataset.take(2 * config.steps_per_execution)
        start = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0, shuffle=False)
        if epoch > 0:
            seconds.append(time.perf_counter() - start)
    return seconds


def users_per_second(
    scorer: KerasScorer, users: np.ndarray, targets: np.ndarray, exclude: object
) -> float:
    """Full-ranking evaluation throughput."""
    start = time.perf_counter()
    full_ranking_metrics(scorer, users, targets, exclude, ks=(10,))
    return users.size / (time.perf_counter() - start)


def best_of(measure: Callable[[], float], repeats: int) -> float:
    """The best of ``repeats`` measurements (throughput on a shared machine)."""
    return max(measure() for _ in range(repeats))


def main() -> None:
    """Parse arguments, run the measurements, print one line per model and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS)
    )
    parser.add_argument("--examples", type=int, default=400_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--negatives", type=int, default=8)
    parser.add_argument("--eval-users", type=int, default=1000)
    parser.add_argument("--reference-users", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--epochs", type=int, default=4, help="whole epochs per autotune setting"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="best of this many timings (the machine is shared)",
    )
    parser.add_argument(
        "--optimizers",
        nargs="+",
        default=["fused", "lazy"],
        choices=list(OPTIMIZERS),
        help="optimisers timed by --scaling",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="examples/s at the default and full (synthetic-full) 5-core sizes, and the ratio",
    )
    args = parser.parse_args()
    if args.scaling:
        scaling(args)
        return

    fast = TrainingParams(batch_size=args.batch_size)
    reference = TrainingParams(batch_size=args.batch_size, steps_per_execution=1)
    for size in args.sizes:
        users, items, n_users, n_items = encoded(size, args.seed)
        sampler = NegativeSampler(
            users, items, n_items, negatives_per_positive=args.negatives
        )
        exclude = interaction_matrix(users, items, n_users, n_items)
        rng = np.random.default_rng(args.seed)
        eval_users = rng.choice(n_users, min(args.eval_users, n_users), replace=False)
        # Any item the user has not seen serves as the held-out target for timing.
        targets = rng.integers(0, n_items, eval_users.size)
        clash = exclude[eval_users, targets].A1 > 0
        targets[clash] = (targets[clash] + 1) % n_items
        keep = exclude[eval_users, targets].A1 == 0
        eval_users, targets = eval_users[keep], targets[keep]
        print(f"size {size:,} ratings: {n_users:,} users, {n_items:,} items")
        for name in args.models:
            seed_everything(args.seed)
            model = BUILDERS[name](n_users, n_items)

            def best(measure: Callable[[], float]) -> float:
                return best_of(measure, args.repeats)

            rate = best(
                lambda: examples_per_second(model, sampler, fast, args.examples)
            )
            base = best(
                lambda: examples_per_second(
                    model, sampler, reference, args.examples // 4
                )
            )
            keras_rate = best(
                lambda: examples_per_second(
                    model, sampler, fast, args.examples, "keras"
                )
            )
            lazy_rate = best(
                lambda: examples_per_second(model, sampler, fast, args.examples, "lazy")
            )
            scorer = KerasScorer(model, n_items)
            eval_rate = best(
                lambda: users_per_second(scorer, eval_users, targets, exclude)
            )
            generic = KerasScorer(model, n_items)
            generic._fast = None  # the generic path: model(...) on every pair
            sub = slice(0, min(args.reference_users, eval_users.size))
            generic_rate = best(
                lambda: users_per_second(
                    generic, eval_users[sub], targets[sub], exclude
                )
            )
            print(
                f"  {name:6s} train {rate:>10,.0f} examples/s "
                f"(steps_per_execution=1: {base:>9,.0f}, ratio {rate / base:4.2f}; "
                f"Keras' Adam: {keras_rate:>9,.0f}, ratio {rate / keras_rate:4.2f}; "
                f"LazyAdam: {lazy_rate:>9,.0f}, ratio {lazy_rate / rate:4.2f}); "
                f"full ranking {eval_rate:>8,.0f} users/s "
                f"(generic predict path: {generic_rate:>7,.0f}, ratio "
                f"{eval_rate / generic_rate:5.1f})"
            )
            if args.epochs > 0:
                static = epoch_seconds(
                    model, sampler, fast, args.epochs, autotune=False
                )
                tuned = epoch_seconds(model, sampler, fast, args.epochs, autotune=True)
                print(
                    f"         whole epochs ({len(users) * (1 + args.negatives):,} "
                    f"examples): autotune off {np.mean(static):5.2f} s "
                    f"(max {max(static):5.2f}), on {np.mean(tuned):5.2f} s "
                    f"(max {max(tuned):5.2f}); ratio on/off "
                    f"{np.mean(tuned) / np.mean(static):4.2f}"
                )


if __name__ == "__main__":
    main()
