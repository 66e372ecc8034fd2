"""Registry of servable model types and the built-in ones.

A :class:`ModelType` names its catalog dataset and a scorer factory turning the
loaded model into a ``Scorer``. Every model of the model registry
(:data:`ncf_recommender.models.registry.MODELS`: the NCF family, and the
next-item sequence models, which read histories) is registered on import;
Keras is imported only when a model is scored.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ncf_recommender.evaluation import Scorer
from ncf_recommender.models.registry import LAYER_MODULES, MODELS
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._settings import AUTO

logger = logging.getLogger(__name__)


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
        item_space_factory: Optional ``(scorer) -> ItemSpace``: the model scores
            items by a dot product with an item vector, so products added at
            serving time (``POST /items``) get a vector and a score (see
            :mod:`~ncf_recommender.serving._item_space`); ``None``: it cannot.
    """

    name: str
    dataset: str
    scorer_factory: ScorerFactory
    uses_history: bool = False
    ranking_factory: ScorerFactory | None = None
    exact_always: bool = False
    loader_modules: tuple[str, ...] = ()
    item_space_factory: Callable[[Scorer], Any] | None = None

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
    from ncf_recommender.models.ncf_weights import ncf_weights  # noqa: PLC0415

    try:
        weights = ncf_weights(model)
    except (ValueError, IndexError) as error:
        logger.info(
            "GMF logits unavailable (%s); retrieving with the full scorer", error
        )
        return _keras_ncf_scorer(model, data)
    users, items, kernel = weights.gmf_user, weights.gmf_item, weights.kernel
    if (
        users is None
        or kernel.shape != (users.shape[1], 1)
        or items.shape[0] != data.n_items
    ):
        return _keras_ncf_scorer(model, data)
    return DotProductScorer(users * kernel[:, 0], items)


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
SEQUENCE_LAYER_MODULES = LAYER_MODULES
#: Cheaper scorers with the same per-user ranking, used for retrieval.
_RANKING_FACTORIES: dict[str, ScorerFactory] = {"gmf": _gmf_logit_scorer}
_FAMILY_FACTORIES: dict[str, ScorerFactory] = {
    "ncf": _keras_ncf_scorer,
    "sequence": _sequence_scorer,
}


def _gmf_item_space(scorer: Scorer) -> Any:
    """GMF's item space (imported when a product is first added)."""
    from ncf_recommender.serving._item_space import gmf_item_space  # noqa: PLC0415

    return gmf_item_space(scorer)


def _sequence_item_space(scorer: Scorer) -> Any:
    """A next-item model's tied item space (imported when a product is first added)."""
    from ncf_recommender.serving._item_space import sequence_item_space  # noqa: PLC0415

    return sequence_item_space(scorer)


#: Item spaces of the models whose score is a dot product with an item vector.
_ITEM_SPACE_FACTORIES: dict[str, Callable[[Scorer], Any]] = {"gmf": _gmf_item_space}


for _entry in MODELS.values():
    _sequence = _entry.family == "sequence"
    register_model_type(
        ModelType(
            _entry.name,
            _entry.dataset,
            _FAMILY_FACTORIES[_entry.family],
            uses_history=_entry.uses_history,
            ranking_factory=_RANKING_FACTORIES.get(_entry.name),
            exact_always=_sequence,
            loader_modules=LAYER_MODULES if _sequence else (),
            item_space_factory=(
                _sequence_item_space
                if _sequence
                else _ITEM_SPACE_FACTORIES.get(_entry.name)
            ),
        )
    )
