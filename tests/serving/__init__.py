"""Builders shared by the serving tests: tiny data, a tiny trained GMF, a tiny project.

The project written by :func:`write_project` is a real Kedro project rooted in a
temporary folder: it uses this package's settings and pipelines, its own
``conf/`` (the real ``catalog_recommendation.yml`` and
``parameters_recommendation.yml`` plus the datasets serving reads, declared as
in the catalog contract) and its own ``data/``.
"""

from __future__ import annotations

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
        "type": "tensorflow.TensorFlowModelDataset",
        "filepath": "data/06_models/{name}_model.keras",
        "versioned": True,
    },
    "ranking_metrics": {
        "type": "json.JSONDataset",
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
    from ncf_recommender.serving.recommender import open_project  # noqa: PLC0415

    store, _ = open_project(project)
    for name, data in artifacts.items():
        store.catalog.save(name, data)
    versioned = [n for n in artifacts if n.endswith("_model") or n == "ranking_metrics"]
    return store.resolve_version(versioned[0]) if versioned else None
