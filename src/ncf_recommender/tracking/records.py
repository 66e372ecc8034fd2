"""What a run logs to MLflow, as plain values (no Kedro, no MLflow calls here).

The hook in :mod:`ncf_recommender.tracking.hooks` turns pipeline outputs into
these records and hands them to MLflow:

* :func:`history_metrics`: one ``(key, value, step)`` per epoch and column of a
  trainer's history (``<model>_training_history``);
* :func:`entry_metrics`: a model's final metrics from its ``ranking_metrics``
  entry (``<model>_metrics``);
* :func:`split_fingerprint`: rows, users, items and a hash of the split;
* :func:`git_state`: the commit the project was run from;
* :func:`plain_parameters`: the parameters as plain values, ready to flatten.
"""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from ncf_recommender.constants import ITEM_IDX, USER_IDX

#: History columns logged per epoch: the training loss and the validation NDCG@10.
HISTORY_METRICS: tuple[str, ...] = ("loss", "val_ndcg@10")
#: Blocks of a ``ranking_metrics`` entry logged as final metrics.
ENTRY_BLOCKS: tuple[str, ...] = ("full", "sampled")
#: The splits whose fingerprint identifies the data a run trained and tested on.
SPLITS: tuple[str, ...] = (
    "train_interactions",
    "val_interactions",
    "test_interactions",
)

_UNSAFE = re.compile(r"[^\w.\- /]")


def metric_key(*parts: str) -> str:
    """An MLflow metric name from its parts: ``"gmf", "full", "ndcg@10"`` → ``gmf.full.ndcg_at_10``.

    MLflow accepts letters, digits, ``_ - . /`` and spaces only, so ``@``
    becomes ``_at_`` and any other character ``_``.

    Args:
        *parts: Name parts, joined with ``.``.

    Returns:
        The metric name.
    """
    return ".".join(_UNSAFE.sub("_", part.replace("@", "_at_")) for part in parts)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` for anything else (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def history_metrics(
    model: str, history: pd.DataFrame, *, columns: tuple[str, ...] = HISTORY_METRICS
) -> list[tuple[str, float, int]]:
    """Per-epoch step metrics of one trainer's history.

    Args:
        model: The model's name (the metric prefix).
        history: One row per epoch with an ``epoch`` column.
        columns: History columns to log; those the history lacks are skipped.

    Returns:
        ``(metric key, value, epoch)`` for every epoch and column with a finite value
        (the NCF trainers' epoch 0, before training, has no loss).

    Raises:
        KeyError: If ``history`` has no ``epoch`` column.
    """
    if "epoch" not in history.columns:
        raise KeyError(
            f"{model}_training_history has no 'epoch' column; has {list(history.columns)}"
        )
    records: list[tuple[str, float, int]] = []
    for column in (c for c in columns if c in history.columns):
        key = metric_key(model, column)
        for epoch, value in zip(history["epoch"], history[column], strict=True):
            number = _number(value)
            if number is not None:
                records.append((key, number, int(epoch)))
    return records


def entry_metrics(
    model: str, entry: Mapping[str, Any], *, blocks: tuple[str, ...] = ENTRY_BLOCKS
) -> dict[str, float]:
    """Final metrics of one ``ranking_metrics`` entry, e.g. ``gmf.full.ndcg_at_10``.

    Args:
        model: The model's (or baseline's) name.
        entry: Its entry: ``full`` and ``sampled`` blocks of metrics, plus scalars
            such as ``train_seconds`` and ``best_epoch``.
        blocks: The blocks logged.

    Returns:
        ``{metric key: value}``: every number in the blocks and every top-level
        number of the entry.

    Raises:
        KeyError: If a block is missing (the message names the model and block).
    """
    metrics: dict[str, float] = {}
    for block in blocks:
        if block not in entry:
            raise KeyError(f"ranking_metrics entry {model!r} has no {block!r} block")
        for name, value in entry[block].items():
            number = _number(value)
            if number is not None:
                metrics[metric_key(model, block, name)] = number
    for name, value in entry.items():
        number = _number(value)
        if number is not None:
            metrics[metric_key(model, name)] = number
    return metrics


def plain_parameters(value: Any) -> Any:
    """Parameters with every validated (Pydantic) group turned back into plain values.

    Kedro hands a ``params:`` group type-hinted with a Pydantic model around as that
    model; MLflow needs its fields to log them one by one.

    Args:
        value: A parameter value, group or model.

    Returns:
        The same structure of dicts, lists and scalars.
    """
    if isinstance(value, BaseModel):
        return plain_parameters(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): plain_parameters(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_parameters(v) for v in value]
    return value


def split_digest(split: pd.DataFrame) -> str:
    """SHA-256 of a split's rows, in order (columns sorted by name, index ignored).

    Args:
        split: One split table.

    Returns:
        The hex digest.
    """
    ordered = split.loc[:, sorted(split.columns)]
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    header = ",".join(f"{c}:{ordered[c].dtype}" for c in ordered.columns)
    return hashlib.sha256(header.encode() + hashed.tobytes()).hexdigest()


def split_fingerprint(splits: Mapping[str, pd.DataFrame]) -> dict[str, int | str]:
    """Rows, users, items and a hash of the train/validation/test split.

    Args:
        splits: ``train_interactions``, ``val_interactions`` and ``test_interactions``.

    Returns:
        ``{"rows", "users", "items", "<split>_rows"..., "split_sha256"}``; the hash
        changes with any row, value or order of any split.

    Raises:
        KeyError: If a split or its ``user_idx`` / ``item_idx`` column is missing.
    """
    missing = [name for name in SPLITS if name not in splits]
    if missing:
        raise KeyError(f"split fingerprint needs {missing}; got {sorted(splits)}")
    for name in SPLITS:
        absent = [c for c in (USER_IDX, ITEM_IDX) if c not in splits[name].columns]
        if absent:
            raise KeyError(f"{name} has no {absent} column(s)")
    tables = [splits[name] for name in SPLITS]
    users = pd.concat([t[USER_IDX] for t in tables], ignore_index=True)
    items = pd.concat([t[ITEM_IDX] for t in tables], ignore_index=True)
    digest = hashlib.sha256(
        "".join(f"{name}={split_digest(splits[name])};" for name in SPLITS).encode()
    ).hexdigest()
    return {
        "rows": int(len(users)),
        "users": int(users.nunique()),
        "items": int(items.nunique()),
        **{
            f"{name.removesuffix('_interactions')}_rows": len(splits[name])
            for name in SPLITS
        },
        "split_sha256": digest,
    }


def git_state(path: Path) -> dict[str, str]:
    """The git commit of the checkout holding ``path``, and whether it has changes.

    Args:
        path: The project folder.

    Returns:
        ``{"git.commit": sha, "git.dirty": "true" | "false"}``, or
        ``{"git.commit": "unknown"}`` outside a git checkout (or without git).
    """
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"git.commit": "unknown"}
    return {"git.commit": commit, "git.dirty": str(bool(status.strip())).lower()}
