"""Validation-only tuning runs of one NCF model (GMF, MLP-NCF, NeuMF) on MovieLens-100k.

The settings in ``conf/movielens/parameters_modelling.yml`` were chosen with
this script: it trains one model through the modelling pipeline's own training
node (``train_ncf_model``: per-epoch negatives, early stopping on validation
NDCG@10) for each seed, and prints the kept epoch's validation NDCG@10 (raw and
smoothed), the seconds to it and the whole training time. It never looks at the
test split, so tuning with it stays honest; the test figures come from
``kedro run --env movielens``.

A pretrained NeuMF (``--set neumf.model.pretrained=true``) first trains the GMF
and MLP of the same seed with their current settings; its printed seconds
include theirs.

Prerequisite: ``bash ../shared/datasets/get_ml100k.sh data/movielens/01_raw``. The
script first runs the ``data_processing`` pipeline of ``--env`` itself, so the split
it tunes on is the one the environment's current settings give.

Usage::

    .venv/bin/python benchmarks/tune_ncf_ml100k.py --model gmf --seeds 0 1 2 \\
        --set gmf.model.l2=0.003 --set gmf.training_overrides.learning_rate=0.01
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from ncf_recommender.pipelines.modelling.nodes import train_ncf_model

PROJECT = Path(__file__).resolve().parents[1]
SPLITS = ("train_interactions", "val_interactions", "user_mapping", "item_mapping")


def apply_overrides(params: dict[str, Any], assignments: list[str]) -> None:
    """Set ``dotted.key=value`` assignments (values parsed as YAML) in ``params``.

    Raises:
        KeyError: If a key along the path does not exist (a typo would
            otherwise tune nothing).
    """
    for assignment in assignments:
        key, _, text = assignment.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            if part not in node:
                raise KeyError(f"--set {assignment!r}: no parameter group {part!r}")
            node = node[part]
        if leaf not in node and parents[-1:] != ["training_overrides"]:
            raise KeyError(f"--set {assignment!r}: no parameter {key!r}")
        node[leaf] = yaml.safe_load(text)


def train(
    name: str, params: dict[str, Any], data: dict[str, Any], seed: int, pretrained: dict
) -> tuple[Any, dict[str, Any]]:
    """Train one model of one seed with the pipeline's training node."""
    training = {**params["training"], "seed": seed}
    model, _, summary = train_ncf_model(
        data["train_interactions"],
        data["val_interactions"],
        data["user_mapping"],
        data["item_mapping"],
        params[name]["model"],
        training,
        params[name]["training_overrides"],
        **pretrained,
    )
    return model, summary


def main() -> None:
    """Parse the arguments, train each seed, print one JSON line per run and the mean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("gmf", "mlp", "neumf"), required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--env", default="movielens")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT, env=args.env) as session:
        session.run(pipeline_names=["data_processing"])
    with KedroSession.create(project_path=PROJECT, env=args.env) as session:
        context = session.load_context()
        params = context.config_loader["parameters"]
        data = {name: context.catalog.load(name) for name in SPLITS}
    apply_overrides(params, args.overrides)

    runs = []
    for seed in args.seeds:
        pretrained: dict[str, Any] = {}
        before = 0.0
        if args.model == "neumf" and params["neumf"]["model"]["pretrained"]:
            for source in ("gmf", "mlp"):
                model, summary = train(source, params, data, seed, {})
                pretrained[f"pretrained_{source}"] = model
                before += summary["train_seconds"]
        _, summary = train(args.model, params, data, seed, pretrained)
        run = {
            "seed": seed,
            "best_epoch": summary["best_epoch"],
            "val_ndcg@10": round(summary["val_ndcg@10"], 4),
            "val_ndcg@10_smoothed": round(summary["val_ndcg@10_smoothed"], 4),
            "seconds_to_best": round(before + summary["seconds_to_best"], 1),
            "train_seconds": round(before + summary["train_seconds"], 1),
        }
        runs.append(run)
        print(json.dumps(run), flush=True)
    mean = {
        key: round(float(np.mean([run[key] for run in runs])), 4)
        for key in ("val_ndcg@10", "val_ndcg@10_smoothed", "seconds_to_best")
    }
    print(
        f"{args.model} {' '.join(args.overrides)}: mean over seeds {args.seeds}: "
        f"{json.dumps(mean)}"
    )


if __name__ == "__main__":
    main()
