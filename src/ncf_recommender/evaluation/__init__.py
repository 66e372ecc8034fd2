"""Model-agnostic evaluation under the project's protocol (no Kedro import).

Every model implements :class:`Scorer`. Ranking metrics are tie-aware
expectations (see :mod:`ncf_recommender.evaluation.metrics`).
"""

from __future__ import annotations

from ncf_recommender.evaluation.beyond_accuracy import catalogue_coverage, novelty
from ncf_recommender.evaluation.classification import binary_metrics
from ncf_recommender.evaluation.interactions import (
    candidates_matrix,
    interaction_matrix,
    table_indices,
)
from ncf_recommender.evaluation.metrics import (
    DEFAULT_KS,
    expected_hit_rate,
    expected_ndcg,
    expected_reciprocal_rank,
    metrics_curve,
    metrics_from_counts,
    standard_errors,
)
from ncf_recommender.evaluation.ranking import (
    FullRanking,
    full_rank_counts,
    full_ranking_metrics,
    full_ranking_pass,
    sampled_metrics,
    sampled_rank_counts,
)
from ncf_recommender.evaluation.report import evaluate_scorer, sample_rows
from ncf_recommender.evaluation.scoring import Scorer
from ncf_recommender.evaluation.top_lists import top_k

__all__ = [
    "DEFAULT_KS",
    "FullRanking",
    "Scorer",
    "binary_metrics",
    "candidates_matrix",
    "catalogue_coverage",
    "evaluate_scorer",
    "expected_hit_rate",
    "expected_ndcg",
    "expected_reciprocal_rank",
    "full_rank_counts",
    "full_ranking_metrics",
    "full_ranking_pass",
    "interaction_matrix",
    "metrics_curve",
    "metrics_from_counts",
    "novelty",
    "sample_rows",
    "sampled_metrics",
    "sampled_rank_counts",
    "standard_errors",
    "table_indices",
    "top_k",
]
