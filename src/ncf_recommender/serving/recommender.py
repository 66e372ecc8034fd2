"""Top-N recommendations for original user ids: model registry, loading, caching, ranking.

The entry point is :func:`recommend_items`. It takes an **original** user id (a
reviewer id), maps it to the model's ``user_idx``, scores every item, removes the
items the user already interacted with and returns the best ``top_n`` items as
original item ids, best first.

Exclusion at serving time uses the ``interactions`` dataset, i.e. train,
validation **and** test interactions: a shop should never recommend what the
customer already bought or reviewed, including the held-out items that the
evaluation hides from the model. (Evaluation masks only train or train +
validation items, as the protocol says; serving is stricter on purpose.)

An unknown user gets the most popular items (by number of distinct users in
``interactions``, score = that share of all users), flagged ``cold_start=True``;
``cold_start: raise`` in ``parameters_recommendation.yml`` raises
:class:`UnknownUserError` instead.

Artifacts (the model, the id mappings, ``interactions`` and ``ranking_metrics``)
come from the project's Kedro catalog through a small :class:`ArtifactStore`
interface, so tests can hand in any catalog. Only :func:`open_project` imports
Kedro, lazily; the ranking code here is plain numpy.

Model types live in a registry (:func:`register_model_type`): a model type names
its catalog dataset and a scorer factory turning the loaded model into a
``Scorer``. The NCF family (``gmf``, ``mlp``, ``neumf``) and the next-item
sequence models (``sasrec``, ``gru``) are registered here. NCF models reject a
request's ``history`` with :class:`HistoryNotSupportedError`.

Sequence models (``uses_history=True``) read each known user's full history
from ``interactions`` (train, validation and test), ordered as the
leave-last-two split orders it: by timestamp, ties in row order. A request may
add a ``history`` of original item ids, oldest first:

* known user: the supplied items are appended after the catalogued history, as
  the newest events, and excluded like the catalogued ones;
* unknown user: the model reads the supplied history alone (``cold_start`` is
  true, ``history_used`` counts the items read) and never recommends its items;
* item ids not in ``item_mapping`` are dropped and reported in
  ``ignored_items``; an unknown user left with no known item is an
  :class:`UnusableHistoryError` (HTTP 422). An empty history adds nothing: an
  unknown user then gets the usual cold-start answer.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from ncf_recommender.constants import ITEM_ID, ITEM_IDX, USER_ID, USER_IDX
from ncf_recommender.evaluation import Scorer, interaction_matrix, top_k
from ncf_recommender.models.sequences import UserHistories, build_histories

logger = logging.getLogger(__name__)

#: Environment variable naming the Kedro project to serve (default: the cwd).
PROJECT_PATH_ENV = "NCF_PROJECT_PATH"
#: Environment variable naming the Kedro configuration environment (optional).
KEDRO_ENV_ENV = "NCF_KEDRO_ENV"
INTERACTIONS_DATASET = "interactions"
USER_MAPPING_DATASET = "user_mapping"
ITEM_MAPPING_DATASET = "item_mapping"
METRICS_DATASET = "ranking_metrics"
#: ``model`` value that serves the best model of the latest ``ranking_metrics``.
AUTO = "auto"
#: Keys of ``ranking_metrics[model]`` searched for the selection metric, in order:
#: validation figures first; the test block ``full`` only when none exists.
SELECTION_KEYS = ("validation", "val", "valid", "val_full", "full")


class UnknownUserError(LookupError):
    """The user id is not in ``user_mapping`` and cold start is disabled."""

    def __init__(self, user_ids: Sequence[str]) -> None:
        """Name the unknown ids.

        Args:
            user_ids: The unknown user ids.
        """
        self.user_ids = list(user_ids)
        shown = ", ".join(repr(u) for u in self.user_ids[:5])
        more = f" and {len(self.user_ids) - 5} more" if len(self.user_ids) > 5 else ""
        super().__init__(
            f"unknown user_id {shown}{more} (cold start is disabled: "
            "recommendation.cold_start is 'raise')"
        )

    def __str__(self) -> str:
        """The message without ``KeyError``-style quoting."""
        return str(self.args[0])


class HistoryNotSupportedError(ValueError):
    """A history was given to a model type that does not read one."""

    def __init__(self, model: str) -> None:
        """Name the model.

        Args:
            model: The served model type.
        """
        self.model = model
        super().__init__(
            f"model {model!r} cannot use histories: it scores users it was trained "
            "on, not item sequences; leave history out or serve a sequence model "
            f"({', '.join(sorted(n for n, t in _MODEL_TYPES.items() if t.uses_history))})"
        )


class UnusableHistoryError(ValueError):
    """An unknown user's supplied history holds no item the model knows."""

    def __init__(self, user_id: str, item_ids: Sequence[str]) -> None:
        """Name the user and the ids.

        Args:
            user_id: The unknown user id.
            item_ids: The supplied item ids, none of them in ``item_mapping``.
        """
        self.user_id = user_id
        self.item_ids = list(item_ids)
        shown = ", ".join(repr(i) for i in self.item_ids[:10])
        more = f" and {len(self.item_ids) - 10} more" if len(self.item_ids) > 10 else ""
        super().__init__(
            f"user_id {user_id!r} is unknown and its history holds no known item: "
            f"unknown item_id {shown}{more}"
        )


