"""One model's entry of the ``ranking_metrics`` report, under the protocol."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ncf_recommender.evaluation.beyond_accuracy import catalogue_coverage, novelty
from ncf_recommender.evaluation.classification import binary_metrics
from ncf_recommender.evaluation.interactions import (
    InteractionTable,
    candidates_matrix,
    interaction_matrix,
    table_indices,
)
from ncf_recommender.evaluation.metrics import (
    DEFAULT_KS,
    metrics_curve,
    metrics_from_counts,
    standard_errors,
)
from ncf_recommender.evaluation.ranking import (
    Scorer,
    full_ranking_pass,
    sampled_rank_counts,
)

#: Largest K of the per-K curves stored with each entry (for the HR@K / NDCG@K plots).
CURVE_MAX_K = 20


def _with_curve(g: np.ndarray, t: np.ndarray, ks: Sequence[int]) -> dict[str, Any]:
    """Metrics at ``ks`` plus ``curve``: HR and NDCG at K = 1..CURVE_MAX_K as lists."""
    curve = metrics_curve(g, t, CURVE_MAX_K)
    return {
        **metrics_from_counts(g, t, ks),
        "curve": {"hr": curve["hr"].tolist(), "ndcg": curve["ndcg"].tolist()},
    }


def sample_rows(n_rows: int, size: int | None, seed: int) -> np.ndarray | None:
    """Sorted positions of a seeded sample of ``size`` rows, or ``None`` for all.

    Args:
        n_rows: Number of rows (test or validation users).
        size: Sample size; ``None`` or at least ``n_rows`` keeps every row.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        The kept positions (ascending), or ``None`` when every row is kept.
    """
    if size is None or size >= n_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size, replace=False))


def evaluate_scorer(  # noqa: PLR0917
    scorer: Scorer,
    train: InteractionTable,
    val: InteractionTable,
    test: InteractionTable,
    test_candidates: InteractionTable | np.ndarray,
    n_users: int,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    top_n: int = 10,
    probabilities: bool | None = None,
    batch_size: int | None = None,
    full_ranking_users: int | None = None,
    sample_seed: int = 0,
    validation: bool = False,
) -> dict[str, Any]:
    """Evaluate one trained model on the test split, as the protocol says.

    * ``full``: each test item ranked among all items, the user's train and
      validation items removed (tie-aware HR@K, NDCG@K, MRR).
    * ``sampled``: each test item ranked among itself and the user's stored
      negatives.
    * ``accuracy`` / ``log_loss``: the seed's binary numbers on each test
      positive plus one negative, the first of the user's stored candidates
      (a uniform draw from the items the user never interacted with). Only for
      scorers whose scores are probabilities; otherwise ``None``.
    * ``coverage@N`` / ``novelty@N``: of the top-N lists of the test users
      (train and validation items removed); novelty uses training popularity
      over ``n_users`` users.
    * ``eval_seconds``: wall-clock seconds of this call.
    * ``user_sample`` (only with ``full_ranking_users`` below the number of
      test users): ``{"users": N, "seed": S}``; ``full`` (with coverage and
      novelty) is then measured on that seeded sample of test users and holds
      ``standard_error`` per metric. ``sampled`` and the binary metrics still
      use every test user (they score 1 + m items each).

    * ``validation`` (only with ``validation=True``): full-ranking metrics of
      every validation item, the user's train items removed, for a scorer
      whose scores do not depend on the split (not a sequence model, which
      reads other histories at validation). When the validation rows are the
      test rows' users in the same order and every test user is ranked, the
      test pass's score rows serve both (no second scoring); otherwise a
      separate pass. The same numbers as ``full_ranking_metrics`` on the
      validation rows.

    ``full`` and ``sampled`` also hold ``curve``: ``{"hr": [...], "ndcg": [...]}``,
    the metric at K = 1..20 (element ``i`` is K = ``i + 1``), for the reporting plots.

    Args:
        scorer: The trained model.
        train: Training interactions (``user_idx``, ``item_idx``): DataFrame
            or mapping of arrays.
        val: Validation interactions (excluded from the full ranking).
        test: Test interactions, one held-out item per row.
        test_candidates: The stored negatives: the long ``test_candidates``
            table, or a ``(len(test), m)`` array aligned with ``test``'s rows.
        n_users: Number of users (rows of the interaction matrices).
        ks: Cut-offs for HR/NDCG.
        top_n: Length of the lists for coverage and novelty.
        probabilities: Whether the scores are probabilities; ``None`` reads the
            scorer's ``outputs_probabilities`` attribute (default ``True``).
        batch_size: Users scored per batch (``None``: automatic).
        full_ranking_users: Rank every item for a seeded sample of this many
            test users only (``None``: every test user).
        sample_seed: Seed of that sample.
        validation: Also return the ``validation`` block (see above).

    Returns:
        ``{"full": {...}, "sampled": {...}, "accuracy", "log_loss",
        "coverage@N", "novelty@N", "eval_seconds"}`` of plain Python numbers
        (or ``None``), ready for JSON.

    Raises:
        ValueError: On missing columns, out-of-range indices, a test item
            among the user's train or validation items, or bad candidates.
    """
    start = time.perf_counter()
    n_items = int(scorer.n_items)
    train_users, train_items = table_indices(train, "train")
    val_users, val_items = table_indices(val, "val")
    test_users, test_items = table_indices(test, "test")
    seen = interaction_matrix(
        np.concatenate([train_users, val_users]),
        np.concatenate([train_items, val_items]),
        n_users,
        n_items,
    )
    keep = sample_rows(test_users.size, full_ranking_users, sample_seed)
    ranked_users, ranked_items = (
        (test_users, test_items)
        if keep is None
        else (test_users[keep], test_items[keep])
    )
    candidates = candidates_matrix(test_candidates, test_users)
    # A scorer whose candidate scores are read from its full score rows (a
    # sequence model) gets the sampled ranking from the full pass's rows, with
    # the same batches, instead of a second scoring of every row.
    from_rows = keep is None and bool(
        getattr(scorer, "candidate_scores_from_rows", False)
    )
    train_seen = None
    shared_rows = False
    if validation:
        train_seen = interaction_matrix(train_users, train_items, n_users, n_items)
        shared_rows = keep is None and np.array_equal(val_users, test_users)
    ranking = full_ranking_pass(
        scorer,
        ranked_users,
        ranked_items,
        seen,
        top_n=top_n,
        batch_size=batch_size,
        candidates=candidates if from_rows else None,
        second=(val_items, train_seen) if shared_rows else None,
    )
    if from_rows:
        sampled_g, sampled_t = ranking.sampled_g, ranking.sampled_t
    else:
        sampled_g, sampled_t = sampled_rank_counts(
            scorer, test_users, test_items, candidates, batch_size=batch_size
        )
    if probabilities is None:
        probabilities = bool(getattr(scorer, "outputs_probabilities", True))
    binary: dict[str, float | None] = {"accuracy": None, "log_loss": None}
    if probabilities:
        binary.update(binary_metrics(scorer, test_users, test_items, candidates[:, 0]))
    item_counts = interaction_matrix(train_users, train_items, n_users, n_items).getnnz(
        axis=0
    )
    full = _with_curve(ranking.g, ranking.t, ks)
    sample: dict[str, int] | None = None
    if keep is not None:
        full["standard_error"] = standard_errors(ranking.g, ranking.t, ks)
        sample = {"users": int(keep.size), "seed": int(sample_seed)}
        full["user_sample"] = sample
    entry = {
        "full": full,
        "sampled": _with_curve(sampled_g, sampled_t, ks),
        "accuracy": binary["accuracy"],
        "log_loss": binary["log_loss"],
        f"coverage@{top_n}": catalogue_coverage(ranking.top_items, n_items),
        f"novelty@{top_n}": novelty(ranking.top_items, item_counts, n_users),
        "eval_seconds": float(time.perf_counter() - start),
    }
    if sample is not None:
        entry["user_sample"] = sample
    if validation:
        if shared_rows:
            val_g, val_t = ranking.second_g, ranking.second_t
        else:
            val_pass = full_ranking_pass(
                scorer,
                val_users,
                val_items,
                train_seen,
                batch_size=batch_size,
                description="validation ranking",
            )
            val_g, val_t = val_pass.g, val_pass.t
        entry["validation"] = metrics_from_counts(val_g, val_t, ks)
    entry["eval_seconds"] = float(time.perf_counter() - start)
    return entry
