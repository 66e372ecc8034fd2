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

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel

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


class ModelParams(
    RootModel[
        Annotated[
            GMFParams | MLPParams | NeuMFParams, Field(discriminator="architecture")
        ]
    ]
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


class ALSParams(_Strict):
    """Implicit-feedback ALS (:func:`~ncf_recommender.models.baselines.fit_als`)."""

    factors: int = Field(default=128, ge=1)
    regularization: float = Field(default=10.0, gt=0.0)
    alpha: float = Field(default=0.0, ge=0.0)
    iterations: int = Field(default=30, ge=0)
    seed: int = Field(default=0, ge=0)


class BaselineParams(_Strict):
    """The baselines evaluated beside the Keras models."""

    als: ALSParams = Field(default_factory=ALSParams)


class SequenceModelParams(
    RootModel[
        Annotated[SASRecParams | GRU4RecParams, Field(discriminator="architecture")]
    ]
):
    """One sequence namespace's architecture, chosen by its ``architecture`` key."""

    model_config = ConfigDict(frozen=True)
