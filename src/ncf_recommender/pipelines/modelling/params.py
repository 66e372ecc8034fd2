"""Typed parameters of the ``modelling`` pipeline.

Kedro (1.3+) validates a ``params:`` input type-hinted with a Pydantic model
before any node runs, so a misspelt key or an impossible value stops the run at
start-up with a message naming the key. The groups in
``conf/base/parameters_modelling.yml``:

* ``training``: shared by every Keras model (:class:`TrainingParams`);
* ``<model>.model``: the architecture of one namespace (:class:`ModelParams`);
* ``<model>.training_overrides``: that namespace's changes to ``training``
  (:class:`TrainingOverrides`);
* ``sequence_training``: shared by the sequence models
  (:class:`SequenceTrainingSettings`);
* ``<model>.model`` of a sequence model: :class:`SequenceModelParams`, with
  ``<model>.training_overrides`` changing ``sequence_training``
  (:class:`SequenceTrainingOverrides`);
* ``evaluation``: how every model is evaluated (:class:`EvaluationParams`);
* ``baselines``: the most-popular and ALS baselines (:class:`BaselineParams`).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from ncf_recommender.models.training import TrainingConfig
from ncf_recommender.sequence_training import SequenceTrainingParams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GMFParams(_Strict):
    """GMF architecture (:func:`~ncf_recommender.models.gmf.build_gmf`)."""

    architecture: Literal["gmf"]
    embedding_dim: int = Field(default=64, ge=1)
    l2: float = Field(default=0.0, ge=0.0)


class MLPParams(_Strict):
    """MLP-NCF architecture (:func:`~ncf_recommender.models.mlp.build_mlp`)."""

    architecture: Literal["mlp"]
    embedding_dim: int = Field(default=64, ge=1)
    layers: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(128, 64, 32), min_length=1
    )
    l2: float = Field(default=0.0, ge=0.0)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


class NeuMFParams(_Strict):
    """NeuMF architecture (:func:`~ncf_recommender.models.neumf.build_neumf`).

    With ``pretrained: true`` the towers start from the GMF and MLP-NCF trained
    in the same run, whose sizes must then equal ``gmf_dim``, ``mlp_dim`` and
    ``layers``.
    """

    architecture: Literal["neumf"]
    gmf_dim: int = Field(default=64, ge=1)
    mlp_dim: int = Field(default=64, ge=1)
    layers: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(128, 64, 32), min_length=1
    )
    l2: float = Field(default=0.0, ge=0.0)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    pretrained: bool = True
    alpha: float = Field(default=0.5, ge=0.0, le=1.0)


class ModelParams(
    RootModel[
        Annotated[
            GMFParams | MLPParams | NeuMFParams, Field(discriminator="architecture")
        ]
    ]
):
    """One namespace's architecture, chosen by its ``architecture`` key."""

    model_config = ConfigDict(frozen=True)


class TrainingParams(_Strict):
    """Training settings shared by the Keras models; see
    :class:`~ncf_recommender.models.training.TrainingConfig` for each field."""

    epochs: int = Field(default=30, ge=1)
    batch_size: int = Field(default=1024, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0.0)
    decay_epochs: int | None = Field(default=None, ge=1)
    decay_floor: float = Field(default=0.0, ge=0.0, le=1.0)
    optimizer: Literal["adam", "lazy_adam", "sgd"] = "adam"
    negatives_per_positive: int = Field(default=4, ge=1)
    sampling_strategy: Literal["uniform", "popularity"] = "uniform"
    sampling_exponent: float = Field(default=0.75, ge=0.0)
    patience: int = Field(default=5, ge=1)
    smoothing: int = Field(default=1, ge=1)
    steps_per_execution: int = Field(default=50, ge=1)
    eval_batch_size: int | None = Field(default=None, ge=1)
    max_validation_users: int | None = Field(default=None, ge=1)
    validation_max_pairs: int | None = Field(default=None, ge=1)
    max_train_seconds: float | None = Field(default=None, gt=0.0)
    seed: int = Field(default=42, ge=0)

    def with_overrides(self, overrides: TrainingOverrides) -> TrainingConfig:
        """The training configuration of one namespace.

        Args:
            overrides: The namespace's changes (unset fields keep these values).

        Returns:
            The merged :class:`~ncf_recommender.models.training.TrainingConfig`.
        """
        merged = {**self.model_dump(), **overrides.model_dump(exclude_unset=True)}
        return TrainingConfig(**merged)


