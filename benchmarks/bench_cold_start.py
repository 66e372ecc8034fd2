"""The cold-item protocol on a processed environment: warm and cold metrics per baseline.

Reads what ``kedro run --env <env> --pipeline data_processing`` and
``--pipeline item_metadata`` wrote under ``data/<env>/`` (the splits, the item
mapping, ``item_metadata`` and ``item_features``), holds out a seeded 10 % of
items as new (:mod:`ncf_recommender.evaluation.cold_start`), fits each baseline
on what is left, and ranks every test user's held-out item among all items.

Printed per seed and as the mean over seeds: full-ranking HR@10 and NDCG@10 (with
its standard error) of the warm and of the cold test users, for:

- ``most_popular``, ``als`` and ``sasrec``: id-only models (they know nothing
  of new items);
- ``category_popularity`` and ``content_knn``: the metadata baselines;
- ``content_sasrec``: the registry's content-aware SASRec, trained and
  calibrated by the modelling pipeline's training node
  (:mod:`ncf_recommender.models.content`);
- ``sasrec_new_items``: the id-only SASRec whose rows for the new items are
  filled after training by :func:`~ncf_recommender.models.new_items.embed_new_items`
  (the rescaled mean of the vectors of their known related items, else of their
  category's known items), as ``POST /items`` places a new product in serving.

The SASRecs train with the environment's ``sequence_training`` and
``sasrec`` / ``content_sasrec`` parameters (early stopping on the validation
users, whose validation items are never new items).

Run: ``.venv/bin/python benchmarks/bench_cold_start.py --env amazon-grocery
[--seeds 0 1 2] [--share 0.1] [--models ...]
[--record benchmarks/results/cold_start_<env>.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ncf_recommender.config import EnvironmentConfigLoader  # noqa: E402
from ncf_recommender.constants import ITEM_IDX, USER_IDX  # noqa: E402
from ncf_recommender.evaluation.cold_start import (  # noqa: E402
    cold_mask,
    hold_out_new_items,
    metrics_by_group,
)
from ncf_recommender.evaluation.ranking import full_rank_counts  # noqa: E402
from ncf_recommender.models.baselines import (  # noqa: E402
    DotProductScorer,
    MostPopularScorer,
    fit_als,
)
from ncf_recommender.models.content_baselines import (  # noqa: E402
    CategoryPopularityScorer,
    ContentKNNScorer,
    feature_matrix,
    history_matrix,
)
from ncf_recommender.models.layers import ITEM_EMBEDDING  # noqa: E402
from ncf_recommender.models.new_items import embed_new_items  # noqa: E402
from ncf_recommender.models.sequences import (  # noqa: E402
    SequenceScorer,
    build_histories,
    extend_histories,
)
from ncf_recommender.pipelines.cold_start.nodes import item_categories  # noqa: E402
from ncf_recommender.pipelines.modelling.sequence_nodes import (  # noqa: E402
    train_sequence_model,
)
from ncf_recommender.plots import cold_warm_figure  # noqa: E402


def _load(env: str) -> dict:
    data = ROOT / "data" / env
    model_input = data / "05_model_input"
    frames = {
        split: pd.read_parquet(model_input / f"{split}_interactions.parquet")
        for split in ("train", "val", "test")
    }
    mapping = pd.read_parquet(data / "03_primary" / "item_mapping.parquet")
    users = pd.read_parquet(data / "03_primary" / "user_mapping.parquet")
    metadata = pd.read_parquet(data / "03_primary" / "item_metadata.parquet")
    features = pd.read_parquet(data / "05_model_input" / "item_features.parquet")
    vocabulary = pd.read_parquet(
        data / "05_model_input" / "item_feature_vocabulary.parquet"
    )
    relations = pd.read_parquet(data / "05_model_input" / "item_relations.parquet")
    return {
        **frames,
        "user_mapping": users,
        "item_mapping": mapping,
        "n_items": len(mapping),
        "n_users": len(users),
        "metadata": metadata,
        "features": features,
        "n_features": len(vocabulary),
        "vocabulary": vocabulary,
        "relations": relations.dropna(subset=[ITEM_IDX, "related_item_idx"]),
    }


def _parameters(env: str) -> dict:
    conf = EnvironmentConfigLoader(
        conf_source=str(ROOT / "conf"),
        env=None if env == "default" else env,
        base_env="base",
        default_run_env="local",
    )
    return conf["parameters"]


def _sequence_scorer(data: dict, split, seed: int, name: str) -> SequenceScorer:
    """Train ``sasrec`` or ``content_sasrec`` on the cold split, as the pipelines do.

    The modelling pipeline's training node builds, trains (and, for the
    content model, calibrates) the model from the environment's
    ``sequence_training`` and ``<name>`` parameters, with ``seed`` as the
    training seed.
    """
    params = data["parameters"]
    model, _, summary = train_sequence_model(
        split.train,
        split.val,
        data["user_mapping"],
        data["item_mapping"],
        params[name]["model"],
        {**params["sequence_training"], "seed": seed},
        params[name].get("training_overrides") or {},
        data["features"],
        data["vocabulary"],
    )
    if "new_items" in summary:
        data.setdefault("calibration", {})[seed] = summary["new_items"]
        print("calibration", summary["new_items"])
    test_histories = extend_histories(
        build_histories(split.train, data["n_users"]),
        split.val[USER_IDX].to_numpy(),
        split.val[ITEM_IDX].to_numpy(),
    )
    return SequenceScorer(model, test_histories)


def _with_new_item_vectors(
    scorer: SequenceScorer, data: dict, split, categories: np.ndarray
) -> SequenceScorer:
    """Give the new items of ``split`` rows in the scorer's tied item table.

    Each new item's row becomes :func:`embed_new_items` of its related items
    with training interactions, else of the warm items of its deepest category
    (rows of items with neither stay as trained).
    """
    n_items = data["n_items"]
    warm = np.bincount(split.train[ITEM_IDX], minlength=n_items) > 0
    relations = data["relations"]
    related = relations[ITEM_IDX].to_numpy(np.int64)
    neighbour = relations["related_item_idx"].to_numpy(np.int64)
    keep = warm[neighbour] & (related != neighbour)
    by_item = pd.Series(neighbour[keep]).groupby(related[keep]).agg(list)
    warm_by_category = (
        pd.Series(np.flatnonzero(warm & (categories >= 0)))
        .groupby(categories[warm & (categories >= 0)])
        .agg(list)
    )
    new = split.new_items
    related_rows = [by_item.get(int(i), []) for i in new]
    category_rows = [
        warm_by_category.get(int(categories[i]), []) if categories[i] >= 0 else []
        for i in new
    ]
    layer = scorer.model.get_layer(ITEM_EMBEDDING)
    table = layer.embeddings.numpy()
    placed = embed_new_items(table[1:], related_rows, category_rows)
    found = placed.basis != "none"
    table[new[found] + 1] = placed.vectors[found]
    layer.embeddings.assign(table)
    return scorer


def run_seed(data: dict, seed: int, share: float, models: list[str]) -> dict[str, dict]:
    """Every model's warm and cold metrics for one seed."""
    split = hold_out_new_items(
        data["train"],
        data["val"],
        data["test"],
        n_items=data["n_items"],
        share=share,
        seed=seed,
    )
    n_users, n_items = data["n_users"], data["n_items"]
    history = history_matrix(split.train, n_users, n_items)
    seen = history_matrix(pd.concat([data["train"], data["val"]]), n_users, n_items)
    users = split.test[USER_IDX].to_numpy()
    targets = split.test[ITEM_IDX].to_numpy()
    cold = cold_mask(targets, split.new_items)
    scorers = {
        "most_popular": lambda: MostPopularScorer(
            split.train[ITEM_IDX].to_numpy(), n_items
        ),
        "als": lambda: DotProductScorer(
            *fit_als(
                sp.csr_matrix(history),
                factors=64,
                regularization=10.0,
                alpha=0.0,
                iterations=15,
                seed=seed,
            )
        ),
        "category_popularity": lambda: CategoryPopularityScorer(
            history, item_categories(data["metadata"], n_items)
        ),
        "content_knn": lambda: ContentKNNScorer(
            history, feature_matrix(data["features"], n_items, data["n_features"])
        ),
        "sasrec": lambda: _sequence_scorer(data, split, seed, "sasrec"),
        "content_sasrec": lambda: _sequence_scorer(data, split, seed, "content_sasrec"),
        "sasrec_new_items": lambda: _with_new_item_vectors(
            _sequence_scorer(data, split, seed, "sasrec"),
            data,
            split,
            item_categories(data["metadata"], n_items),
        ),
    }
    out = {}
    for name in models:
        build = scorers[name]
        start = time.perf_counter()
        scorer = build()
        g, t = full_rank_counts(
            scorer, users, targets, seen, description=f"{name} seed {seed}"
        )
        out[name] = metrics_by_group(g, t, cold)
        out[name]["seconds"] = round(time.perf_counter() - start, 1)
    out["groups"] = {
        "warm_users": int((~cold).sum()),
        "cold_users": int(cold.sum()),
        "new_items": int(split.new_items.size),
    }
    return out


