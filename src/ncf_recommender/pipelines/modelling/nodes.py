"""Nodes of the ``modelling`` pipeline: thin adapters over the plain modules.

Training lives in :mod:`ncf_recommender.training`, the architectures and their
registry in :mod:`ncf_recommender.models`, evaluation in
:mod:`ncf_recommender.evaluation`, the plots in :mod:`ncf_recommender.plots`;
the nodes turn catalogued frames into arrays, call them, and shape the
``ranking_metrics`` entries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import keras
import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import (
    Scorer,
    evaluate_scorer,
    full_ranking_metrics,
    interaction_matrix,
    sample_rows,
    table_indices,
)
from ncf_recommender.lineage import model_info
from ncf_recommender.models.baselines import (
    DotProductScorer,
    MostPopularScorer,
    fit_als,
)
from ncf_recommender.models.registry import MODELS, build_model
from ncf_recommender.models.scorers import KerasScorer
from ncf_recommender.pipelines.modelling.params import (
    BaselineParams,
    EvaluationParams,
    ModelParams,
    TrainingOverrides,
    TrainingParams,
)
from ncf_recommender.plots import learning_curves_figure, model_comparison_figure
from ncf_recommender.training.loop import TrainingResult, seed_everything
from ncf_recommender.training.ncf import NCFData, train_ncf
from ncf_recommender.training.sampling import NegativeSampler

#: ``ranking_metrics`` names of the models a pretrained NeuMF starts from
#: (its ``pretrained_gmf`` and ``pretrained_mlp`` inputs).
PRETRAINED_FROM: tuple[str, ...] = MODELS["neumf"].pretrained_from

logger = logging.getLogger(__name__)

_Params = TypeVar("_Params", bound=BaseModel)


def _typed(value: _Params | Mapping[str, Any], model_type: type[_Params]) -> _Params:
    """The validated parameters (Kedro validates them already inside a session)."""
    return value if isinstance(value, model_type) else model_type.model_validate(value)


def _sizes(user_mapping: pd.DataFrame, item_mapping: pd.DataFrame) -> tuple[int, int]:
    """Numbers of users and items from the id mappings."""
    for name, frame, column in (
        ("user_mapping", user_mapping, USER_IDX),
        ("item_mapping", item_mapping, ITEM_IDX),
    ):
        if column not in frame.columns:
            raise ValueError(f"{name} has no column {column!r}")
        if len(frame) == 0:
            raise ValueError(f"{name} is empty")
    return len(user_mapping), len(item_mapping)


def _check_sampler(sampler: NegativeSampler, n_positives: int, n_items: int) -> None:
    """Refuse a catalogued sampler built from other data than this split."""
    if (sampler.n_positives, sampler.n_items) != (n_positives, n_items):
        raise ValueError(
            f"negative_sampler indexes {sampler.n_positives} positives over "
            f"{sampler.n_items} items, but train_interactions has {n_positives} rows "
            f"and item_mapping {n_items} items: rerun feature_engineering"
        )


def training_outputs(
    result: TrainingResult, spec: BaseModel
) -> tuple[keras.Model, pd.DataFrame, dict[str, Any]]:
    """A training node's outputs: the model, its history and its summary.

    Shared by the NCF and the sequence training nodes.
    """
    summary = dict(result.summary)
    if getattr(spec, "pretrained", False):
        summary["pretrained_from"] = list(PRETRAINED_FROM)
    return result.model, result.history, summary


def train_ncf_model(  # noqa: PLR0917 (Kedro node: one argument per input)
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    negative_sampler: NegativeSampler,
    model: ModelParams,
    training: TrainingParams,
    training_overrides: TrainingOverrides,
    pretrained_gmf: keras.Model | None = None,
    pretrained_mlp: keras.Model | None = None,
) -> tuple[keras.Model, pd.DataFrame, dict[str, Any]]:
    """Build and train one NCF model with early stopping on validation.

    Args:
        train_interactions: Training split (``user_idx``, ``item_idx``).
        val_interactions: Validation split (one held-out item per user).
        user_mapping: ``user_id`` ↔ ``user_idx``; its length is the user count.
        item_mapping: ``item_id`` ↔ ``item_idx``; its length is the item count.
        negative_sampler: ``feature_engineering``'s sampler of the training
            positives; every epoch draws its negatives from it.
        model: The namespace's architecture.
        training: Shared training settings.
        training_overrides: The namespace's changes to ``training``.
        pretrained_gmf: Trained GMF for NeuMF pretraining (NeuMF only).
        pretrained_mlp: Trained MLP-NCF for NeuMF pretraining (NeuMF only).

    Returns:
        The model at its selected epoch, the per-epoch history, and a summary
        (selected epoch, validation metrics, seconds).

    Raises:
        ValueError: If the sampler was built from other data, or an input is
            malformed.
    """
    spec = _typed(model, ModelParams).root
    params = _typed(training, TrainingParams).with_overrides(training_overrides)
    n_users, n_items = _sizes(user_mapping, item_mapping)
    train_users, train_items = table_indices(train_interactions, "train_interactions")
    val_users, val_items = table_indices(val_interactions, "val_interactions")
    _check_sampler(negative_sampler, train_users.size, n_items)
    seed_everything(params.seed)
    network = build_model(
        spec,
        n_users=n_users,
        n_items=n_items,
        pretrained={"gmf": pretrained_gmf, "mlp": pretrained_mlp},
    )
    logger.info(
        "Training %s (%d parameters) on %d interactions, %d users, %d items",
        network.name,
        network.count_params(),
        train_users.size,
        n_users,
        n_items,
    )
    data = NCFData(
        sampler=negative_sampler,
        val_users=val_users,
        val_items=val_items,
        train_users=train_users,
        train_items=train_items,
        n_users=n_users,
        n_items=n_items,
    )
    return training_outputs(train_ncf(network, data, params), spec)


def _validation_metrics(
    scorer: Scorer,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    n_users: int,
    evaluation: EvaluationParams,
) -> dict[str, float | int]:
    """Full-ranking validation metrics (train items removed), as early stopping sees them."""
    train_users, train_items = table_indices(train_interactions, "train_interactions")
    val_users, val_items = table_indices(val_interactions, "val_interactions")
    exclude = interaction_matrix(train_users, train_items, n_users, scorer.n_items)
    sample_size = full_ranking_users(scorer, val_users.size, evaluation)
    keep = sample_rows(val_users.size, sample_size, evaluation.sample_seed)
    if keep is not None:
        val_users, val_items = val_users[keep], val_items[keep]
    metrics = full_ranking_metrics(
        scorer, val_users, val_items, exclude, evaluation.ks, evaluation.batch_size
    )
    if keep is not None:
        metrics["user_sample"] = {
            "users": int(keep.size),
            "seed": evaluation.sample_seed,
        }
    return metrics


def full_ranking_users(
    scorer: Scorer, n_rows: int, evaluation: EvaluationParams
) -> int | None:
    """How many users a scorer ranks in full (``None``: every one of ``n_rows``).

    Only scorers that mark themselves ``pairwise`` (every (user, item) pair runs
    through a network, e.g. MLP-NCF and NeuMF) are sampled, and only when
    ``n_rows * n_items`` exceeds ``evaluation.pairwise_max_pairs``.

    Args:
        scorer: The model.
        n_rows: Users to evaluate.
        evaluation: Evaluation settings.

    Returns:
        The sample size, or ``None`` for all users.
    """
    budget = evaluation.pairwise_max_pairs
    n_items = int(scorer.n_items)
    if not getattr(scorer, "pairwise", False) or budget is None:
        return None
    if n_rows * n_items <= budget:
        return None
    return max(2, budget // n_items)


def _entry(  # noqa: PLR0917 (mirrors evaluate_scorer's positional order)
    scorer: Scorer,
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    test_candidates: pd.DataFrame,
    n_users: int,
    evaluation: EvaluationParams,
    validation_scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Test metrics of one scorer plus its validation figures.

    ``validation_scorer`` scores the validation figures when the model must
    see a different input there (a sequence model reads train + validation at
    test time but train only at validation); ``None`` uses ``scorer``.
    """
    start = time.perf_counter()
    # The validation block from the test pass's score rows when the same scorer
    # ranks every validation user (see evaluate_scorer's ``validation``).
    shared_validation = (
        validation_scorer is None
        and full_ranking_users(scorer, len(val_interactions), evaluation) is None
    )
    entry = evaluate_scorer(
        scorer,
        train_interactions,
        val_interactions,
        test_interactions,
        test_candidates,
        n_users,
        ks=evaluation.ks,
        top_n=evaluation.top_n,
        batch_size=evaluation.batch_size,
        full_ranking_users=full_ranking_users(
            scorer, len(test_interactions), evaluation
        ),
        sample_seed=evaluation.sample_seed,
        validation=shared_validation,
    )
    if "user_sample" in entry:
        logger.info(
            "%s: full ranking on a seeded sample of %d test users (seed %d): "
            "(users x items) above evaluation.pairwise_max_pairs",
            type(scorer).__name__,
            entry["user_sample"]["users"],
            entry["user_sample"]["seed"],
        )
    if not shared_validation:
        entry["validation"] = _validation_metrics(
            scorer if validation_scorer is None else validation_scorer,
            train_interactions,
            val_interactions,
            n_users,
            evaluation,
        )
    entry["eval_seconds"] = float(time.perf_counter() - start)
    return entry


