"""Estimate: what multi-worker or GPU training of the NCF models would face at 2023 size.

Training and serving stay single-process Keras reading the catalogued parquet; this
script only does the arithmetic a distributed step would be planned with, from the
project's modelling parameters (``conf/base/parameters_modelling.yml``) and the data
sizes given on the command line:

* embedding tables per model (rows x dim x 4 bytes) and their Adam state (2 slots);
* examples per epoch (train positives x (1 + negatives per positive)) and steps per
  epoch at the configured batch size, on one worker and split over ``--workers``;
* per step, the embedding rows a worker touches (at most ``2 x batch`` per table) and
  what synchronising them costs: the sparse gradient rows to all-gather, against the
  whole tables a dense all-reduce would send;
* with ``--examples-per-second`` (measured single-process throughput, e.g. from
  ``benchmarks/bench_training.py``), the epoch time on one process and an ideal
  (linear) bound for ``--workers``.

    .venv/bin/python benchmarks/estimate_distributed_training.py            # 2023 raw size
    .venv/bin/python benchmarks/estimate_distributed_training.py \\
        --users 181602 --items 59929 --train 1385317 --examples-per-second 250000

The default sizes are the 2023 Electronics category before any k-core (18.3M users,
1.6M items, 43.9M ratings, every rating counted as a train positive): upper bounds,
since the 5-core is much smaller. For a 5-core every user holds out exactly two
ratings, so ``--train`` is ratings - 2 x users (the 2014-size generated 5-core:
1,748,521 - 2 x 181,602 = 1,385,317).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024**3


def _model_params() -> dict:
    text = (ROOT / "conf" / "base" / "parameters_modelling.yml").read_text()
    params = yaml.safe_load(text)
    gmf_dim = int(params["gmf"]["model"]["embedding_dim"])
    mlp_dim = int(params["mlp"]["model"]["embedding_dim"])
    training = params["training"]
    return {
        "tables": {
            "GMF": [gmf_dim],
            "MLP-NCF": [mlp_dim],
            "NeuMF": [gmf_dim, mlp_dim],
        },
        "batch_size": int(training["batch_size"]),
        "negatives": int(training["negatives_per_positive"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=18_300_000)
    parser.add_argument("--items", type=int, default=1_600_000)
    parser.add_argument("--ratings", type=int, default=43_900_000)
    parser.add_argument("--train", type=int, default=None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--examples-per-second", type=float, default=None)
    args = parser.parse_args()
    model = _model_params()
    train = args.train or args.ratings
    batch, negatives = model["batch_size"], model["negatives"]
    examples = train * (1 + negatives)
    steps = -(-examples // batch)

    print(
        f"data: {args.users:,} users, {args.items:,} items, {train:,} train positives"
    )
    print(
        f"examples per epoch: {examples:,} ({negatives} negatives per positive); "
        f"{steps:,} steps of {batch} on 1 worker, {-(-steps // args.workers):,} "
        f"per worker on {args.workers} (global batch {batch * args.workers})"
    )
    print(
        f"{'model':<8} {'table rows':>12} {'weights GiB':>12} {'+Adam GiB':>10} "
        f"{'rows/step':>10} {'sparse MiB/step':>16} {'dense GiB/step':>15}"
    )
    for name, dims in model["tables"].items():
        rows = (args.users + args.items) * len(dims)
        weights = sum((args.users + args.items) * dim * 4 for dim in dims)
        touched = sum(
            2 * batch * dim * 4 for dim in dims
        )  # user + item row per example
        print(
            f"{name:<8} {rows:>12,} {weights / GIB:>12.2f} {3 * weights / GIB:>10.2f} "
            f"{2 * batch * len(dims):>10,} {touched / 1024**2:>16.2f} "
            f"{weights / GIB:>15.2f}"
        )
    if args.examples_per_second:
        one = examples / args.examples_per_second
        print(
            f"epoch at {args.examples_per_second:,.0f} examples/s: {one / 60:.1f} min on "
            f"one process; at best {one / args.workers / 60:.1f} min on {args.workers} "
            "workers (linear scaling, synchronisation not counted)"
        )


if __name__ == "__main__":
    main()