def _table(results: dict[str, dict]) -> str:
    lines = [
        "| model | warm HR@10 | warm NDCG@10 (± se) | cold HR@10 | cold NDCG@10 (± se) |",
        "|---|---|---|---|---|",
    ]
    for name, groups in results.items():
        if name == "groups":
            continue
        cells = []
        for group in ("warm", "cold"):
            m = groups[group]
            cells += (
                ["–", "–"]
                if m is None
                else [
                    f"{m['hr@10']:.4f}",
                    f"{m['ndcg@10']:.4f} ± {m['ndcg@10_se']:.4f}",
                ]
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument(
        "--models",
        nargs="+",
        default=[
            "most_popular",
            "als",
            "category_popularity",
            "content_knn",
            "sasrec",
            "content_sasrec",
        ],
    )
    parser.add_argument("--record", type=Path)
    parser.add_argument(
        "--plot",
        type=Path,
        help="PNG of warm and cold NDCG@10 per model (mean of seeds)",
    )
    parser.add_argument(
        "--from-record",
        type=Path,
        help="draw --plot from this record instead of running the protocol",
    )
    args = parser.parse_args()
    if args.from_record:
        record = json.loads(args.from_record.read_text())
        title = f"{record['env']}: new items held out, mean of seeds {record['seeds']}"
        cold_warm_figure(record["mean"], title).savefig(args.plot, dpi=110)
        return
    data = _load(args.env)
    data["parameters"] = _parameters(args.env)
    runs = {}
    for seed in args.seeds:
        runs[seed] = run_seed(data, seed, args.share, args.models)
        print(f"\n## {args.env}, seed {seed}: {runs[seed]['groups']}")
        print(_table(runs[seed]))
    names = [name for name in runs[args.seeds[0]] if name != "groups"]
    mean = {
        name: {
            group: {
                key: float(np.mean([runs[s][name][group][key] for s in args.seeds]))
                for key in ("hr@10", "ndcg@10", "ndcg@10_se")
            }
            for group in ("warm", "cold")
        }
        for name in names
    }
    print(f"\n## {args.env}, mean over seeds {args.seeds}")
    print(_table(mean))
    if args.plot:
        figure = cold_warm_figure(
            mean, f"{args.env}: new items held out, mean of seeds {args.seeds}"
        )
        figure.savefig(args.plot, dpi=110)
    if args.record:
        args.record.write_text(
            json.dumps(
                {
                    "env": args.env,
                    "share": args.share,
                    "id_dropout": data["parameters"]["content_sasrec"]["model"][
                        "id_dropout"
                    ],
                    "seeds": args.seeds,
                    "command": " ".join(sys.argv),
                    "runs": {str(s): r for s, r in runs.items()},
                    "mean": mean,
                    "calibration": {
                        str(s): c for s, c in data.get("calibration", {}).items()
                    },
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