def evaluate_ncf_model(  # noqa: PLR0917 (Kedro node: one argument per input)
    model: keras.Model,
    training_summary: dict[str, Any],
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    test_candidates: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    evaluation: EvaluationParams,
) -> dict[str, Any]:
    """One model's ``ranking_metrics`` entry (test metrics under the protocol).

    Args:
        model: The trained model (as reloaded from the catalog).
        training_summary: Output of :func:`train_ncf_model`.
        train_interactions: Training split.
        val_interactions: Validation split.
        test_interactions: Test split.
        test_candidates: The 99 stored negatives per test user.
        user_mapping: Id mapping of the users.
        item_mapping: Id mapping of the items.
        evaluation: Evaluation settings.

    Returns:
        ``{"full", "sampled", "accuracy", "log_loss", "coverage@N", "novelty@N",
        "validation", "train_seconds", "eval_seconds", "seconds_to_best",
        "best_epoch", "epochs_run"}``.
    """
    evaluation = _typed(evaluation, EvaluationParams)
    n_users, n_items = _sizes(user_mapping, item_mapping)
    scorer = KerasScorer(model, n_items)
    entry = _entry(
        scorer,
        train_interactions,
        val_interactions,
        test_interactions,
        test_candidates,
        n_users,
        evaluation,
    )
    return _with_training(entry, training_summary, model.name)


