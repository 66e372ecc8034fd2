"""SASRec-style and GRU4Rec-style next-item models on MovieLens-100k, under PROTOCOL.md.

Data: the ``ml-100k.inter`` file (``bash ../shared/datasets/get_ml100k.sh DIR``)
goes through the project's own data_processing functions (schema, cleaning,
id encoding, leave-last-two split). Each model is trained on train only; every
epoch, validation ranks each user's validation item among all items after the
user's train history, masking train items, and the best epoch by validation
NDCG@10 is kept. At test time the model reads train + the validation item (it
happened before the test item) but was never trained on it. Test metrics come
from ``ncf_recommender.evaluation.evaluate_scorer`` (full ranking masking train
and validation items; sampled ranking among 99 stored negatives drawn once per
test user from the items the user never interacted with, ``default_rng(2017)``).

Speed: seconds to the best epoch (training only, and training plus per-epoch
validation), and the ratio to a reference workload timed in the same process
(implicit ALS, 128 factors, 30 iterations, on the same train matrix), so runs
on a busy machine stay comparable.

Usage::

    .venv/bin/python benchmarks/bench_sequence_ml100k.py --data /work/data_ml100k \
        --model sasrec --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf_recommender.constants import (
    EVAL_NEGATIVES_PER_USER,
    EVAL_NEGATIVES_SEED,
    ITEM_ID,
    ITEM_IDX,
    RATING,
    TIMESTAMP,
    USER_ID,
    USER_IDX,
)
from ncf_recommender.evaluation import evaluate_scorer, interaction_matrix
from ncf_recommender.models.baselines import fit_als
from ncf_recommender.models.gru4rec import build_gru4rec
from ncf_recommender.models.neumf import build_neumf
from ncf_recommender.models.sasrec import build_sasrec
from ncf_recommender.models.sequences import SequenceScorer, extend_histories
from ncf_recommender.pipelines.data_processing.nodes import (
    clean_ratings,
    encode_ids,
    split_leave_last_two,
    validate_schema,
)
from ncf_recommender.pipelines.data_processing.params import SourceParams
from ncf_recommender.training.loop import seed_everything
from ncf_recommender.training.ncf import NCFData, train_ncf
from ncf_recommender.training.params import SequenceTrainingParams, TrainingParams
from ncf_recommender.training.sampling import NegativeSampler, sample_eval_candidates
from ncf_recommender.training.sequence import sequence_validation, train_sequence

ML100K_COLUMNS = {
    USER_ID: "user_id:token",
    ITEM_ID: "item_id:token",
    RATING: "rating:float",
    TIMESTAMP: "timestamp:float",
}


def load_split(data_dir: Path) -> dict[str, Any]:
    """Read ml-100k and split it with the project's data_processing functions.

    Args:
        data_dir: Folder holding ``ml-100k.inter``.

    Returns:
        ``train``, ``val``, ``test``, ``interactions`` frames, ``n_users``, ``n_items``.
    """
    source = pd.read_csv(data_dir / "ml-100k.inter", sep="\t")
    params = SourceParams(name="ml-100k", columns=ML100K_COLUMNS)
    raw, report = validate_schema(source, params)
    cleaned, _ = clean_ratings(raw, report, params)
    interactions, users, items = encode_ids(cleaned)
    train, val, test = split_leave_last_two(interactions)
    return {
        "interactions": interactions,
        "train": train,
        "val": val,
        "test": test,
        "n_users": len(users),
        "n_items": len(items),
    }


def test_candidates(
    interactions: pd.DataFrame, test: pd.DataFrame, n_items: int
) -> np.ndarray:
    """The protocol's 99 stored negatives per test user (project sampler, seed 2017)."""
    return sample_eval_candidates(
        interactions[USER_IDX].to_numpy(),
        interactions[ITEM_IDX].to_numpy(),
        test[USER_IDX].to_numpy(),
        n_items,
        EVAL_NEGATIVES_PER_USER,
        EVAL_NEGATIVES_SEED,
    )


def als_reference(train: pd.DataFrame, n_users: int, n_items: int) -> dict[str, float]:
    """Time ALS (128 factors, 30 iterations) on the train matrix.

    Returns:
        ``wall_s`` and ``cpu_s`` (process CPU) of the fit.
    """
    matrix = interaction_matrix(
        train[USER_IDX].to_numpy(), train[ITEM_IDX].to_numpy(), n_users, n_items
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    fit_als(matrix, factors=128, regularization=10.0, iterations=30, seed=0)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu_start,
    }


