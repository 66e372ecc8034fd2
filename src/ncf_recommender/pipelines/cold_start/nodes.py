"""Nodes of the ``cold_start`` pipeline (the protocol: :mod:`ncf_recommender.evaluation.cold_start`).

A seeded share of the catalogue plays "products added this morning": their
training and validation interactions are removed, the models train on what is
left, and every test user's held-out item is ranked among all items. The
report, ``cold_start_metrics``, has one entry per model or baseline, each
with the full-ranking metrics of the **warm** test users (target seen in
training) and of the **cold** ones (target a new item), NDCG@10 with its
standard error:

- ``category_popularity`` and ``content_knn``: the metadata baselines
  (:mod:`ncf_recommender.models.content_baselines`);
- the id-only ``sasrec``: new items are noise to it;
- each content-aware model of the registry (``content_sasrec``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation.cold_start import (
    cold_mask,
    hold_out_new_items,
    metrics_by_group,
)
from ncf_recommender.evaluation.ranking import full_rank_counts
from ncf_recommender.models.content_baselines import (
    CategoryPopularityScorer,
    ContentKNNScorer,
    feature_matrix,
    history_matrix,
)
from ncf_recommender.models.sequences import (
    SequenceScorer,
    build_histories,
    extend_histories,
)
from ncf_recommender.plots import cold_warm_figure

logger = logging.getLogger(__name__)


class ColdStartParams(BaseModel):
    """The ``cold_start`` parameter group.

    Attributes:
        share: Share of the catalogue held out as new items.
        seed: Seed of the draw.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    share: float = Field(default=0.1, gt=0.0, lt=1.0)
    seed: int = 0


