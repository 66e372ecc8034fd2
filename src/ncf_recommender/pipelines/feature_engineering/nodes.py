"""Nodes of the ``feature_engineering`` pipeline.

Thin adapters over :mod:`ncf_recommender.training.sampling`: they pick the index
columns out of the ``data_processing`` frames and lay the sampled arrays out as
the catalogued frames. Inputs are never mutated.

* ``negative_sampler``: the training positives' exclusion index with the
  ``negative_sampling`` settings (a
  :class:`~ncf_recommender.training.sampling.NegativeSampler`); the NCF trainer
  draws every epoch's negatives from it.
* ``training_examples``: an inspectable preview of that sampler, one
  materialised epoch (epoch 0, ``negative_sampling.seed``).
* ``val_candidates`` / ``test_candidates``: the stored negatives of the sampled
  protocol. Each is drawn with a fresh ``numpy.random.default_rng(eval_seed)``
  over the evaluation users in ascending ``user_idx`` order, excluding every
  item the user interacted with in train, validation or test.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ncf_recommender.constants import ITEM_IDX, LABEL, USER_IDX
from ncf_recommender.pipelines.feature_engineering.params import NegativeSamplingParams
from ncf_recommender.training.sampling import NegativeSampler, sample_eval_candidates

logger = logging.getLogger(__name__)


def _as_params(params: NegativeSamplingParams | dict) -> NegativeSamplingParams:
    """Accept the validated model, or a raw dict when run without a session."""
    if isinstance(params, NegativeSamplingParams):
        return params
    return NegativeSamplingParams.model_validate(params)


def _index_column(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """Column ``column`` of ``frame`` as an integer array.

    Raises:
        ValueError: If the column is missing, holds missing values or is not integer.
    """
    if column not in frame.columns:
        raise ValueError(
            f"{name} lacks column {column!r}; it has {list(frame.columns)}"
        )
    values = frame[column]
    if values.isna().any():
        raise ValueError(f"{name}.{column} holds missing values")
    array = values.to_numpy()
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}.{column} must be integer, got dtype {values.dtype}")
    return array


def _n_items(item_mapping: pd.DataFrame) -> int:
    """Catalogue size: one ``item_mapping`` row per encoded item."""
    _index_column(item_mapping, ITEM_IDX, "item_mapping")
    return len(item_mapping)


def build_negative_sampler(
    train_interactions: pd.DataFrame,
    item_mapping: pd.DataFrame,
    params: NegativeSamplingParams,
) -> NegativeSampler:
    """Index the training positives for negative sampling.

    Args:
        train_interactions: Training split (``user_idx``, ``item_idx``, ...).
        item_mapping: ``item_id`` ↔ ``item_idx``; its length is the catalogue size.
        params: The ``negative_sampling`` parameters (``negatives_per_positive``,
            ``strategy``, ``exponent``).

    Returns:
        ``negative_sampler``: the sampler the NCF trainer draws each epoch from.

    Raises:
        ValueError: If a column is missing or malformed, or a user has
            interacted with every item (the message names the user).
    """
    params = _as_params(params)
    return NegativeSampler(
        _index_column(train_interactions, USER_IDX, "train_interactions"),
        _index_column(train_interactions, ITEM_IDX, "train_interactions"),
        _n_items(item_mapping),
        negatives_per_positive=params.negatives_per_positive,
        strategy=params.strategy,
        exponent=params.exponent,
    )


def sample_training_examples(
    negative_sampler: NegativeSampler, params: NegativeSamplingParams
) -> pd.DataFrame:
    """Materialise epoch 0 of the sampler: the inspectable ``training_examples``.

    Args:
        negative_sampler: Output of :func:`build_negative_sampler`.
        params: The ``negative_sampling`` parameters (``seed``).

    Returns:
        ``training_examples``: ``user_idx`` (int32), ``item_idx`` (int32) and
        ``label`` (float32: 1 positive, 0 negative); all positives in the
        split's row order followed by their negatives (negative ``j`` of
        positive ``i`` at offset ``i * k + j``).
    """
    params = _as_params(params)
    users, items, labels = negative_sampler.examples(epoch=0, seed=params.seed)
    logger.info(
        "training_examples: %d positives + %d %s negatives",
        negative_sampler.n_positives,
        len(labels) - negative_sampler.n_positives,
        negative_sampler.strategy,
    )
    return pd.DataFrame({USER_IDX: users, ITEM_IDX: items, LABEL: labels})


def _candidates(
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    held_out: pd.DataFrame,
    held_out_name: str,
    item_mapping: pd.DataFrame,
    params: NegativeSamplingParams | dict,
) -> pd.DataFrame:
    """Stored negatives for the users of ``held_out``, in long format."""
    params = _as_params(params)
    names = ("train_interactions", "val_interactions", "test_interactions")
    users = [_index_column(frame, USER_IDX, name) for frame, name in zip(splits, names)]
    items = [_index_column(frame, ITEM_IDX, name) for frame, name in zip(splits, names)]
    eval_users = np.unique(_index_column(held_out, USER_IDX, held_out_name))
    negatives = sample_eval_candidates(
        np.concatenate(users),
        np.concatenate(items),
        eval_users,
        _n_items(item_mapping),
        n_negatives=params.eval_negatives,
        seed=params.eval_seed,
    )
    logger.info(
        "%s candidates: %d users x %d negatives (default_rng(%d))",
        held_out_name,
        len(eval_users),
        params.eval_negatives,
        params.eval_seed,
    )
    return pd.DataFrame(
        {
            USER_IDX: np.repeat(eval_users.astype(np.int32), params.eval_negatives),
            ITEM_IDX: negatives.reshape(-1),
        }
    )


def sample_val_candidates(
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    item_mapping: pd.DataFrame,
    params: NegativeSamplingParams,
) -> pd.DataFrame:
    """Draw the stored negatives of every validation user.

    Args:
        train_interactions: Training split.
        val_interactions: Validation split; its users get candidates.
        test_interactions: Test split (its items are excluded too).
        item_mapping: ``item_id`` ↔ ``item_idx``; its length is the catalogue size.
        params: The ``negative_sampling`` parameters (``eval_negatives``,
            ``eval_seed``).

    Returns:
        ``val_candidates``: ``user_idx``, ``item_idx`` (int32), ``eval_negatives``
        rows per validation user, users ascending. The negatives exclude every
        item the user interacted with in any split, so the held-out item is
        never among them.

    Raises:
        ValueError: If a column is missing or malformed, or a user has fewer
            than ``eval_negatives`` items it never interacted with.
    """
    splits = (train_interactions, val_interactions, test_interactions)
    return _candidates(
        splits, val_interactions, "val_interactions", item_mapping, params
    )


def sample_test_candidates(
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    item_mapping: pd.DataFrame,
    params: NegativeSamplingParams,
) -> pd.DataFrame:
    """Draw the stored negatives of every test user (see :func:`sample_val_candidates`).

    Args:
        train_interactions: Training split.
        val_interactions: Validation split (its items are excluded too).
        test_interactions: Test split; its users get candidates.
        item_mapping: ``item_id`` ↔ ``item_idx``; its length is the catalogue size.
        params: The ``negative_sampling`` parameters.

    Returns:
        ``test_candidates``, laid out as ``val_candidates``.

    Raises:
        ValueError: If a column is missing or malformed, or a user has fewer
            than ``eval_negatives`` items it never interacted with.
    """
    splits = (train_interactions, val_interactions, test_interactions)
    return _candidates(
        splits, test_interactions, "test_interactions", item_mapping, params
    )
