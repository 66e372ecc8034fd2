"""Typed parameters of the ``modelling`` pipeline.

Kedro (1.3+) validates a ``params:`` input type-hinted with a Pydantic model
before any node runs, so a misspelt key or an impossible value stops the run at
start-up with a message naming the key. The groups in
``conf/base/parameters_modelling.yml``, one model each:

* ``training``: shared by the NCF family
  (:class:`~ncf_recommender.training.params.TrainingParams`);
* ``sequence_training``: shared by the sequence models
  (:class:`~ncf_recommender.training.params.SequenceTrainingParams`);
* ``<model>.training_overrides``: that namespace's changes to its family's
  group (:data:`TrainingOverrides`, :data:`SequenceTrainingOverrides`, derived
  from the group's model), merged before the trainer's one validation;
* ``<model>.model``: the architecture of one namespace (:class:`ModelParams`,
  :class:`SequenceModelParams`; the classes are in
  :mod:`ncf_recommender.models.specs`);
* ``evaluation``: how every model is evaluated (:class:`EvaluationParams`);
* ``baselines``: the most-popular and ALS baselines (:class:`BaselineParams`).
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ncf_recommender.models.registry import MODELS
from ncf_recommender.models.specs import (
    GMFParams,
    GRU4RecParams,
    MLPParams,
    NeuMFParams,
    SASRecParams,
)
from ncf_recommender.training.params import (
    SequenceTrainingOverrides,
    SequenceTrainingParams,
    TrainingOverrides,
    TrainingParams,
)

__all__ = [
    "ALSParams",
    "BaselineParams",
    "EvaluationParams",
    "GMFParams",
    "GRU4RecParams",
    "MLPParams",
    "ModelParams",
    "NeuMFParams",
    "SASRecParams",
    "SequenceModelParams",
    "SequenceTrainingOverrides",
    "SequenceTrainingParams",
    "TrainingOverrides",
    "TrainingParams",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The architectures of each family's registered models (``architecture`` picks one);
#: ``Union[...]`` because the members come from the registry at import.
_NCF_SPECS = Union[  # noqa: UP007
    tuple(e.spec for e in MODELS.values() if e.family == "ncf")
]
_SEQUENCE_SPECS = Union[  # noqa: UP007
    tuple(e.spec for e in MODELS.values() if e.family == "sequence")
]


class ModelParams(
    RootModel[Annotated[_NCF_SPECS, Field(discriminator="architecture")]]
):
    """One namespace's architecture, chosen by its ``architecture`` key."""

    model_config = ConfigDict(frozen=True)


class EvaluationParams(_Strict):
    """How every model and baseline is evaluated on the test split.

    Attributes:
        ks: Cut-offs of HR@K and NDCG@K.
        top_n: Length of the top-N lists for coverage and novelty.
        batch_size: Users scored per batch (``None``: automatic).
        pairwise_max_pairs: Largest number of (user, item) pairs a model whose
            score is not a dot product (MLP-NCF, NeuMF: every pair goes through
            the tower) ranks in full; above it, the full ranking uses a seeded
            sample of ``pairwise_max_pairs // n_items`` users, labelled
            ``user_sample`` with standard errors. Dot-product and sequence
            models always rank every user. ``None``: no limit.
        sample_seed: Seed of that user sample.
    """

    ks: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(5, 10, 20), min_length=1
    )
    top_n: int = Field(default=10, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    pairwise_max_pairs: int | None = Field(default=None, ge=1)
    sample_seed: int = Field(default=0, ge=0)


_Positive = Annotated[float, Field(gt=0.0)]
_NonNegative = Annotated[float, Field(ge=0.0)]


class ALSParams(_Strict):
    """Implicit-feedback ALS (:func:`~ncf_recommender.models.baselines.fit_als`).

    ``regularization`` and ``alpha`` each take one value or a list. With a
    list, every combination is fitted and the one with the best validation
    NDCG@10 (full ranking) is kept: the best L2 weight and confidence scaling
    depend on the data set (real Amazon Grocery 5-core: regularization 30 and
    alpha 20 beat 10 and 0 on validation, 0.0408 against 0.0319, and on test).
    """

    factors: int = Field(default=128, ge=1)
    regularization: _Positive | Annotated[list[_Positive], Field(min_length=1)] = 10.0
    alpha: _NonNegative | Annotated[list[_NonNegative], Field(min_length=1)] = 0.0
    iterations: int = Field(default=30, ge=0)
    seed: int = Field(default=0, ge=0)

    def settings(self) -> list[tuple[float, float]]:
        """Every ``(regularization, alpha)`` to fit, in the configured order."""
        regularizations = (
            self.regularization
            if isinstance(self.regularization, list)
            else [self.regularization]
        )
        alphas = self.alpha if isinstance(self.alpha, list) else [self.alpha]
        return [(float(r), float(a)) for r in regularizations for a in alphas]


class BaselineParams(_Strict):
    """The baselines evaluated beside the Keras models."""

    als: ALSParams = Field(default_factory=ALSParams)


class SequenceModelParams(
    RootModel[Annotated[_SEQUENCE_SPECS, Field(discriminator="architecture")]]
):
    """One sequence namespace's architecture, chosen by its ``architecture`` key."""

    model_config = ConfigDict(frozen=True)