def _with_training(
    entry: dict[str, Any], training_summary: dict[str, Any], name: str
) -> dict[str, Any]:
    """A trained model's entry with its training figures, logged.

    Shared by the NCF and the sequence models' evaluation nodes.
    """
    for key in ("train_seconds", "seconds_to_best", "best_epoch", "epochs_run"):
        entry[key] = training_summary[key]
    # Whether training ended on its epoch cap or time budget while validation
    # still improved (absent from summaries written before this key existed).
    entry["stopped_at_cap"] = bool(training_summary.get("stopped_at_cap", False))
    if "pretrained_from" in training_summary:
        entry["pretrained_from"] = list(training_summary["pretrained_from"])
    logger.info(
        "%s test: full NDCG@10 %.4f, HR@10 %.4f, MRR %.4f; sampled HR@10 %.4f",
        name,
        entry["full"]["ndcg@10"],
        entry["full"]["hr@10"],
        entry["full"]["mrr"],
        entry["sampled"]["hr@10"],
    )
    return entry


def evaluate_most_popular(  # noqa: PLR0917 (Kedro node: one argument per input)
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    test_candidates: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    evaluation: EvaluationParams,
) -> dict[str, Any]:
    """The most-popular baseline's ``ranking_metrics`` entry.

    Args:
        train_interactions: Training split (popularity is counted on it).
        val_interactions: Validation split.
        test_interactions: Test split.
        test_candidates: The stored negatives per test user.
        user_mapping: Id mapping of the users.
        item_mapping: Id mapping of the items.
        evaluation: Evaluation settings.

    Returns:
        The entry, with ``train_seconds`` the counting time.
    """
    evaluation = _typed(evaluation, EvaluationParams)
    n_users, n_items = _sizes(user_mapping, item_mapping)
    start = time.perf_counter()
    _, train_items = table_indices(train_interactions, "train_interactions")
    scorer = MostPopularScorer(train_items, n_items)
    train_seconds = time.perf_counter() - start
    entry = _entry(
        scorer,
        train_interactions,
        val_interactions,
        test_interactions,
        test_candidates,
        n_users,
        evaluation,
    )
    entry["train_seconds"] = float(train_seconds)
    return entry