# --------------------------------------------------------------------------- settings


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


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ServingData:
    """Id mappings, seen items and popularity, indexed like the model.

    Attributes:
        user_ids: Original user id of every ``user_idx``.
        item_ids: Original item id of every ``item_idx``.
        seen: Binary ``(n_users, n_items)`` CSR matrix of ``interactions``.
        item_users: Distinct users per item in ``interactions``.
        interactions: The ``interactions`` frame (sequence scorers read it).
        scoring_batch_size: (user, item) pairs a scorer evaluates at once.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    seen: sp.csr_matrix
    item_users: np.ndarray
    interactions: pd.DataFrame
    scoring_batch_size: int = 131_072

    @property
    def n_users(self) -> int:
        """Number of users the model knows."""
        return int(self.user_ids.size)

    @functools.cached_property
    def histories(self) -> UserHistories:
        """Every user's items of ``interactions`` in the split's order (built once).

        Ordered by timestamp, ties in row order, as ``split_leave_last_two``
        orders them: train, then the validation item, then the test item.

        Raises:
            KeyError: If ``interactions`` has no ``timestamp`` column.
        """
        return build_histories(self.interactions, self.n_users)

    @property
    def n_items(self) -> int:
        """Catalogue size."""
        return int(self.item_ids.size)

    @classmethod
    def from_frames(
        cls,
        interactions: pd.DataFrame,
        user_mapping: pd.DataFrame,
        item_mapping: pd.DataFrame,
        scoring_batch_size: int = 131_072,
    ) -> ServingData:
        """Build the lookup arrays from the catalog frames.

        Args:
            interactions: Frame with ``user_idx`` and ``item_idx`` columns.
            user_mapping: ``user_id`` and ``user_idx`` (a permutation of 0..n-1).
            item_mapping: ``item_id`` and ``item_idx`` (a permutation of 0..n-1).
            scoring_batch_size: Pairs a scorer evaluates at once.

        Returns:
            The serving data.

        Raises:
            ValueError: On a missing column, a mapping whose indices are not
                0..n-1 exactly once, duplicate ids, or out-of-range interactions.
        """
        user_ids = _ids_by_index(user_mapping, USER_ID, USER_IDX, "user_mapping")
        item_ids = _ids_by_index(item_mapping, ITEM_ID, ITEM_IDX, "item_mapping")
        for column in (USER_IDX, ITEM_IDX):
            if column not in interactions.columns:
                raise ValueError(f"interactions has no column {column!r}")
        seen = interaction_matrix(
            interactions[USER_IDX].to_numpy(),
            interactions[ITEM_IDX].to_numpy(),
            user_ids.size,
            item_ids.size,
        )
        item_users = np.bincount(seen.indices, minlength=item_ids.size)
        return cls(
            user_ids, item_ids, seen, item_users, interactions, scoring_batch_size
        )


def _ids_by_index(
    frame: pd.DataFrame, id_col: str, idx_col: str, name: str
) -> np.ndarray:
    """Original ids ordered by their index column, validated."""
    for column in (id_col, idx_col):
        if column not in frame.columns:
            raise ValueError(f"{name} has no column {column!r}")
    index = frame[idx_col].to_numpy()
    n = index.size
    if n == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(index.dtype, np.integer) or not np.array_equal(
        np.sort(index), np.arange(n)
    ):
        raise ValueError(f"{name}.{idx_col} must hold each of 0..{n - 1} exactly once")
    ids = np.empty(n, dtype=object)
    ids[index] = frame[id_col].astype(str).to_numpy()
    if pd.Index(ids).has_duplicates:
        raise ValueError(f"{name}.{id_col} has duplicate ids")
    return ids


# --------------------------------------------------------------------------- registry

ScorerFactory = Callable[[Any, ServingData], Scorer]


@dataclass(frozen=True)
class ModelType:
    """A servable model type.

    Attributes:
        name: Name used by ``--model``, the ``model`` parameter and the metrics.
        dataset: Catalog dataset holding the trained model (versioned).
        scorer_factory: ``(loaded model, serving data) -> Scorer``.
        uses_history: Whether the scorer reads a request's ``history`` (its
            scorer then implements ``score_history(histories)``).
        ranking_factory: Optional cheaper scorer with the same per-user
            ranking (e.g. logits without the sigmoid), used when this model
            retrieves candidates.
        exact_always: Rank every item exactly whatever the retrieval
            thresholds: the model computes all items' scores in one pass (a
            next-item head), so re-ranking retrieved candidates would cost as
            much as exact ranking.
        loader_modules: Modules imported before the model loads; they register
            custom Keras layers, so the ``.keras`` file reloads in safe mode.
    """

    name: str
    dataset: str
    scorer_factory: ScorerFactory
    uses_history: bool = False
    ranking_factory: ScorerFactory | None = None
    exact_always: bool = False
    loader_modules: tuple[str, ...] = ()

    def import_loader_modules(self) -> None:
        """Import :attr:`loader_modules` (before the catalog loads the model)."""
        for module in self.loader_modules:
            importlib.import_module(module)

    def ranking_scorer(self, model: Any, data: ServingData) -> Scorer:
        """The scorer used for retrieval (``ranking_factory`` if set).

        Args:
            model: The loaded model.
            data: Serving data.

        Returns:
            A scorer ranking items like the model does.
        """
        factory = self.ranking_factory or self.scorer_factory
        return factory(model, data)


_MODEL_TYPES: dict[str, ModelType] = {}


def register_model_type(model_type: ModelType, *, replace: bool = False) -> None:
    """Make a model type servable.

    Args:
        model_type: The model type.
        replace: Allow replacing a registered type of the same name.

    Raises:
        ValueError: If the name is taken and ``replace`` is false.
    """
    if model_type.name in _MODEL_TYPES and not replace:
        raise ValueError(f"model type {model_type.name!r} is already registered")
    _MODEL_TYPES[model_type.name] = model_type


def unregister_model_type(name: str) -> None:
    """Remove a model type (tests and plug-ins).

    Args:
        name: The model type's name; unknown names are ignored.
    """
    _MODEL_TYPES.pop(name, None)


def model_types() -> dict[str, ModelType]:
    """The registered model types by name (a copy).

    Returns:
        ``{name: ModelType}``.
    """
    return dict(_MODEL_TYPES)


def get_model_type(name: str) -> ModelType:
    """Look a model type up.

    Args:
        name: Model type name.

    Returns:
        The model type.

    Raises:
        ValueError: If no such model type is registered.
    """
    try:
        return _MODEL_TYPES[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of {sorted(_MODEL_TYPES)} or {AUTO!r}"
        ) from None


def _keras_ncf_scorer(model: Any, data: ServingData) -> Scorer:
    """Scorer of a Keras NCF model (imports Keras only when a model is served)."""
    from ncf_recommender.models.scorers import KerasScorer  # noqa: PLC0415

    return KerasScorer(model, data.n_items, data.scoring_batch_size)


def _gmf_logit_scorer(model: Any, data: ServingData) -> Scorer:
    """GMF as a plain dot product ``(p_u * h) . q_i``: the model's ranking.

    ``sigmoid(h . (p_u * q_i) + b)`` is increasing in the dot product, so the
    order of items per user is the same without the sigmoid and the bias (which
    cost far more than the matrix product when scoring every item).
    """
    from ncf_recommender.models.baselines import DotProductScorer  # noqa: PLC0415
    from ncf_recommender.models.gmf import (  # noqa: PLC0415
        GMF_ITEM_EMBEDDING,
        GMF_USER_EMBEDDING,
        PREDICTION,
    )

    try:
        users = model.get_layer(GMF_USER_EMBEDDING).get_weights()[0]
        items = model.get_layer(GMF_ITEM_EMBEDDING).get_weights()[0]
        kernel = model.get_layer(PREDICTION).get_weights()[0]
    except (ValueError, IndexError) as error:
        logger.info(
            "GMF logits unavailable (%s); retrieving with the full scorer", error
        )
        return _keras_ncf_scorer(model, data)
    if kernel.shape != (users.shape[1], 1) or items.shape[0] != data.n_items:
        return _keras_ncf_scorer(model, data)
    return DotProductScorer(users * kernel[:, 0], items)


register_model_type(
    ModelType("gmf", "gmf_model", _keras_ncf_scorer, False, _gmf_logit_scorer)
)
for _name in ("mlp", "neumf"):
    register_model_type(ModelType(_name, f"{_name}_model", _keras_ncf_scorer))


class HistoryScorer(Scorer, Protocol):
    """A scorer that also scores supplied item histories (sequence models)."""

    def score_history(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """``(len(histories), n_items)`` scores after each history (oldest first)."""
        ...


def _sequence_scorer(model: Any, data: ServingData) -> Scorer:
    """Scorer of a next-item model over every user's catalogued history."""
    from ncf_recommender.models.sequences import SequenceScorer  # noqa: PLC0415

    return SequenceScorer(model, data.histories)