def neumf_reference(data: dict[str, Any]) -> dict[str, float]:
    """Train the project's NeuMF (no pre-training) with the modelling defaults.

    Sizes and settings follow ``conf/base/parameters_modelling.yml`` (embeddings
    64 + 64, MLP 128-64-32, Adam 1e-3, batch 1024, 8 negatives, patience 5,
    smoothing 3).

    Returns:
        ``wall_s`` (wall-clock seconds to the selected epoch, validation
        included, as the NCF trainer reports it), ``cpu_s`` (process CPU of the
        whole run), ``total_wall_s``, ``best_epoch`` and its test-free
        validation NDCG@10.
    """
    train, val = data["train"], data["val"]
    config = TrainingParams(
        epochs=30,
        batch_size=1024,
        learning_rate=1e-3,
        patience=5,
        smoothing=3,
        steps_per_execution=50,
        seed=42,
    )
    seed_everything(config.seed)
    model = build_neumf(data["n_users"], data["n_items"], 64, 64, (128, 64, 32))
    cpu_start = time.process_time()
    users, items = train[USER_IDX].to_numpy(), train[ITEM_IDX].to_numpy()
    ncf_data = NCFData(
        sampler=NegativeSampler(
            users, items, data["n_items"], negatives_per_positive=8
        ),
        val_users=val[USER_IDX].to_numpy(),
        val_items=val[ITEM_IDX].to_numpy(),
        train_users=users,
        train_items=items,
        n_users=data["n_users"],
        n_items=data["n_items"],
    )
    result = train_ncf(model, ncf_data, config)
    best = result.history.loc[result.history["epoch"] == result.best_epoch].iloc[0]
    return {
        "wall_s": float(result.seconds_to_best),
        "cpu_s": time.process_time() - cpu_start,
        "total_wall_s": float(result.train_seconds),
        "best_epoch": int(result.best_epoch),
        "val_ndcg@10": float(best["val_ndcg@10"]),
    }


def build_model(args: argparse.Namespace, n_items: int, seed: int) -> Any:
    """Build the model named by ``args.model`` with the command-line sizes."""
    if args.model == "sasrec":
        return build_sasrec(
            n_items,
            args.max_len,
            args.dim,
            args.heads,
            args.blocks,
            dropout=args.dropout,
            l2=args.l2,
            seed=seed,
        )
    return build_gru4rec(
        n_items,
        args.max_len,
        args.dim,
        args.hidden,
        args.layers,
        dropout=args.dropout,
        l2=args.l2,
        seed=seed,
    )


def run_seed(
    args: argparse.Namespace, data: dict[str, Any], candidates: np.ndarray, seed: int
) -> dict[str, Any]:
    """Train one seed and evaluate it on test under the protocol."""
    n_users, n_items = data["n_users"], data["n_items"]
    train, val = data["train"], data["val"]
    train_histories, validation = sequence_validation(train, val, n_users, n_items)
    params = SequenceTrainingParams(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        decay_epochs=args.decay_epochs,
        decay_floor=args.decay_floor,
        loss=args.loss,
        n_negatives=args.negatives,
        window_stride=args.stride,
        patience=args.patience,
        weight_decay=args.weight_decay,
        seed=seed,
    )
    cpu_start = time.process_time()
    model = build_model(args, n_items, seed)
    result = train_sequence(model, train_histories, validation, params)
    model, history = result.model, result.history
    cpu_total = time.process_time() - cpu_start
    best = history.loc[history["selected"]].iloc[0]
    upto = history.loc[history["epoch"] <= best["epoch"]]
    test_histories = extend_histories(
        train_histories, val[USER_IDX].to_numpy(), val[ITEM_IDX].to_numpy()
    )
    scorer = SequenceScorer(model, test_histories)
    report = evaluate_scorer(
        scorer, train, val, data["test"], candidates, n_users=n_users
    )
    return {
        "seed": seed,
        "best_epoch": int(best["epoch"]),
        "epochs_run": len(history),
        "val_ndcg@10": float(best["val_ndcg@10"]),
        "val_hr@10": float(best["val_hr@10"]),
        "train_s_to_best": float(upto["train_seconds"].sum()),
        "train_cpu_s_to_best": float(upto["train_cpu_seconds"].sum()),
        "wall_s_to_best": float(
            upto["train_seconds"].sum() + upto["eval_seconds"].sum()
        ),
        "train_s_total": float(history["train_seconds"].sum()),
        "cpu_s_total": cpu_total,
        "test": report,
    }


