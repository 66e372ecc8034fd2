"""Builders shared by the serving tests: tiny data, tiny trained models, a tiny project.

The project written by :func:`write_project` is a real Kedro project rooted in a
temporary folder: it uses this package's settings and pipelines, its own
``conf/`` (the real ``catalog_recommendation.yml`` and
``parameters_recommendation.yml`` plus the datasets serving reads, declared as
in the catalog contract) and its own ``data/``.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ncf_recommender.constants import (
    INTERACTION_COLUMNS,
    ITEM_ID,
    ITEM_IDX,
    USER_ID,
    USER_IDX,
)

REPO = Path(__file__).resolve().parents[2]

#: The datasets serving reads, declared as the catalog contract says.
CATALOG: dict[str, Any] = {
    "interactions": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/03_primary/interactions.parquet",
    },
    "user_mapping": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/03_primary/user_mapping.parquet",
    },
    "item_mapping": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/03_primary/item_mapping.parquet",
    },
    "{name}_model": {
        "type": "ncf_recommender.atomic.TensorFlowModelDataset",
        "filepath": "data/06_models/{name}_model.keras",
        "versioned": True,
        "load_args": {"compile": False, "safe_mode": True},
    },
    "{name}_model_info": {
        "type": "json.JSONDataset",
        "filepath": "data/06_models/{name}_model_info.json",
        "versioned": True,
    },
    "ranking_metrics": {
        "type": "ncf_recommender.atomic.JSONDataset",
        "filepath": "data/08_reporting/ranking_metrics.json",
        "versioned": True,
    },
}


def tiny_frames(
    n_users: int = 12, n_items: int = 25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random interactions in the catalog format, 3 to 8 distinct items per user.

    Args:
        n_users: Number of users (ids ``U000``, ``U001``, ...).
        n_items: Number of items (ids ``I000``, ...).
        seed: Seed.

    Returns:
        ``interactions``, ``user_mapping``, ``item_mapping``.
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 9, size=n_users)
    keys = rng.random((n_users, n_items)).argsort(axis=1)
    users = np.repeat(np.arange(n_users), counts)
    position = np.arange(users.size) - np.repeat(np.cumsum(counts) - counts, counts)
    items = keys[users, position]
    user_ids = np.array([f"U{u:03d}" for u in range(n_users)])
    item_ids = np.array([f"I{i:03d}" for i in range(n_items)])
    interactions = pd.DataFrame(
        {
            USER_ID: pd.array(user_ids[users], dtype="string"),
            ITEM_ID: pd.array(item_ids[items], dtype="string"),
            USER_IDX: users.astype(np.int32),
            ITEM_IDX: items.astype(np.int32),
            "rating": np.full(users.size, 5.0),
            "timestamp": np.arange(users.size, dtype=np.int64),
        }
    )[list(INTERACTION_COLUMNS)]
    user_mapping = pd.DataFrame(
        {
            USER_ID: pd.array(user_ids, dtype="string"),
            USER_IDX: np.arange(n_users, dtype=np.int32),
        }
    )
    item_mapping = pd.DataFrame(
        {
            ITEM_ID: pd.array(item_ids, dtype="string"),
            ITEM_IDX: np.arange(n_items, dtype=np.int32),
        }
    )
    return interactions, user_mapping, item_mapping


def tiny_gmf(
    interactions: pd.DataFrame, n_users: int, n_items: int, seed: int = 0
) -> Any:
    """A GMF trained for one epoch on the interactions plus 2 negatives each.

    Args:
        interactions: Positives.
        n_users: Number of users.
        n_items: Number of items.
        seed: Seed of the weights and of the negatives.

    Returns:
        The trained ``keras.Model``.
    """
    import keras  # noqa: PLC0415

    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    users = interactions[USER_IDX].to_numpy()
    items = interactions[ITEM_IDX].to_numpy()
    neg_users = np.repeat(users, 2)
    neg_items = rng.integers(0, n_items, size=neg_users.size)
    model = build_gmf(n_users, n_items, embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(
        {
            USER_IDX: np.concatenate([users, neg_users]).astype(np.int32),
            ITEM_IDX: np.concatenate([items, neg_items]).astype(np.int32),
        },
        np.concatenate([np.ones(users.size), np.zeros(neg_users.size)]).astype(
            np.float32
        ),
        epochs=1,
        batch_size=64,
        verbose=0,
    )
    return model


def write_project(root: Path, parameters: dict[str, Any] | None = None) -> Path:
    """Create an empty Kedro project of this package under ``root``.

    Args:
        root: Folder to create the project in.
        parameters: ``recommendation``/``serving`` overrides, written to
            ``conf/local/parameters.yml``.

    Returns:
        The project root.
    """
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "conf" / "base").mkdir(parents=True, exist_ok=True)
    (root / "conf" / "local").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.kedro]\npackage_name = "ncf_recommender"\nproject_name = "ncf-recommender"\n'
        'kedro_init_version = "1.7.0"\nsource_dir = "src"\n'
    )
    (root / "conf" / "base" / "catalog.yml").write_text(yaml.safe_dump(CATALOG))
    for name in ("catalog_recommendation.yml", "parameters_recommendation.yml"):
        shutil.copy(REPO / "conf" / "base" / name, root / "conf" / "base" / name)
    if parameters:
        (root / "conf" / "local" / "parameters.yml").write_text(
            yaml.safe_dump(parameters)
        )
    return root


def save_artifacts(project: Path, artifacts: dict[str, Any]) -> str | None:
    """Save datasets through the project's catalog (one Kedro save version).

    Args:
        project: Project root.
        artifacts: ``{dataset name: data}``.

    Returns:
        The save version used for versioned datasets.
    """
    from ncf_recommender.serving import open_project  # noqa: PLC0415

    store, _ = open_project(project)
    for name, data in artifacts.items():
        store.catalog.save(name, data)
    versioned = [n for n in artifacts if n.endswith("_model") or n == "ranking_metrics"]
    return store.resolve_version(versioned[0]) if versioned else None


#: Sizes of the planted walk data set: small enough to train in seconds.
PLANTED_USERS, PLANTED_ITEMS, PLANTED_MAX_LEN = 60, 20, 8


def planted_frames(
    n_users: int = PLANTED_USERS, n_items: int = PLANTED_ITEMS, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every user walks the catalogue: item ``i`` is always followed by ``i + 1`` (mod n).

    Users start at random items and take 6 to 11 steps; rows are shuffled (the
    timestamps give the order) and every user's first two events share a
    timestamp, so the split's tie rule (row order) matters.

    Args:
        n_users: Number of users (ids ``U000``, ...).
        n_items: Number of items (ids ``I000``, ...).
        seed: Seed.

    Returns:
        ``interactions``, ``user_mapping``, ``item_mapping`` in the catalog format.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 12, n_users)
    users = np.repeat(np.arange(n_users), lengths)
    step = np.arange(users.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    items = (np.repeat(rng.integers(0, n_items, n_users), lengths) + step) % n_items
    _, user_mapping, item_mapping = tiny_frames(n_users, n_items)
    frame = pd.DataFrame(
        {
            USER_ID: pd.array(user_mapping[USER_ID].to_numpy()[users], dtype="string"),
            ITEM_ID: pd.array(item_mapping[ITEM_ID].to_numpy()[items], dtype="string"),
            USER_IDX: users.astype(np.int32),
            ITEM_IDX: items.astype(np.int32),
            "rating": np.full(users.size, 5.0),
            "timestamp": (1000 + np.maximum(step, 1)).astype(np.int64),
        }
    )[list(INTERACTION_COLUMNS)]
    order = rng.permutation(len(frame))
    # Keep each user's first two (tied) events in walk order, wherever they land.
    first_two = np.flatnonzero(step[order] <= 1)
    order[first_two] = np.sort(order[first_two])
    return frame.iloc[order].reset_index(drop=True), user_mapping, item_mapping


def build_sequence_model(
    kind: str, n_items: int, max_len: int = PLANTED_MAX_LEN
) -> Any:
    """An untrained tiny ``sasrec``, ``gru`` or ``content_sasrec`` model (fixed seed).

    The content model's items have two features: a brand shared by the first
    half of the catalogue, and the next item as a related item.

    Args:
        kind: ``sasrec``, ``gru`` or ``content_sasrec``.
        n_items: Catalogue size.
        max_len: Sequence length.

    Returns:
        The ``keras.Model``.
    """
    from ncf_recommender.models.gru4rec import build_gru4rec  # noqa: PLC0415
    from ncf_recommender.models.sasrec import build_sasrec  # noqa: PLC0415

    if kind == "sasrec":
        return build_sasrec(n_items, max_len, 16, 2, 1, dropout=0.1, seed=3)
    if kind == "content_sasrec":
        import keras  # noqa: PLC0415
        import scipy.sparse as sp  # noqa: PLC0415

        from ncf_recommender.models.content import (  # noqa: PLC0415
            ItemContent,
            build_content_sasrec,
        )

        items = np.arange(n_items)
        brand = sp.csr_matrix(
            (np.ones(n_items), (items, (items >= n_items // 2).astype(int))),
            shape=(n_items, 2 + n_items),
        )
        related = sp.csr_matrix(
            (np.ones(n_items), (items, 2 + (items + 1) % n_items)),
            shape=(n_items, 2 + n_items),
        )
        content = ItemContent(
            features=(brand + related).tocsr(),
            feature_items=np.r_[0, 0, items + 1],
            feature_kinds=np.r_[0, 0, np.ones(n_items, int)],
            kinds=("brand", "related"),
            knn=(brand + related).tocsr() / np.sqrt(2),
        )
        keras.utils.set_random_seed(3)
        return build_content_sasrec(
            content, np.ones(n_items, bool), max_len=max_len, dim=16, blocks=1
        )
    return build_gru4rec(n_items, max_len, 16, dropout=0.1, seed=3)


@functools.cache
def trained_sequence_model(kind: str, epochs: int = 25) -> Any:
    """A tiny model trained on :func:`planted_frames` (built once per session).

    Trained the way the modelling pipeline trains (train split, early stopping
    on validation NDCG@10), with the full softmax over the 20 items.

    Args:
        kind: ``sasrec`` or ``gru``.
        epochs: Most epochs.

    Returns:
        The trained ``keras.Model`` (shared: do not train it further).
    """
    from ncf_recommender.pipelines.data_processing.nodes import (  # noqa: PLC0415
        split_leave_last_two,
    )
    from ncf_recommender.training.params import (  # noqa: PLC0415
        SequenceTrainingParams,
    )
    from ncf_recommender.training.sequence import (  # noqa: PLC0415
        sequence_validation,
        train_sequence,
    )

    interactions, _, _ = planted_frames()
    train, val, _ = split_leave_last_two(interactions)
    histories, validation = sequence_validation(
        train, val, PLANTED_USERS, PLANTED_ITEMS
    )
    params = SequenceTrainingParams(
        epochs=epochs,
        batch_size=16,
        learning_rate=0.01,
        decay_epochs=None,
        loss="softmax",
        patience=4,
        seed=0,
    )
    return train_sequence(
        build_sequence_model(kind, PLANTED_ITEMS), histories, validation, params
    ).model
