"""Serving new products on a processed environment: placement checks and request cost.

Reads what ``kedro run --env <env>`` (data processing, a trained SASRec/GRU4Rec)
and ``--pipeline item_metadata`` wrote under ``data/<env>/`` (read-only), builds
the serving :class:`~ncf_recommender.serving.Recommender` of each model with the
catalogued ``item_metadata``, adds products at serving time and prints:

- the time of ``add_item`` (the first call builds and probes the item space);
- a product whose only related item is a known item ``X`` gets ``X``'s vector:
  its score must equal ``X``'s for a user (printed side by side);
- a product placed by a category (the commonest dominant category among users
  whose history is mostly one category of 20 items up to 20 % of the catalogue):
  its rank, as a share of the whole list, for those users and for 200 others;
- ``recommend_many`` of 100 known users, top 10, without and with added
  products (same process; the sequence models run one more pass for the
  hidden states).

``gmf`` is trained here for two epochs on ``interactions`` (4 sampled negatives
each) when asked for, so the check does not depend on a saved GMF's layer
classes.

Run: ``.venv/bin/python benchmarks/bench_new_items.py --env amazon-grocery
[--models sasrec gru gmf] [--data-root DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ncf_recommender.serving import (  # noqa: E402
    CataloguedMetadata,
    Recommender,
    ServingData,
    get_model_type,
)


def load_sequence_model(models: Path, name: str):
    """The latest saved ``<name>_model`` of the environment."""
    import keras  # noqa: PLC0415

    import ncf_recommender.models.layers  # noqa: F401, PLC0415

    folder = models / f"{name}_model.keras"
    version = sorted(os.listdir(folder))[-1]
    path = folder / version / f"{name}_model.keras"
    return keras.saving.load_model(path, safe_mode=True, compile=False), version


def train_gmf(interactions: pd.DataFrame, data: ServingData):
    """A GMF fitted for two epochs (dimension 32, 4 negatives per positive, seed 0)."""
    import keras  # noqa: PLC0415

    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    users = interactions["user_idx"].to_numpy()
    items = interactions["item_idx"].to_numpy()
    neg_users = np.repeat(users, 4)
    neg_items = rng.integers(0, data.n_items, neg_users.size)
    model = build_gmf(data.n_users, data.n_items, embedding_dim=32)
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="binary_crossentropy")
    model.fit(
        {
            "user_idx": np.r_[users, neg_users].astype(np.int32),
            "item_idx": np.r_[items, neg_items].astype(np.int32),
        },
        np.r_[np.ones(users.size), np.zeros(neg_users.size)].astype(np.float32),
        epochs=2,
        batch_size=4096,
        verbose=0,
    )
    return model, "fresh"


def placement_category(recommender: Recommender) -> tuple[str, np.ndarray]:
    """A category of 20 items up to 20 % of the catalogue and its users.

    Returns:
        The category and the users whose history is mostly (>= half) in it.
    """
    categories = recommender.item_metadata.item_categories
    seen = recommender.data.seen
    sizes = pd.Series(categories).value_counts()
    small = set(sizes[(sizes >= 20) & (sizes <= 0.2 * categories.size)].index)
    dominant = []
    for user in range(recommender.data.n_users):
        counts = pd.Series(
            categories[seen.indices[seen.indptr[user] : seen.indptr[user + 1]]]
        ).value_counts()
        top = counts.index[0] if counts.size else None
        mostly = counts.size and counts.iloc[0] >= 0.5 * counts.sum()
        dominant.append(top if mostly and top in small else None)
    dominant = pd.Series(dominant)
    target = dominant.value_counts().index[0]
    return str(target), np.flatnonzero(dominant.to_numpy() == target)


def relative_rank(recommender: Recommender, users: np.ndarray, item_id: str) -> float:
    """Median rank of ``item_id`` in the users' whole lists, as a share (0 = top)."""
    ids = list(recommender.data.user_ids[users])
    lists = recommender.recommend_many(ids, recommender.data.n_items + 10)
    shares = [
        next(i.rank for i in r.recommendations if i.item_id == item_id)
        / len(r.recommendations)
        for r in lists
    ]
    return float(np.median(shares))


def main() -> None:
    """Parse the arguments and print the figures of each model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--env", default="amazon-grocery")
    parser.add_argument(
        "--data-root", type=Path, default=ROOT / "data", help="folder of data/<env>"
    )
    parser.add_argument("--models", nargs="+", default=["sasrec", "gru", "gmf"])
    args = parser.parse_args()
    data_root = args.data_root / args.env
    primary = data_root / "03_primary"
    interactions = pd.read_parquet(primary / "interactions.parquet")
    data = ServingData.from_frames(
        interactions,
        pd.read_parquet(primary / "user_mapping.parquet"),
        pd.read_parquet(primary / "item_mapping.parquet"),
    )
    metadata = CataloguedMetadata.from_frame(
        pd.read_parquet(primary / "item_metadata.parquet"), data.item_ids
    )
    print(
        f"{args.env}: {data.n_users} users, {data.n_items} items, "
        f"{len(metadata.frame)} item_metadata rows"
    )
    for name in args.models:
        model_type = get_model_type(name)
        model, version = (
            train_gmf(interactions, data)
            if name == "gmf"
            else load_sequence_model(data_root / "06_models", name)
        )

        def build(model_type=model_type, model=model) -> Recommender:
            scorer = model_type.scorer_factory(model, data)
            return Recommender(scorer, data, model_type, item_metadata=metadata)

        recommender = build()
        print(f"\n{name} (version {version})")
        known = str(data.item_ids[5])
        start = time.perf_counter()
        recommender.add_item({"item_id": "NEW-REL", "related": [known]})
        print(f"  add_item, first (builds the item space): {_ms(start)}")
        user = next(
            uid
            for u, uid in enumerate(data.user_ids)
            if 5 not in set(data.seen[u].indices)
        )
        scores = {
            i.item_id: i.score
            for i in recommender.recommend(user, data.n_items + 10).recommendations
        }
        print(
            f"  user {user}: NEW-REL (related [{known}]) scores "
            f"{scores['NEW-REL']:.6f}, {known} scores {scores[known]:.6f}"
        )
        category, fans = placement_category(recommender)
        start = time.perf_counter()
        added = recommender.add_item({"item_id": "NEW-CAT", "categories": [category]})
        print(
            f"  add_item by category {category!r} ({added['neighbours']} known "
            f"items): {_ms(start)}"
        )
        rng = np.random.default_rng(0)
        others = np.setdiff1d(np.arange(data.n_users), fans)
        others = rng.choice(others, min(200, others.size), replace=False)
        for label, group in ((f"its {fans.size} users", fans), ("200 others", others)):
            share = relative_rank(recommender, group, "NEW-CAT")
            print(f"  NEW-CAT median rank share (0 = top), {label}: {share:.3f}")
        batch = list(data.user_ids[:100])
        for label, served in (("no added products", build()), ("2 added", recommender)):
            served.recommend_many(batch, 10)
            start = time.perf_counter()
            for _ in range(3):
                served.recommend_many(batch, 10)
            print(f"  recommend_many(100 users, top 10), {label}: {_ms(start, 3)}")


def _ms(start: float, repeats: int = 1) -> str:
    return f"{(time.perf_counter() - start) / repeats * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