def evaluate_als(  # noqa: PLR0917 (Kedro node: one argument per input)
    train_interactions: pd.DataFrame,
    val_interactions: pd.DataFrame,
    test_interactions: pd.DataFrame,
    test_candidates: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    baselines: BaselineParams,
    evaluation: EvaluationParams,
) -> dict[str, Any]:
    """The implicit-ALS dot-product baseline's ``ranking_metrics`` entry.

    When ``baselines.als`` lists several ``regularization`` or ``alpha``
    values, each combination is fitted on the training split and ranked on the
    validation split (full-ranking NDCG@10, training items excluded); the best
    one is evaluated on test. The entry's ``als_selection`` lists every
    setting's validation NDCG@10 and the chosen one.

    Args:
        train_interactions: Training split (the ALS input matrix).
        val_interactions: Validation split.
        test_interactions: Test split.
        test_candidates: The stored negatives per test user.
        user_mapping: Id mapping of the users.
        item_mapping: Id mapping of the items.
        baselines: Baseline settings (``als``).
        evaluation: Evaluation settings.

    Returns:
        The entry, with ``train_seconds`` the time of every fit and validation
        ranking the choice took.
    """
    als = _typed(baselines, BaselineParams).als
    evaluation = _typed(evaluation, EvaluationParams)
    n_users, n_items = _sizes(user_mapping, item_mapping)
    start = time.perf_counter()
    train_users, train_items = table_indices(train_interactions, "train_interactions")
    matrix = interaction_matrix(train_users, train_items, n_users, n_items)
    settings = als.settings()
    selection = evaluation.model_copy(update={"ks": (10,)})
    tried: list[dict[str, float]] = []
    chosen: dict[str, float] | None = None  # the best row of ``tried``
    best: DotProductScorer | None = None
    for regularization, alpha in settings:
        scorer = DotProductScorer(
            *fit_als(
                matrix, als.factors, regularization, alpha, als.iterations, als.seed
            )
        )
        if len(settings) == 1:
            best = scorer
            break
        score = _validation_metrics(
            scorer, train_interactions, val_interactions, n_users, selection
        )["ndcg@10"]
        logger.info(
            "ALS regularization %g, alpha %g: validation NDCG@10 %.4f",
            regularization,
            alpha,
            score,
        )
        row = {"regularization": regularization, "alpha": alpha, "val_ndcg@10": score}
        tried.append(row)
        if chosen is None or score > chosen["val_ndcg@10"]:
            chosen, best = row, scorer
    train_seconds = time.perf_counter() - start
    entry = _entry(
        best,
        train_interactions,
        val_interactions,
        test_interactions,
        test_candidates,
        n_users,
        evaluation,
    )
    entry["train_seconds"] = float(train_seconds)
    if chosen is not None:
        entry["als_selection"] = {
            "tried": tried,
            "regularization": chosen["regularization"],
            "alpha": chosen["alpha"],
        }
    return entry


def combine_ranking_metrics(**entries: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Gather every model's and baseline's entry into one ``ranking_metrics``.

    A pretrained model (NeuMF, whose entry names ``pretrained_from``) also gets
    ``seconds_to_best_with_pretraining``: the whole training time of the models
    it starts from plus its own time to its selected epoch, which is what
    producing it costs. It is left out when one of those entries is missing
    (e.g. ``--tags neumf`` with GMF and MLP loaded from the catalog).

    Args:
        **entries: One entry per model name, in report order.

    Returns:
        ``{model_name: entry}``.

    Raises:
        ValueError: If an entry lacks the ``full`` or ``sampled`` block.
    """
    for name, entry in entries.items():
        missing = [key for key in ("full", "sampled") if key not in entry]
        if missing:
            raise ValueError(f"ranking_metrics entry {name!r} lacks {missing}")
    report = {name: dict(entry) for name, entry in entries.items()}
    for entry in report.values():
        sources = entry.get("pretrained_from", [])
        if sources and all("train_seconds" in entries.get(s, {}) for s in sources):
            entry["seconds_to_best_with_pretraining"] = float(
                sum(entries[source]["train_seconds"] for source in sources)
                + entry["seconds_to_best"]
            )
    return report


def plot_learning_curves(**histories: pd.DataFrame) -> Figure:
    """How did each model's loss and validation NDCG@10 evolve per epoch?

    Args:
        **histories: The ``<model>_training_history`` frames, by model name.

    Returns:
        :func:`ncf_recommender.plots.learning_curves_figure` of them.
    """
    return learning_curves_figure(histories)


def plot_model_comparison(ranking_metrics: dict[str, dict[str, Any]]) -> Figure:
    """How do the models and baselines compare on full and sampled test metrics?

    Args:
        ranking_metrics: The combined report.

    Returns:
        :func:`ncf_recommender.plots.model_comparison_figure` of it.
    """
    return model_comparison_figure(ranking_metrics)


def describe_model(
    model: Any, user_mapping: pd.DataFrame, item_mapping: pd.DataFrame
) -> dict[str, Any]:
    """The lineage record saved beside a trained model (``<model>_model_info``).

    It is saved with the model's run version, so serving can check that the id
    mappings it serves with are the ones the model was trained with.

    Args:
        model: The trained Keras model.
        user_mapping: The user mapping it was trained with.
        item_mapping: The item mapping it was trained with.

    Returns:
        The mappings' fingerprint and sizes, and the Keras model's name.
    """
    return {"keras_model": model.name, **model_info(user_mapping, item_mapping)}
