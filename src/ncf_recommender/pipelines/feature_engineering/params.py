"""Typed parameters of the ``feature_engineering`` pipeline.

Kedro (1.3+) validates a ``params:`` input type-hinted with a Pydantic model before
any node runs, so a misspelt key or an impossible value fails the run at start-up
with a message that names the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ncf_recommender.constants import EVAL_NEGATIVES_PER_USER, EVAL_NEGATIVES_SEED


class NegativeSamplingParams(BaseModel):
    """Training negatives and stored evaluation negatives.

    Attributes:
        negatives_per_positive: Training negatives per positive, drawn afresh
            every epoch by the NCF trainer (He et al. 2017 used 4).
        strategy: ``uniform`` over all items, or ``popularity`` with weights
            ``count ** exponent`` over the training items.
        exponent: Exponent of the popularity weights (0.75 as in word2vec).
        seed: Seed of the ``training_examples`` preview (epoch 0 drawn from
            ``numpy.random.default_rng([seed, 0])``); training draws epoch ``e``
            with ``training.seed`` instead.
        eval_negatives: Stored negatives per validation / test user (protocol: 99).
        eval_seed: Seed of the evaluation negatives (protocol: 2017); a fresh
            ``numpy.random.default_rng(eval_seed)`` is used for validation and
            another for test.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    negatives_per_positive: int = Field(default=4, ge=1, le=1000, strict=True)
    strategy: Literal["uniform", "popularity"] = "uniform"
    exponent: float = Field(default=0.75, ge=-10.0, le=10.0, allow_inf_nan=False)
    seed: int = Field(default=42, ge=0, strict=True)
    eval_negatives: int = Field(default=EVAL_NEGATIVES_PER_USER, ge=1, strict=True)
    eval_seed: int = Field(default=EVAL_NEGATIVES_SEED, ge=0, strict=True)