#: Modules registering the sequence models' custom layers (safe-mode loading).
SEQUENCE_LAYER_MODULES = (
    "ncf_recommender.models.sasrec",
    "ncf_recommender.models.gru4rec",
)
for _name in ("sasrec", "gru"):
    register_model_type(
        ModelType(
            _name,
            f"{_name}_model",
            _sequence_scorer,
            uses_history=True,
            exact_always=True,
            loader_modules=SEQUENCE_LAYER_MODULES,
        )
    )


# --------------------------------------------------------------------------- results


class RecommendedItem(NamedTuple):
    """One recommended item.

    Attributes:
        rank: 1-based position, best first.
        item_id: Original item id.
        score: The model's score (a probability for NCF models; the share of
            users who interacted with the item for the cold-start fallback).
    """

    rank: int
    item_id: str
    score: float


@dataclass(frozen=True)
class Recommendation:
    """The answer for one user.

    Attributes:
        user_id: The original user id asked for.
        cold_start: Whether the user is unknown to the model: the popularity
            fallback, or (``history_used > 0``) a sequence model's answer after
            the supplied history alone.
        model: Model type that served the request.
        model_version: Kedro version timestamp of the model (``None`` when the
            dataset is not versioned).
        recommendations: Items, best first.
        ignored_items: Supplied history item ids not in ``item_mapping``
            (dropped), in request order.
        history_used: Supplied history items the model read (0: none given).
    """

    user_id: str
    cold_start: bool
    model: str
    model_version: str | None
    recommendations: tuple[RecommendedItem, ...]
    ignored_items: tuple[str, ...] = ()
    history_used: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the HTTP answer's shape).

        Returns:
            ``{"user_id", "cold_start", "model", "model_version", "recommendations":
            [{"rank", "item_id", "score"}, ...], "ignored_items", "history_used"}``.
        """
        return {
            "user_id": self.user_id,
            "cold_start": self.cold_start,
            "model": self.model,
            "model_version": self.model_version,
            "recommendations": [item._asdict() for item in self.recommendations],
            "ignored_items": list(self.ignored_items),
            "history_used": self.history_used,
        }


def check_top_n(top_n: Any) -> int:
    """Validate a list length.

    Args:
        top_n: Requested number of items.

    Returns:
        ``top_n`` as an ``int``.

    Raises:
        ValueError: If it is not an integer or not positive.
    """
    if isinstance(top_n, bool) or not isinstance(top_n, int | np.integer):
        raise ValueError(f"top_n must be a positive integer, got {top_n!r}")
    if top_n <= 0:
        raise ValueError(f"top_n must be a positive integer (>= 1), got {top_n}")
    return int(top_n)


def _check_user_id(user_id: Any) -> str:
    """An original user id as a string (ids are strings in the mappings)."""
    if isinstance(user_id, bool) or not isinstance(user_id, str | int | np.integer):
        raise ValueError(f"user_id must be a string (or integer) id, got {user_id!r}")
    return str(user_id)


class _FixedScores:
    """A scorer over precomputed score rows (row ``i`` is 'user' ``i``)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.n_items = int(scores.shape[1])

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        rows = self.scores[np.asarray(users)]
        return rows if items is None else np.take_along_axis(rows, items, axis=1)


def _lookup(table: dict[str, int], ids: Sequence[str]) -> np.ndarray:
    """Indices of ids in a hash table, ``-1`` for unknown ids (a request's few ids)."""
    return np.fromiter((table.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))