class TrainingOverrides(_Strict):
    """Per-namespace changes to :class:`TrainingParams`; unset keys keep the shared value.

    A key set to ``null`` is an override too: ``decay_epochs: null`` keeps the
    learning rate constant for that model.
    """

    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    learning_rate: float | None = Field(default=None, gt=0.0)
    decay_epochs: int | None = Field(default=None, ge=1)
    decay_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    optimizer: Literal["adam", "lazy_adam", "sgd"] | None = None
    negatives_per_positive: int | None = Field(default=None, ge=1)
    sampling_strategy: Literal["uniform", "popularity"] | None = None
    sampling_exponent: float | None = Field(default=None, ge=0.0)
    patience: int | None = Field(default=None, ge=1)
    smoothing: int | None = Field(default=None, ge=1)
    steps_per_execution: int | None = Field(default=None, ge=1)
    eval_batch_size: int | None = Field(default=None, ge=1)
    max_validation_users: int | None = Field(default=None, ge=1)
    validation_max_pairs: int | None = Field(default=None, ge=1)
    max_train_seconds: float | None = Field(default=None, gt=0.0)
    seed: int | None = Field(default=None, ge=0)


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


class SASRecParams(_Strict):
    """SASRec-style architecture (:func:`~ncf_recommender.models.sasrec.build_sasrec`)."""

    architecture: Literal["sasrec"]
    max_len: int = Field(default=50, ge=1)
    dim: int = Field(default=64, ge=1)
    heads: int = Field(default=2, ge=1)
    blocks: int = Field(default=2, ge=1)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    ffn_dim: int | None = Field(default=None, ge=1)
    l2: float = Field(default=0.0, ge=0.0)


class GRU4RecParams(_Strict):
    """GRU4Rec-style architecture (:func:`~ncf_recommender.models.gru4rec.build_gru4rec`)."""

    architecture: Literal["gru4rec"]
    max_len: int = Field(default=50, ge=1)
    dim: int = Field(default=64, ge=1)
    hidden: int | None = Field(default=None, ge=1)
    layers: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.2, ge=0.0, lt=1.0)
    l2: float = Field(default=0.0, ge=0.0)


class SequenceModelParams(
    RootModel[
        Annotated[SASRecParams | GRU4RecParams, Field(discriminator="architecture")]
    ]
):
    """One sequence namespace's architecture, chosen by its ``architecture`` key."""

    model_config = ConfigDict(frozen=True)


_SEQUENCE_DEFAULTS = SequenceTrainingParams()
#: Validation metrics a sequence model can stop on (``full_ranking_metrics`` keys).
SequenceMonitor = Literal[
    "hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"
]
SequenceLoss = Literal["softmax", "sampled_softmax", "bce", "auto"]