def parse_args() -> argparse.Namespace:
    """Command-line options (model sizes and training hyper-parameters)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/data_ml100k"))
    parser.add_argument("--model", choices=("sasrec", "gru4rec"), default="sasrec")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=None, help="GRU state size")
    parser.add_argument("--layers", type=int, default=1, help="GRU layers")
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--decay-epochs", type=int, default=None, help="cosine decay length"
    )
    parser.add_argument("--decay-floor", type=float, default=0.0)
    parser.add_argument("--loss", default="softmax")
    parser.add_argument("--negatives", type=int, default=128)
    parser.add_argument("--stride", type=int, default=None)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument(
        "--reference",
        choices=("neumf", "als", "none"),
        default="neumf",
        help="workload timed in the same process for the speed ratio",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the results here"
    )
    parser.add_argument("--verbose", action="store_true", help="log every epoch")
    return parser.parse_args()


def main() -> None:
    """Run every seed, print per-seed and mean figures."""
    args = parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    data = load_split(args.data)
    print(
        f"ml-100k: {data['n_users']} users, {data['n_items']} items, "
        f"{len(data['train'])} train / {len(data['val'])} val / {len(data['test'])} test rows"
    )
    candidates = test_candidates(data["interactions"], data["test"], data["n_items"])
    config = {
        k: v
        for k, v in vars(args).items()
        if k not in {"data", "json", "verbose", "seeds"}
    }
    print("config:", json.dumps(config, default=str))
    ref: dict[str, float] | None = None
    if args.reference == "neumf":
        ref = neumf_reference(data)
        print(
            f"reference NeuMF (no pre-training): best epoch {ref['best_epoch']}, val NDCG@10 "
            f"{ref['val_ndcg@10']:.4f}, {ref['wall_s']:.1f} s to best (validation included), "
            f"{ref['total_wall_s']:.1f} s and CPU {ref['cpu_s']:.1f} s for the whole run",
            flush=True,
        )
    elif args.reference == "als":
        ref = als_reference(data["train"], data["n_users"], data["n_items"])
        print(
            f"reference ALS (128 factors, 30 it.): {ref['wall_s']:.1f} s, CPU {ref['cpu_s']:.1f} s"
        )
    results = []
    for seed in args.seeds:
        result = run_seed(args, data, candidates, seed)
        results.append(result)
        full, sampled = result["test"]["full"], result["test"]["sampled"]
        print(
            f"seed {seed}: best epoch {result['best_epoch']}/{result['epochs_run']}  "
            f"val NDCG@10 {result['val_ndcg@10']:.4f}  | test full HR@10 {full['hr@10']:.4f} "
            f"NDCG@10 {full['ndcg@10']:.4f} MRR {full['mrr']:.4f}  sampled HR@10 "
            f"{sampled['hr@10']:.4f} NDCG@10 {sampled['ndcg@10']:.4f}  | train to best "
            f"{result['train_s_to_best']:.1f} s, CPU {result['train_cpu_s_to_best']:.1f} s "
            f"(with validation {result['wall_s_to_best']:.1f} s, "
            f"all epochs {result['train_s_total']:.1f} s)",
            flush=True,
        )
    table = pd.DataFrame(
        {
            "val_ndcg@10": [r["val_ndcg@10"] for r in results],
            "full_hr@10": [r["test"]["full"]["hr@10"] for r in results],
            "full_ndcg@10": [r["test"]["full"]["ndcg@10"] for r in results],
            "full_mrr": [r["test"]["full"]["mrr"] for r in results],
            "sampled_hr@10": [r["test"]["sampled"]["hr@10"] for r in results],
            "sampled_ndcg@10": [r["test"]["sampled"]["ndcg@10"] for r in results],
            "train_s_to_best": [r["train_s_to_best"] for r in results],
            "train_cpu_s_to_best": [r["train_cpu_s_to_best"] for r in results],
            "wall_s_to_best": [r["wall_s_to_best"] for r in results],
            "cpu_s_total": [r["cpu_s_total"] for r in results],
        }
    )
    summary = table.agg(["mean", "std", "min", "max"]).T
    print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
    if args.reference == "neumf" and ref is not None:
        print(
            "to best epoch (validation included) / NeuMF's: "
            f"{table['wall_s_to_best'].mean() / ref['wall_s']:.2f}; whole-run CPU / NeuMF's: "
            f"{table['cpu_s_total'].mean() / ref['cpu_s']:.2f}"
        )
    elif ref is not None:
        print(
            f"train to best / ALS: wall {table['train_s_to_best'].mean() / ref['wall_s']:.2f}, "
            f"CPU {table['train_cpu_s_to_best'].mean() / ref['cpu_s']:.2f}"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"config": config, "reference_s": ref, "seeds": results},
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