class _UserRows:
    """A scorer over a fixed list of users: 'user' ``i`` is ``users[i]``.

    Lets :func:`top_k` work on the few rows of the seen-items matrix that a
    request needs instead of validating the whole matrix on every call.
    """

    def __init__(self, scorer: Scorer, users: np.ndarray) -> None:
        self.scorer = scorer
        self.users = users
        self.n_items = int(scorer.n_items)

    def score(self, rows: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        return self.scorer.score(self.users[rows], items)


def _top_k_of_users(
    scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` for ``users``, excluding their rows of ``seen``."""
    users = np.asarray(users, dtype=np.int64)
    rows = np.arange(users.size, dtype=np.int64)
    return top_k(_UserRows(scorer, users), rows, seen[users], k)


# --------------------------------------------------------------------------- recommender


@dataclass(frozen=True)
class Retrieval:
    """Candidate retrieval used before the served model re-ranks.

    Attributes:
        scorer: Scorer of the retrieval model.
        model: Its model type.
        model_version: Its version.
        candidates: Items retrieved per user.
        exact: True when ``scorer`` ranks exactly like the served model (its
            cheaper ranking scorer) and only the top-N are re-scored.
    """

    scorer: Scorer
    model: str
    model_version: str | None
    candidates: int
    exact: bool = False


class Recommender:
    """A loaded model with its id mappings, ready to recommend.

    Attributes:
        scorer: The model's scorer (``score(users, items=None)``).
        data: Mappings, seen items and popularity.
        model_type: The served model type.
        model_version: Version timestamp of the loaded model.
        cold_start: ``popular`` or ``raise``.
        metrics: ``ranking_metrics[model]`` of the model's version, if known.
        metrics_version: Version of the ``ranking_metrics`` those came from.
        selected_by: How the model was chosen (for ``GET /model``).
        retrieval: Candidate retrieval before re-ranking (``None``: exact).
    """

    def __init__(
        self,
        scorer: Scorer,
        data: ServingData,
        model_type: ModelType,
        *,
        model_version: str | None = None,
        cold_start: Literal["popular", "raise"] = "popular",
        metrics: Mapping[str, Any] | None = None,
        metrics_version: str | None = None,
        selected_by: str = "explicit",
        retrieval: Retrieval | None = None,
    ) -> None:
        """Assemble a recommender (see :func:`build_recommender` to load one).

        Args:
            scorer: The model's scorer; its ``n_items`` must match the data.
            data: Serving data.
            model_type: The served model type.
            model_version: Version timestamp of the model.
            cold_start: ``popular`` or ``raise``.
            metrics: The model's metrics.
            metrics_version: Version of the metrics.
            selected_by: How the model was chosen.
            retrieval: Candidate retrieval before re-ranking, or ``None`` to
                score every item.

        Raises:
            ValueError: If the scorer's catalogue size differs from the data's,
                or ``cold_start`` is unknown.
        """
        if int(scorer.n_items) != data.n_items:
            raise ValueError(
                f"the {model_type.name} model scores {scorer.n_items} items but "
                f"item_mapping has {data.n_items}: model and data come from different runs"
            )
        if cold_start not in ("popular", "raise"):
            raise ValueError(
                f"cold_start must be 'popular' or 'raise', got {cold_start!r}"
            )
        self.scorer = scorer
        self.data = data
        self.model_type = model_type
        self.model_version = model_version
        self.cold_start = cold_start
        self.metrics = dict(metrics) if metrics is not None else None
        self.metrics_version = metrics_version
        self.selected_by = selected_by
        self.retrieval = retrieval
        self._user_lookup = {uid: idx for idx, uid in enumerate(data.user_ids)}
        self._item_lookup = {iid: idx for idx, iid in enumerate(data.item_ids)}
        # Most popular first; ties towards the lower item index.
        self._popular = np.lexsort((np.arange(data.n_items), -data.item_users))
        self._popular_scores = data.item_users[self._popular] / max(data.n_users, 1)

    @property
    def model_name(self) -> str:
        """Name of the served model type."""
        return self.model_type.name

    def info(self) -> dict[str, Any]:
        """What is served (for ``GET /model`` and the CLI).

        Returns:
            Model type, version, selection, metrics and catalogue sizes.
        """
        return {
            "model": self.model_name,
            "model_version": self.model_version,
            "selected_by": self.selected_by,
            "metrics": self.metrics,
            "metrics_version": self.metrics_version,
            "n_users": self.data.n_users,
            "n_items": self.data.n_items,
            "cold_start": self.cold_start,
            "uses_history": self.model_type.uses_history,
            "ranking": self.ranking_method,
        }

    @property
    def ranking_method(self) -> str:
        """How lists are ranked: exactly, or by retrieval and re-ranking."""
        if self.retrieval is None and self.model_type.uses_history:
            return (
                f"exact: {self.model_name} scores all {self.data.n_items} items after "
                "each user's history in interactions (train, validation, test)"
            )
        if self.retrieval is None:
            return f"exact: {self.model_name} scores all {self.data.n_items} items"
        if self.retrieval.exact:
            return (
                f"exact: {self.model_name} ranks all {self.data.n_items} items by its "
                "ranking scorer, then scores the top-N"
            )
        return (
            f"{self.retrieval.model} (version {self.retrieval.model_version}) retrieves "
            f"{self.retrieval.candidates} unseen items, {self.model_name} re-ranks them"
        )

    def user_indices(self, user_ids: Sequence[Any]) -> np.ndarray:
        """``user_idx`` of original user ids, ``-1`` for unknown ones.

        Args:
            user_ids: Original user ids.

        Returns:
            int64 array of indices.

        Raises:
            ValueError: If an id is not a string or integer.
        """
        return _lookup(self._user_lookup, [_check_user_id(u) for u in user_ids])

    def top_n_indices(
        self, users: np.ndarray, top_n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best unseen items of known users, as indices.

        Args:
            users: ``user_idx`` values.
            top_n: List length (clipped to the catalogue size).

        Returns:
            ``(items, scores)`` of shape ``(B, min(top_n, n_items))``, best first;
            positions past a user's remaining items hold item ``-1``.
        """
        if self.retrieval is not None:
            return retrieve_and_rerank(
                self.scorer,
                self.retrieval.scorer,
                users,
                self.data.seen,
                top_n,
                candidates=self.retrieval.candidates,
            )
        width = min(check_top_n(top_n), self.data.n_items)
        return _top_k_of_users(self.scorer, users, self.data.seen, width)

    def recommend(
        self, user_id: Any, top_n: int = 10, history: Sequence[Any] | None = None
    ) -> Recommendation:
        """Top-N unseen items for one original user id.

        Args:
            user_id: Original user id.
            top_n: Number of items; more than remain gives all remaining items.
            history: Original item ids, oldest first, for models that read a
                history (sequence models): appended after a known user's
                catalogued history; an unknown user's only history. ``None``
                for none.

        Returns:
            The recommendation (unknown history ids in ``ignored_items``).

        Raises:
            ValueError: On a bad ``top_n``/``user_id``.
            HistoryNotSupportedError: If a history is given to a model type that
                does not read one.
            UnusableHistoryError: If the user is unknown and no supplied item
                is known.
            UnknownUserError: If the user is unknown, has no usable history and
                cold start is disabled.
        """
        histories = None if history is None else [history]
        return self.recommend_many([user_id], top_n, histories)[0]

    def recommend_many(
        self,
        user_ids: Sequence[Any],
        top_n: int = 10,
        histories: Sequence[Sequence[Any] | None] | None = None,
    ) -> list[Recommendation]:
        """Top-N unseen items for several original user ids (scored together).

        Args:
            user_ids: Original user ids.
            top_n: Number of items per user.
            histories: ``None``, or one entry per user id: ``None`` (no
                history) or original item ids, oldest first (see
                :meth:`recommend`).

        Returns:
            One recommendation per id, in order.

        Raises:
            ValueError: On a bad ``top_n``, user id or ``histories`` length.
            HistoryNotSupportedError: If a history is given to a model type that
                does not read one.
            UnusableHistoryError: If an unknown user's history has no known item.
            UnknownUserError: If any user is unknown, has no usable history and
                cold start is disabled.
        """
        top_n = check_top_n(top_n)
        ids = [_check_user_id(u) for u in user_ids]
        users = _lookup(self._user_lookup, ids)
        supplied = self._supplied_histories(ids, users, histories)
        known = users >= 0
        with_history = np.zeros(len(ids), dtype=bool)
        with_history[list(supplied)] = True
        answered = known | with_history
        if self.cold_start == "raise" and not answered.all():
            raise UnknownUserError(
                [u for u, a in zip(ids, answered, strict=True) if not a]
            )
        ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_user = np.flatnonzero(known & ~with_history)
        if by_user.size:
            items, scores = self.top_n_indices(users[by_user], top_n)
            ranked.update(zip(by_user.tolist(), zip(items, scores, strict=True)))
        by_history = np.flatnonzero(with_history)
        if by_history.size:
            items, scores = self._top_n_after_histories(
                users[by_history], [supplied[i][0] for i in by_history], top_n
            )
            ranked.update(zip(by_history.tolist(), zip(items, scores, strict=True)))
        popular = self._popular[:top_n], self._popular_scores[:top_n]
        no_history: tuple[np.ndarray, list[str]] = (np.zeros(0, np.int64), [])
        results = []
        for position, uid in enumerate(ids):
            used, ignored = supplied.get(position, no_history)
            results.append(
                self._result(
                    uid,
                    ranked.get(position, popular),
                    not known[position],
                    ignored_items=tuple(ignored),
                    history_used=int(used.size),
                )
            )
        return results

    def _supplied_histories(
        self,
        ids: Sequence[str],
        users: np.ndarray,
        histories: Sequence[Sequence[Any] | None] | None,
    ) -> dict[int, tuple[np.ndarray, list[str]]]:
        """``{position: (known item indices, ignored ids)}`` of the histories to read.

        A history is read for a known user whenever one is given, and for an
        unknown user when it holds at least one known item.
        """
        if histories is None:
            return {}
        if len(histories) != len(ids):
            raise ValueError(
                f"histories has {len(histories)} entries for {len(ids)} user ids"
            )
        if not self.model_type.uses_history and any(h is not None for h in histories):
            raise HistoryNotSupportedError(self.model_name)
        supplied: dict[int, tuple[np.ndarray, list[str]]] = {}
        for position, history in enumerate(histories):
            if history is None:
                continue
            items, ignored = self._history_indices(history)
            if users[position] < 0 and items.size == 0:
                if ignored:
                    raise UnusableHistoryError(ids[position], ignored)
                continue  # an empty history: the usual cold-start answer
            supplied[position] = items, ignored
        return supplied

    def _history_indices(self, history: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
        """Known items of a supplied history as indices, and the unknown ids."""
        if isinstance(history, str | bytes):
            raise ValueError(
                f"history must be a list of item ids, got the string {history!r}"
            )
        ids = [str(i) for i in history]
        index = _lookup(self._item_lookup, ids)
        ignored = [i for i, j in zip(ids, index, strict=True) if j < 0]
        return index[index >= 0], ignored

    def _top_n_after_histories(
        self, users: np.ndarray, supplied: Sequence[np.ndarray], top_n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best items after each user's catalogued history plus the supplied items.

        Args:
            users: ``user_idx`` per row (``-1``: unknown, supplied history only).
            supplied: Known supplied item indices per row, oldest first.
            top_n: List length.

        Returns:
            ``(items, scores)`` as :meth:`top_n_indices` returns them; the
            catalogued and the supplied items are excluded.
        """
        histories = self.data.histories
        empty = np.zeros(0, dtype=np.int64)
        sequences = [
            np.concatenate(
                (histories.user_items(u) if u >= 0 else empty, extra)
            ).astype(np.int64)
            for u, extra in zip(users.tolist(), supplied, strict=True)
        ]
        scorer: HistoryScorer = self.scorer  # type: ignore[assignment]
        scores = np.asarray(scorer.score_history(sequences), dtype=np.float64)
        seen = self.data.seen[np.maximum(users, 0)]
        seen_rows = np.repeat(np.arange(users.size), np.diff(seen.indptr))
        keep = users[seen_rows] >= 0
        rows = np.concatenate(
            (
                seen_rows[keep],
                np.repeat(np.arange(users.size), [s.size for s in supplied]),
            )
        )
        cols = np.concatenate((seen.indices[keep], *supplied)).astype(np.int64)
        exclude = sp.csr_matrix(
            (np.ones(rows.size), (rows, cols)), shape=(users.size, self.data.n_items)
        )
        width = min(top_n, self.data.n_items)
        return top_k(
            _FixedScores(scores), np.arange(users.size, dtype=np.int64), exclude, width
        )

    def _result(
        self,
        user_id: str,
        ranked: tuple[np.ndarray, np.ndarray],
        cold_start: bool,
        *,
        ignored_items: tuple[str, ...] = (),
        history_used: int = 0,
    ) -> Recommendation:
        """Turn one row of item indices and scores into a :class:`Recommendation`."""
        items, scores = ranked
        keep = items >= 0
        item_ids = self.data.item_ids[items[keep]]
        entries = tuple(
            RecommendedItem(rank, str(item), float(score))
            for rank, item, score in zip(
                range(1, int(keep.sum()) + 1), item_ids, scores[keep], strict=True
            )
        )
        return Recommendation(
            user_id,
            cold_start,
            self.model_name,
            self.model_version,
            entries,
            ignored_items,
            history_used,
        )


# --------------------------------------------------------------------------- batch


def retrieve_and_rerank(
    scorer: Scorer,
    retrieval_scorer: Scorer,
    users: np.ndarray,
    seen: sp.csr_matrix,
    top_n: int,
    *,
    candidates: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-N of ``scorer`` among each user's best candidates by ``retrieval_scorer``.

    Each user's best ``candidates`` unseen items by the retrieval model are
    re-scored by ``scorer``; the best ``top_n`` are kept, ties in retrieval order.

    Args:
        scorer: The served model.
        retrieval_scorer: Cheap full scorer (e.g. GMF).
        users: ``user_idx`` values, shape ``(B,)``.
        seen: ``(n_users, n_items)`` items to exclude per user.
        top_n: List length.
        candidates: Items retrieved per user (raised to ``top_n`` if smaller).

    Returns:
        ``(items, scores)`` of shape ``(B, min(top_n, n_items))``, best first;
        item ``-1`` (score ``-inf``) past a user's remaining items.

    Raises:
        ValueError: On a bad ``top_n`` or ``candidates``.
    """
    n_items = seen.shape[1]
    width = min(check_top_n(top_n), n_items)
    if (
        isinstance(candidates, bool)
        or not isinstance(candidates, int)
        or candidates < 1
    ):
        raise ValueError(f"candidates must be a positive integer, got {candidates!r}")
    retrieved, _ = _top_k_of_users(
        retrieval_scorer, users, seen, min(max(candidates, width), n_items)
    )
    valid = retrieved >= 0
    rescored = np.asarray(
        scorer.score(users, np.where(valid, retrieved, 0)), dtype=np.float64
    )
    rescored[~valid] = -np.inf
    order = np.argsort(-rescored, axis=1, kind="stable")[:, :width]
    best_scores = np.take_along_axis(rescored, order, axis=1)
    best = np.take_along_axis(retrieved, order, axis=1)
    return np.where(np.isneginf(best_scores), -1, best), best_scores


def top_n_all_users(
    scorer: Scorer,
    seen: sp.csr_matrix,
    top_n: int,
    *,
    retrieval_scorer: Scorer | None = None,
    candidates: int = 300,
    batch_users: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-N unseen items for every user, exactly or by retrieval and re-ranking.

    Args:
        scorer: The served model.
        seen: ``(n_users, n_items)`` items to exclude per user.
        top_n: List length.
        retrieval_scorer: Cheap full scorer (e.g. GMF), or ``None`` to score
            every item with ``scorer``.
        candidates: Items retrieved per user (see :func:`retrieve_and_rerank`).
        batch_users: Users per batch (bounds memory).

    Returns:
        ``(items, scores)`` of shape ``(n_users, min(top_n, n_items))``, best
        first; item ``-1`` (score ``-inf``) past a user's remaining items.

    Raises:
        ValueError: On a bad ``top_n``, ``candidates`` or ``batch_users``.
    """
    n_users, n_items = seen.shape
    width = min(check_top_n(top_n), n_items)
    if (
        isinstance(batch_users, bool)
        or not isinstance(batch_users, int)
        or batch_users < 1
    ):
        raise ValueError(f"batch_users must be a positive integer, got {batch_users!r}")
    users = np.arange(n_users, dtype=np.int64)
    if retrieval_scorer is None:
        return top_k(scorer, users, seen, width)
    items_out = np.empty((n_users, width), dtype=np.int64)
    scores_out = np.empty((n_users, width), dtype=np.float64)
    for start in range(0, n_users, batch_users):
        part = slice(start, min(start + batch_users, n_users))
        items_out[part], scores_out[part] = retrieve_and_rerank(
            scorer, retrieval_scorer, users[part], seen, width, candidates=candidates
        )
    return items_out, scores_out


def recommendations_frame(
    items: np.ndarray, scores: np.ndarray, user_ids: np.ndarray, item_ids: np.ndarray
) -> pd.DataFrame:
    """Long table of top-N lists in the ``recommendations`` catalog format.

    Args:
        items: ``(n_users, k)`` item indices, best first, ``-1`` for no item.
        scores: Their scores.
        user_ids: Original user id of each row.
        item_ids: Original item id of every ``item_idx``.

    Returns:
        Columns ``user_id``, ``rank`` (1-based int32), ``item_id``, ``score``
        (float64), ordered by row then rank; empty positions are dropped.
    """
    valid = items >= 0
    rows, cols = np.nonzero(valid)
    return pd.DataFrame(
        {
            USER_ID: pd.array(np.asarray(user_ids)[rows], dtype="string"),
            "rank": (cols + 1).astype(np.int32),
            ITEM_ID: pd.array(np.asarray(item_ids)[items[rows, cols]], dtype="string"),
            "score": scores[rows, cols].astype(np.float64),
        }
    )


def batch_recommendations(
    models: Mapping[str, Any],
    ranking_metrics: Mapping[str, Any] | None,
    interactions: pd.DataFrame,
    user_mapping: pd.DataFrame,
    item_mapping: pd.DataFrame,
    *,
    settings: RecommendationSettings | Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Top-N for every user of ``user_mapping`` (the batch pipeline's work).

    The served model is ``settings.model`` or, for ``auto``, the best of
    ``models`` in ``ranking_metrics``. Seen items (all of ``interactions``) are
    excluded. When ``n_users * n_items`` exceeds
    ``settings.retrieval.exact_max_pairs``, the retrieval model (GMF) picks
    ``candidates`` items per user and the served model re-ranks them, except
    for sequence models: they score every item in one pass after each user's
    full history in ``interactions``, so they always rank exactly.

    Args:
        models: Loaded models by model type name (e.g. ``{"gmf": ..., "sasrec": ...}``).
        ranking_metrics: The ``ranking_metrics`` mapping (needed for ``auto``).
        interactions: All interactions (user_idx, item_idx).
        user_mapping: ``user_id`` / ``user_idx``.
        item_mapping: ``item_id`` / ``item_idx``.
        settings: The ``recommendation`` parameters.

    Returns:
        ``(recommendations, summary)``: the long table (``user_id``, ``rank``,
        ``item_id``, ``score``) and a JSON-ready summary (model, how it was
        chosen, ranking method, sizes, seconds).

    Raises:
        ValueError: If the chosen or retrieval model is not among ``models``.
    """
    settings = RecommendationSettings.model_validate(settings or {})
    if settings.model != AUTO:
        name, selected_by = (
            get_model_type(settings.model).name,
            "parameter recommendation.model",
        )
    else:
        name, key = select_best_model(
            ranking_metrics or {}, sorted(models), settings.selection_metric
        )
        selected_by = f"best {key} among {sorted(models)} in ranking_metrics"
    data = ServingData.from_frames(
        interactions, user_mapping, item_mapping, settings.scoring_batch_size
    )
    model_type = get_model_type(name)
    scorer = model_type.scorer_factory(_model(models, name), data)
    retrieval = settings.retrieval
    retrieval_scorer = None
    candidates = retrieval.candidates
    method = f"exact: {name} scores all {data.n_items} items"
    if model_type.uses_history:
        method += " after each user's history in interactions (train, validation, test)"
    if model_type.ranking_factory is not None:
        # Rank every item by the cheaper, equivalent scorer; score the top-N.
        retrieval_scorer = model_type.ranking_scorer(_model(models, name), data)
        candidates = 1
        method = f"exact: {name} ranks all {data.n_items} items by its ranking scorer"
    if (
        not model_type.exact_always
        and name != retrieval.model
        and data.n_users * data.n_items > retrieval.exact_max_pairs
    ):
        retrieval_model = _model(models, retrieval.model)
        retrieval_scorer = get_model_type(retrieval.model).ranking_scorer(
            retrieval_model, data
        )
        candidates = retrieval.candidates
        method = (
            f"{retrieval.model} retrieves {candidates} unseen items, {name} re-ranks"
        )
    start = time.perf_counter()
    items, scores = top_n_all_users(
        scorer,
        data.seen,
        settings.top_n,
        retrieval_scorer=retrieval_scorer,
        candidates=candidates,
        batch_users=settings.batch_users,
    )
    seconds = time.perf_counter() - start
    frame = recommendations_frame(items, scores, data.user_ids, data.item_ids)
    summary = {
        "model": name,
        "selected_by": selected_by,
        "ranking": method,
        "excluded": "every item in interactions (train, validation and test)",
        "users": data.n_users,
        "items": data.n_items,
        "top_n": settings.top_n,
        "rows": len(frame),
        "scoring_seconds": round(seconds, 3),
    }
    logger.info(
        "recommendations for %d users in %.1f s (%s)", data.n_users, seconds, method
    )
    return frame, summary


def _model(models: Mapping[str, Any], name: str) -> Any:
    """``models[name]`` or a ValueError naming what is available."""
    if name not in models:
        raise ValueError(
            f"model {name!r} is not among the pipeline's models {sorted(models)}"
        )
    return models[name]


# --------------------------------------------------------------------------- selection


def select_best_model(
    metrics: Mapping[str, Any], candidates: Sequence[str], metric: str = "ndcg@10"
) -> tuple[str, str]:
    """The candidate with the highest ``metric`` in a ``ranking_metrics`` mapping.

    The first key of :data:`SELECTION_KEYS` under which any candidate reports
    ``metric`` is used for every candidate: validation figures when the run
    stored them, else the test block ``full`` (logged as a warning).

    Args:
        metrics: ``{model: {"full": {...}, ...}}``.
        candidates: Model types that may be chosen.
        metric: Metric to maximise.

    Returns:
        ``(model, "key.metric")``.

    Raises:
        ValueError: If no candidate reports the metric.
    """
    for key in SELECTION_KEYS:
        values = {}
        for name in candidates:
            block = metrics.get(name)
            block = block.get(key) if isinstance(block, Mapping) else None
            if isinstance(block, Mapping) and isinstance(
                block.get(metric), int | float
            ):
                values[name] = float(block[metric])
        if values:
            if key == "full":
                logger.warning(
                    "ranking_metrics has no validation figures; choosing the model "
                    "on the test block 'full.%s'",
                    metric,
                )
            best = max(sorted(values), key=values.__getitem__)
            return best, f"{key}.{metric}"
    raise ValueError(
        f"ranking_metrics reports {metric!r} under none of {list(SELECTION_KEYS)} "
        f"for the models {sorted(candidates)}; set recommendation.model explicitly"
    )


# --------------------------------------------------------------------------- loading


class ArtifactStore(Protocol):
    """Where the recommender loads its artifacts from (a Kedro catalog, in practice)."""

    def exists(self, name: str) -> bool:
        """Whether the dataset is declared and has data."""
        ...

    def resolve_version(self, name: str, version: str | None = None) -> str | None:
        """The version a load would read (``None`` for unversioned datasets)."""
        ...

    def load(self, name: str, version: str | None = None) -> Any:
        """Load a dataset, optionally at a given version."""
        ...


class CatalogStore:
    """:class:`ArtifactStore` over a Kedro ``DataCatalog`` (or anything alike)."""

    def __init__(self, catalog: Any) -> None:
        """Wrap a catalog.

        Args:
            catalog: A ``kedro.io.DataCatalog``.
        """
        self.catalog = catalog

    def exists(self, name: str) -> bool:
        """Whether ``name`` is in the catalog and has data.

        Args:
            name: Dataset name.

        Returns:
            True when it can be loaded.
        """
        return name in self.catalog and bool(self.catalog.exists(name))

    def resolve_version(self, name: str, version: str | None = None) -> str | None:
        """The version that loading ``name`` (at ``version``) reads.

        Args:
            name: Dataset name.
            version: A pinned version, or ``None`` for the latest.

        Returns:
            The version timestamp, or ``None`` if the dataset is not versioned.

        Raises:
            ValueError: If the dataset is not in the catalog.
        """
        from kedro.io.core import Version  # noqa: PLC0415

        dataset = self.catalog.get(
            name, version=Version(version, None) if version else None
        )
        if dataset is None:
            raise ValueError(f"dataset {name!r} is not in the catalog")
        resolve = getattr(dataset, "resolve_load_version", None)
        return resolve() if resolve is not None else None

    def load(self, name: str, version: str | None = None) -> Any:
        """Load ``name``.

        Args:
            name: Dataset name.
            version: Version to load, or ``None`` for the latest.

        Returns:
            The data.
        """
        return self.catalog.load(name, version=version)


def resolve_project_path(project_path: str | Path | None = None) -> Path:
    """The project to serve: the argument, else ``$NCF_PROJECT_PATH``, else the cwd.

    Args:
        project_path: Explicit project path.

    Returns:
        Absolute path.
    """
    chosen = project_path or os.environ.get(PROJECT_PATH_ENV) or Path.cwd()
    return Path(chosen).expanduser().resolve()


def open_project(
    project_path: str | Path | None = None, env: str | None = None
) -> tuple[CatalogStore, dict[str, Any]]:
    """The catalog and parameters of a Kedro project (the only Kedro use here).

    The catalog is built from the project's configuration with
    ``DataCatalog.from_config``, relative paths resolved against the project
    root, as ``KedroContext.catalog`` does, but without importing and validating
    every registered pipeline (serving runs none of them); the ``recommendation``
    and ``serving`` parameter groups are validated by their Pydantic models.

    Args:
        project_path: Project root (see :func:`resolve_project_path`).
        env: Kedro configuration environment (default: ``$NCF_KEDRO_ENV``, else
            the project's default).

    Returns:
        ``(store, parameters)``.
    """
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from kedro.io import DataCatalog  # noqa: PLC0415

    path = resolve_project_path(project_path)
    bootstrap_project(path)
    env = env or os.environ.get(KEDRO_ENV_ENV) or None
    with KedroSession.create(project_path=path, env=env) as session:
        config = session.load_context().config_loader
        catalog_config = _absolute_paths(dict(config["catalog"]), path)
        try:
            credentials = dict(config["credentials"])
        except Exception:  # noqa: BLE001  (a project without credentials files)
            credentials = {}
        params = dict(config["parameters"])
    catalog = DataCatalog.from_config(catalog_config, credentials)
    return CatalogStore(catalog), params


_PATH_KEYS = ("filepath", "path", "filename")


def _absolute_paths(config: dict[str, Any], root: Path) -> dict[str, Any]:
    """Catalog configuration with relative local paths made absolute under ``root``."""
    resolved: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            resolved[key] = _absolute_paths(value, root)
        elif (
            key in _PATH_KEYS
            and isinstance(value, str)
            and "://" not in value
            and not Path(value).is_absolute()
        ):
            resolved[key] = (root / value).as_posix()
        else:
            resolved[key] = value
    return resolved


def _metrics_for(
    store: ArtifactStore, model: str, model_version: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The model's entry of ``ranking_metrics`` from the model's own run if possible."""
    if not store.exists(METRICS_DATASET):
        return None, None
    version = None
    if model_version is not None:
        try:
            version = store.resolve_version(METRICS_DATASET, model_version)
            metrics = store.load(METRICS_DATASET, version)
        except Exception:  # noqa: BLE001  (no metrics saved by that run)
            version = None
    if version is None:
        version = store.resolve_version(METRICS_DATASET)
        metrics = store.load(METRICS_DATASET, version)
    entry = metrics.get(model) if isinstance(metrics, Mapping) else None
    return (dict(entry) if isinstance(entry, Mapping) else None), version


def choose_model(
    store: ArtifactStore, settings: RecommendationSettings, model: str | None = None
) -> tuple[str, str]:
    """Which model type to serve.

    Args:
        store: Artifact store.
        settings: Recommendation settings.
        model: Explicit choice overriding ``settings.model``.

    Returns:
        ``(model type, how it was chosen)``.

    Raises:
        ValueError: If ``auto`` finds no metrics or no saved candidate model.
    """
    if model is not None and model != AUTO:
        return get_model_type(model).name, "request"
    if model is None and settings.model != AUTO:
        return get_model_type(settings.model).name, "parameter recommendation.model"
    if not store.exists(METRICS_DATASET):
        raise ValueError(
            f"model {AUTO!r} picks the best model in {METRICS_DATASET!r}, which has no "
            "saved version; run the modelling pipeline or set recommendation.model"
        )
    candidates = [t.name for t in _MODEL_TYPES.values() if store.exists(t.dataset)]
    metrics = store.load(METRICS_DATASET, store.resolve_version(METRICS_DATASET))
    name, key = select_best_model(metrics, candidates, settings.selection_metric)
    return (
        name,
        f"best {key} among {sorted(candidates)} in the latest {METRICS_DATASET}",
    )


def build_recommender(
    store: ArtifactStore,
    settings: RecommendationSettings | Mapping[str, Any] | None = None,
    model: str | None = None,
    version: str | None = None,
) -> Recommender:
    """Load a model and the mappings from a store and build a :class:`Recommender`.

    Args:
        store: Artifact store (e.g. ``CatalogStore(catalog)``).
        settings: The ``recommendation`` parameters.
        model: Model type overriding the settings (``auto`` allowed).
        version: Model version to load (default: the latest).

    Returns:
        The recommender.

    Raises:
        ValueError: On an unknown model, a model with no saved version, or
            artifacts that do not fit together.
    """
    settings = RecommendationSettings.model_validate(settings or {})
    name, selected_by = choose_model(store, settings, model)
    model_type = get_model_type(name)
    if version is None and not store.exists(model_type.dataset):
        raise ValueError(
            f"no saved {model_type.dataset!r}: run the modelling pipeline first "
            "(kedro run) or choose another model"
        )
    model_version = store.resolve_version(model_type.dataset, version)
    model_type.import_loader_modules()
    try:
        loaded = store.load(model_type.dataset, model_version)
    except Exception as error:
        if version is None:
            raise
        raise ValueError(
            f"cannot load {model_type.dataset!r} version {version!r}: {error}"
        ) from error
    data = ServingData.from_frames(
        store.load(INTERACTIONS_DATASET),
        store.load(USER_MAPPING_DATASET),
        store.load(ITEM_MAPPING_DATASET),
        settings.scoring_batch_size,
    )
    scorer = model_type.scorer_factory(loaded, data)
    _probe_fit(scorer, data, model_type.name)
    retrieval = None
    if (
        not model_type.exact_always
        and name != settings.retrieval.model
        and data.n_items > settings.retrieval.exact_max_items
    ):
        retrieval = load_retrieval(store, settings.retrieval, data, model_version)
    elif model_type.ranking_factory is not None:
        ranking = model_type.ranking_scorer(loaded, data)
        retrieval = Retrieval(ranking, name, model_version, 1, exact=True)
    metrics, metrics_version = _metrics_for(store, name, model_version)
    logger.info("serving %s version %s (%s)", name, model_version, selected_by)
    return Recommender(
        scorer,
        data,
        model_type,
        model_version=model_version,
        cold_start=settings.cold_start,
        metrics=metrics,
        metrics_version=metrics_version,
        selected_by=selected_by,
        retrieval=retrieval,
    )


def load_retrieval(
    store: ArtifactStore,
    settings: RetrievalSettings,
    data: ServingData,
    version: str | None = None,
) -> Retrieval:
    """Load the retrieval model, from the served model's run when it has one.

    Args:
        store: Artifact store.
        settings: Retrieval settings.
        data: Serving data.
        version: Preferred version (the served model's); the latest otherwise.

    Returns:
        The retrieval.

    Raises:
        ValueError: If the retrieval model has no saved version.
    """
    model_type = get_model_type(settings.model)
    if not store.exists(model_type.dataset):
        raise ValueError(
            f"retrieval needs a saved {model_type.dataset!r} (recommendation.retrieval"
            ".model); train it or raise recommendation.retrieval.exact_max_items"
        )
    model_type.import_loader_modules()
    loaded = None
    if version is not None:
        try:
            loaded = store.load(model_type.dataset, version)
        except Exception:  # noqa: BLE001  (that run saved no retrieval model)
            loaded = None
    if loaded is None:
        version = store.resolve_version(model_type.dataset)
        loaded = store.load(model_type.dataset, version)
    scorer = model_type.ranking_scorer(loaded, data)
    _probe_fit(scorer, data, model_type.name)
    return Retrieval(scorer, model_type.name, version, settings.candidates)


def _probe_fit(scorer: Scorer, data: ServingData, name: str) -> None:
    """Score the last user against the last item: fails if the model is too small."""
    try:
        scorer.score(np.array([data.n_users - 1]), np.array([[data.n_items - 1]]))
    except Exception as error:
        raise ValueError(
            f"the {name} model cannot score user_idx {data.n_users - 1} / item_idx "
            f"{data.n_items - 1} of the mappings: model and data come from different runs"
        ) from error


def load_recommender(
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommender:
    """Build a recommender from a Kedro project's catalog and parameters (no cache).

    Args:
        model: Model type (default: the ``recommendation.model`` parameter).
        version: Model version (default: the latest).
        project_path: Project root (default: ``$NCF_PROJECT_PATH`` or the cwd).
        env: Kedro environment.

    Returns:
        The recommender.
    """
    store, params = open_project(project_path, env)
    return build_recommender(store, params.get("recommendation"), model, version)


@functools.lru_cache(maxsize=8)
def _cached_recommender(
    project_path: Path, env: str | None, model: str | None, version: str | None
) -> Recommender:
    return load_recommender(model, version, project_path=project_path, env=env)


def get_recommender(
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommender:
    """Like :func:`load_recommender`, cached per (project, env, model, version).

    Args:
        model: Model type.
        version: Model version.
        project_path: Project root.
        env: Kedro environment (default: ``$NCF_KEDRO_ENV``).

    Returns:
        The (possibly cached) recommender.
    """
    env = env or os.environ.get(KEDRO_ENV_ENV) or None
    return _cached_recommender(resolve_project_path(project_path), env, model, version)


def clear_cache() -> None:
    """Forget cached recommenders (the next call reloads from the catalog)."""
    _cached_recommender.cache_clear()


def recommend_items(
    user_id: Any,
    top_n: int = 10,
    model: str | None = None,
    version: str | None = None,
    *,
    history: Sequence[Any] | None = None,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommendation:
    """Top-N items for an original user id, never ones the user interacted with.

    The model and mappings load from the project's Kedro catalog on first use
    and are cached; later calls with the same model and version reuse them.

    Args:
        user_id: Original user id (e.g. a reviewer id).
        top_n: Number of items; more than the user's unseen items gives them all.
        model: ``gmf``, ``mlp``, ``neumf``, ``sasrec``, ``gru`` (or another
            registered type), or ``None`` for the ``recommendation.model``
            parameter (``auto``: the best on validation in the latest
            ``ranking_metrics``).
        version: Model version timestamp to pin (default: the latest).
        history: Original item ids, oldest first, for sequence models: the
            newest events after a known user's catalogued history, or an
            unknown user's whole history; unknown ids are dropped and listed in
            ``ignored_items``. The NCF family raises
            :class:`HistoryNotSupportedError`.
        project_path: Project root (default: ``$NCF_PROJECT_PATH`` or the cwd).
        env: Kedro environment (default: ``$NCF_KEDRO_ENV`` or the project's).

    Returns:
        A :class:`Recommendation` (``user_id``, ``cold_start``, ``model``,
        ``model_version``, ``recommendations`` of ``(rank, item_id, score)``,
        ``ignored_items``, ``history_used``).

    Raises:
        ValueError: If ``top_n`` is not a positive integer, or on a bad model or
            version.
        HistoryNotSupportedError: If a history is given to a non-sequence model.
        UnusableHistoryError: If an unknown user's history has no known item.
        UnknownUserError: If the user is unknown, has no usable history and
            cold start is disabled.
    """
    top_n = check_top_n(top_n)
    recommender = get_recommender(model, version, project_path=project_path, env=env)
    return recommender.recommend(user_id, top_n, history=history)