class SequenceTrainingSettings(_Strict):
    """Training settings shared by the sequence models (``sequence_training``).

    The fields and defaults are those of
    :class:`~ncf_recommender.sequence_training.SequenceTrainingParams` (the
    setting chosen on MovieLens-100k validation); see it for each field.
    """

    epochs: int = Field(default=_SEQUENCE_DEFAULTS.epochs, ge=1)
    batch_size: int = Field(default=_SEQUENCE_DEFAULTS.batch_size, ge=1)
    learning_rate: float = Field(default=_SEQUENCE_DEFAULTS.learning_rate, gt=0.0)
    decay_epochs: int | None = Field(default=_SEQUENCE_DEFAULTS.decay_epochs, ge=1)
    decay_floor: float = Field(default=_SEQUENCE_DEFAULTS.decay_floor, ge=0.0, le=1.0)
    loss: SequenceLoss = _SEQUENCE_DEFAULTS.loss  # type: ignore[assignment]
    n_negatives: int = Field(default=_SEQUENCE_DEFAULTS.n_negatives, ge=1)
    full_softmax_max_items: int = Field(
        default=_SEQUENCE_DEFAULTS.full_softmax_max_items, ge=1
    )
    window_stride: int | None = Field(default=_SEQUENCE_DEFAULTS.window_stride, ge=1)
    patience: int = Field(default=_SEQUENCE_DEFAULTS.patience, ge=0)
    monitor: SequenceMonitor = _SEQUENCE_DEFAULTS.monitor  # type: ignore[assignment]
    clipnorm: float | None = Field(default=_SEQUENCE_DEFAULTS.clipnorm, gt=0.0)
    weight_decay: float = Field(default=_SEQUENCE_DEFAULTS.weight_decay, ge=0.0)
    eval_batch_size: int = Field(default=_SEQUENCE_DEFAULTS.eval_batch_size, ge=1)
    max_validation_users: int | None = Field(
        default=_SEQUENCE_DEFAULTS.max_validation_users, ge=1
    )
    jit_compile: bool = _SEQUENCE_DEFAULTS.jit_compile
    max_train_seconds: float | None = Field(
        default=_SEQUENCE_DEFAULTS.max_train_seconds, gt=0.0
    )
    seed: int = Field(default=_SEQUENCE_DEFAULTS.seed, ge=0)

    def with_overrides(
        self, overrides: SequenceTrainingOverrides
    ) -> SequenceTrainingParams:
        """The sequence-training parameters of one namespace.

        Args:
            overrides: The namespace's changes (unset fields keep these values).

        Returns:
            The merged :class:`~ncf_recommender.sequence_training.SequenceTrainingParams`.
        """
        merged = {**self.model_dump(), **overrides.model_dump(exclude_unset=True)}
        return SequenceTrainingParams.from_dict(merged)


class SequenceTrainingOverrides(_Strict):
    """Per-namespace changes to :class:`SequenceTrainingSettings`; unset keys keep the shared value.

    A key set to ``null`` is an override too: ``decay_epochs: null`` switches
    the decay off, ``window_stride: null`` strides by ``max_len``.
    """

    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    learning_rate: float | None = Field(default=None, gt=0.0)
    decay_epochs: int | None = Field(default=None, ge=1)
    decay_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    loss: SequenceLoss | None = None
    n_negatives: int | None = Field(default=None, ge=1)
    full_softmax_max_items: int | None = Field(default=None, ge=1)
    window_stride: int | None = Field(default=None, ge=1)
    patience: int | None = Field(default=None, ge=0)
    monitor: SequenceMonitor | None = None
    clipnorm: float | None = Field(default=None, gt=0.0)
    weight_decay: float | None = Field(default=None, ge=0.0)
    eval_batch_size: int | None = Field(default=None, ge=1)
    max_validation_users: int | None = Field(default=None, ge=1)
    jit_compile: bool | None = None
    max_train_seconds: float | None = Field(default=None, gt=0.0)
    seed: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _null_only_where_shared_allows(self) -> SequenceTrainingOverrides:
        """Reject ``key: null`` for a key whose shared value cannot be null."""
        shared = SequenceTrainingSettings.model_fields
        bad = sorted(
            key
            for key in self.model_fields_set
            if getattr(self, key) is None
            and type(None) not in get_args(shared[key].annotation)
        )
        if bad:
            raise ValueError(
                f"{bad} cannot be null; leave the key out to keep the shared value"
            )
        return self