def hold_out_items(
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    item_mapping: pd.DataFrame,
    cold_start: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw the new items and remove them from training and validation.

    Args:
        train_interactions: Training split.
        val_interactions: Validation split.
        test_interactions: Test split (unchanged by the protocol).
        item_mapping: ``item_id`` ↔ ``item_idx``.
        cold_start: The ``cold_start`` parameters (:class:`ColdStartParams`).

    Returns:
        ``cold_train_interactions``, ``cold_val_interactions`` and
        ``new_items`` (``item_id``, ``item_idx`` of the held-out items).
    """
    params = ColdStartParams.model_validate(cold_start)
    split = hold_out_new_items(
        train_interactions,
        val_interactions,
        test_interactions,
        n_items=len(item_mapping),
        share=params.share,
        seed=params.seed,
    )
    ids = item_mapping.set_index(ITEM_IDX)["item_id"]
    new_items = pd.DataFrame(
        {"item_id": ids.loc[split.new_items].to_numpy(), ITEM_IDX: split.new_items}
    )
    cold = cold_mask(test_interactions[ITEM_IDX].to_numpy(), split.new_items).sum()
    logger.info(
        "Cold-item protocol: %d of %d items held out as new (seed %d); %d training "
        "and %d validation rows removed; %d of %d test users have a new item",
        split.new_items.size,
        len(item_mapping),
        params.seed,
        len(train_interactions) - len(split.train),
        len(val_interactions) - len(split.val),
        cold,
        len(test_interactions),
    )
    return split.train, split.val, new_items


def _groups(
    scorer: Any,
    *,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    new_items: pd.DataFrame,
    n_users: int,
    name: str,
) -> dict[str, Any]:
    """Warm and cold metrics of one scorer; each user's whole history is excluded."""
    n_items = int(scorer.n_items)
    seen = history_matrix(
        pd.concat([train_interactions, val_interactions]), n_users, n_items
    )
    users = test_interactions[USER_IDX].to_numpy()
    targets = test_interactions[ITEM_IDX].to_numpy()
    start = time.perf_counter()
    g, t = full_rank_counts(
        scorer, users, targets, seen, description=f"{name} (cold-item protocol)"
    )
    groups = metrics_by_group(g, t, cold_mask(targets, new_items[ITEM_IDX].to_numpy()))
    return {**groups, "eval_seconds": round(time.perf_counter() - start, 2)}


def evaluate_cold_start_model(  # noqa: PLR0917 (Kedro node: one argument per input)
    model: keras.Model,
    training_summary: dict[str, Any],
    cold_train_interactions: pd.DataFrame,
    cold_val_interactions: pd.DataFrame,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    new_items: pd.DataFrame,
    user_mapping: pd.DataFrame,
) -> dict[str, Any]:
    """One next-item model under the protocol.

    The model read the cold split: at test each user's history is their cold
    training items plus their validation item (when it is not new).

    Args:
        model: The model trained on ``cold_train_interactions``.
        training_summary: Its training summary.
        cold_train_interactions: Training split without the new items.
        cold_val_interactions: Validation split without the new items.
        train_interactions: The whole training split (excluded items).
        val_interactions: The whole validation split (excluded items).
        test_interactions: The test split.
        new_items: The held-out items.
        user_mapping: Its length is the user count.

    Returns:
        ``warm`` and ``cold`` metrics, plus the training summary's epochs and
        seconds (and a content-aware model's ``new_items`` calibration).
    """
    n_users = len(user_mapping)
    histories = extend_histories(
        build_histories(cold_train_interactions, n_users),
        cold_val_interactions[USER_IDX].to_numpy(),
        cold_val_interactions[ITEM_IDX].to_numpy(),
    )
    entry = _groups(
        SequenceScorer(model, histories),
        train_interactions=train_interactions,
        val_interactions=val_interactions,
        test_interactions=test_interactions,
        new_items=new_items,
        n_users=n_users,
        name=model.name,
    )
    keep = ("best_epoch", "epochs_run", "train_seconds", "new_items")
    return entry | {
        key: training_summary[key] for key in keep if key in training_summary
    }


def item_categories(item_metadata: pd.DataFrame, n_items: int) -> np.ndarray:
    """The deepest category of each modelled item, as a code (-1 when unknown).

    Args:
        item_metadata: The ``item_metadata`` table (``item_idx``, ``categories``).
        n_items: Catalogue size.

    Returns:
        ``(n_items,)`` int64 codes.
    """
    known = item_metadata[item_metadata[ITEM_IDX].notna()]
    leaf = known["categories"].map(lambda names: names[-1] if len(names) else None)
    codes, _ = pd.factorize(leaf)
    out = np.full(n_items, -1, dtype=np.int64)
    out[known[ITEM_IDX].to_numpy(dtype=np.int64)] = codes
    return out


def evaluate_cold_start_baselines(  # noqa: PLR0917 (Kedro node: one argument per input)
    cold_train_interactions: pd.DataFrame,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    new_items: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    item_metadata: pd.DataFrame,
    item_features: pd.DataFrame,
    item_feature_vocabulary: pd.DataFrame,
) -> dict[str, dict[str, Any]]:
    """The metadata baselines under the protocol, fitted on the cold training split.

    Returns:
        ``{"category_popularity": entry, "content_knn": entry}``.
    """
    n_users, n_items = len(user_mapping), len(item_mapping)
    history = history_matrix(cold_train_interactions, n_users, n_items)
    scorers = {
        "category_popularity": CategoryPopularityScorer(
            history, item_categories(item_metadata, n_items)
        ),
        "content_knn": ContentKNNScorer(
            history,
            feature_matrix(item_features, n_items, len(item_feature_vocabulary)),
        ),
    }
    return {
        name: _groups(
            scorer,
            train_interactions=train_interactions,
            val_interactions=val_interactions,
            test_interactions=test_interactions,
            new_items=new_items,
            n_users=n_users,
            name=name,
        )
        for name, scorer in scorers.items()
    }


def combine_cold_start_metrics(
    new_items: pd.DataFrame,
    cold_start: dict[str, Any],
    baselines: dict[str, dict[str, Any]],
    **models: dict[str, Any],
) -> dict[str, Any]:
    """``cold_start_metrics``: every entry, baselines first, and the protocol.

    Args:
        new_items: The held-out items.
        cold_start: The ``cold_start`` parameters.
        baselines: The metadata baselines' entries.
        **models: The models' entries, by name.

    Returns:
        ``{"protocol": {...}, "<name>": {"warm": ..., "cold": ...}, ...}``.
    """
    params = ColdStartParams.model_validate(cold_start)
    protocol = {
        "share": params.share,
        "seed": params.seed,
        "new_items": len(new_items),
        "note": (
            "new items: every training and validation interaction removed; warm / "
            "cold: test users whose item was / was not seen in training; full "
            "ranking among all items, each user's train and validation items excluded"
        ),
    }
    return {"protocol": protocol, **baselines, **models}


def plot_cold_warm(cold_start_metrics: Mapping[str, Any]) -> Figure:
    """Warm and cold NDCG@10 of every entry of ``cold_start_metrics``."""
    protocol = cold_start_metrics["protocol"]
    entries = {
        name: entry for name, entry in cold_start_metrics.items() if name != "protocol"
    }
    return cold_warm_figure(
        entries,
        f"{protocol['new_items']} new items held out (seed {protocol['seed']})",
    )
