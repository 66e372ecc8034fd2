"""The ``recommendation`` parameter group and its retrieval settings (Pydantic).

Validated before the batch pipeline runs and when serving loads a model; ``AUTO``
is the ``model`` value that picks the best model of ``ranking_metrics``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: ``model`` value that serves the best model of the latest ``ranking_metrics``.
AUTO = "auto"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrievalSettings(_Strict):
    """Candidate retrieval by a cheap model, then re-ranking by the served one.

    Full scoring with an MLP tower costs one small network per (user, item)
    pair; a dot-product model (GMF) scores all items with one matrix product.
    Above the thresholds below, the ``model`` retrieves each user's best
    ``candidates`` unseen items and the served model re-ranks them. When the
    served model *is* the retrieval model, scoring is always exact.

    Attributes:
        model: Model type whose scores retrieve candidates.
        candidates: Items retrieved per user (at least ``top_n`` always are).
        exact_max_pairs: Batch pipeline: exact when ``n_users * n_items`` is at
            most this.
        exact_max_items: Online (``recommend_items``, HTTP): exact when the
            catalogue has at most this many items.
    """

    model: str = "gmf"
    candidates: int = Field(default=300, ge=1)
    exact_max_pairs: int = Field(default=2_000_000_000, ge=0)
    exact_max_items: int = Field(default=20_000, ge=0)


class RecommendationSettings(_Strict):
    """The ``recommendation`` parameter group (``parameters_recommendation.yml``).

    Attributes:
        model: Model type to serve (``gmf``, ``mlp``, ``neumf``, ``sasrec``,
            ``gru``), or ``auto`` for the best one with a saved model in the
            latest ``ranking_metrics`` (see :func:`select_best_model`).
        selection_metric: Metric that ``auto`` maximises.
        cold_start: ``popular`` (most popular items for unknown users) or
            ``raise`` (:class:`UnknownUserError`; HTTP 404). An unknown user
            with a usable history is answered by a sequence model either way.
        top_n: List length of the batch pipeline.
        batch_users: Users per batch in the batch pipeline.
        scoring_batch_size: (user, item) pairs a scorer evaluates at once.
        retrieval: Candidate retrieval of the batch pipeline.
    """

    model: str = AUTO
    selection_metric: str = "ndcg@10"
    cold_start: Literal["popular", "raise"] = "popular"
    top_n: int = Field(default=10, ge=1)
    batch_users: int = Field(default=2048, ge=1)
    scoring_batch_size: int = Field(default=131_072, ge=1)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
