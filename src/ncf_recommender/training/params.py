"""The validated training parameters: one Pydantic model per parameter group.

* :class:`TrainingParams`: the NCF family's shared group ``training``;
* :class:`SequenceTrainingParams`: the sequence models' ``sequence_training``.

Both extend :class:`LoopParams`, the fields the early-stopping loop itself
reads. A namespace's ``<model>.training_overrides`` is validated by a model
derived from its group (:func:`overrides_model`: the same fields and range
checks, every key optional) and merged with :meth:`LoopParams.with_overrides`
before the one validation the trainer's object goes through. A bad value
raises a ``ValueError`` naming ``<group>.<key>``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

#: Validation metrics the loop can select the epoch on (``full_ranking_metrics`` keys).
Monitor = Literal["hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"]
#: Losses of the sequence models.
SequenceLoss = Literal["softmax", "sampled_softmax", "bce", "auto"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoopParams(_Strict):
    """What the early-stopping loop reads (shared by every family).

    Attributes:
        epochs: Maximum number of epochs (a safety bound: patience ends training).
        batch_size: Examples (NCF) or windows (sequences) per step.
        learning_rate: Optimiser step size (the peak, when decayed).
        decay_epochs: Cosine decay from ``learning_rate`` to ``decay_floor *
            learning_rate`` over this many epochs, then constant; ``None``:
            constant.
        decay_floor: Final fraction of the learning rate under decay.
        patience: Epochs without improvement of the (smoothed) monitor before
            stopping.
        smoothing: Odd window (epochs) of the centred moving average of the
            monitor that picks the epoch; 1 picks the raw best.
        monitor: The full-ranking validation metric (train items removed) that
            selects the epoch.
        max_validation_users: Rank a seeded sample of this many validation users
            per epoch; ``None``: all.
        max_train_seconds: Wall-clock budget: no new epoch starts after it;
            ``None``: none.
        seed: Seed of the initialisation, sampling, shuffling and dropout.
    """

    #: Name of the parameter group, used in error messages.
    group: ClassVar[str] = "training"

    epochs: int = Field(default=30, ge=1)
    batch_size: int = Field(default=1024, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0.0)
    decay_epochs: int | None = Field(default=None, ge=1)
    decay_floor: float = Field(default=0.0, ge=0.0, le=1.0)
    patience: int = Field(default=5, ge=1)
    smoothing: int = Field(default=1, ge=1)
    monitor: Monitor = "ndcg@10"
    max_validation_users: int | None = Field(default=None, ge=1)
    max_train_seconds: float | None = Field(default=None, gt=0.0)
    seed: int = Field(default=42, ge=0)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_key(cls, data: Any, handler: Any) -> Any:
        """Re-raise a validation error as a ``ValueError`` naming ``<group>.<key>``."""
        try:
            return handler(data)
        except ValidationError as error:
            raise ValueError(
                "; ".join(cls._problem(item) for item in error.errors())
            ) from None

    @classmethod
    def _problem(cls, item: Any) -> str:
        """One validation problem as ``<group>.<key>: <what is wrong>``."""
        key = f"{cls.group}.{'.'.join(map(str, item['loc']))}"
        if item["type"] == "extra_forbidden":
            return (
                f"{key}: unknown training parameter; known: {sorted(cls.model_fields)}"
            )
        return f"{key}: {item['msg']} (got {item.get('input')!r})"

    @field_validator("smoothing")
    @classmethod
    def _odd(cls, value: int) -> int:
        """A centred window needs an odd width."""
        if value % 2 == 0:
            raise ValueError("must be odd")
        return value

    def with_overrides(self, overrides: BaseModel | dict[str, Any]) -> LoopParams:
        """These parameters with a namespace's overrides, validated once.

        Args:
            overrides: The namespace's changes (a validated overrides model:
                its unset keys keep these values; or a plain mapping).

        Returns:
            A new object of this class.

        Raises:
            ValueError: If the merged values are invalid (naming the key).
        """
        changes = (
            overrides.model_dump(exclude_unset=True)
            if isinstance(overrides, BaseModel)
            else dict(overrides)
        )
        return type(self).model_validate({**self.model_dump(), **changes})


class TrainingParams(LoopParams):
    """The NCF family's ``training`` group (GMF, MLP-NCF, NeuMF).

    Attributes:
        optimizer: ``adam`` (fused Keras Adam), ``lazy_adam`` (sparse row
            updates), ``sgd``, or ``keras_adam`` (Keras' Adam; AdamW with
            ``weight_decay``).
        loss: ``bce``: binary cross-entropy on the positives and the
            sampled negatives; ``softmax`` (GMF only): each positive's user is
            scored against every item and the softmax cross-entropy of its item
            is minimised, so the sampled negatives are not used (the loss of
            implicit-feedback MF that ranks the whole catalogue).
        weight_decay: Decoupled weight decay (``keras_adam`` only); 0: none.
        steps_per_execution: Training steps per compiled graph call.
        eval_batch_size: Users per validation scoring batch; ``None``: automatic.
        validation_max_pairs: MLP-NCF and NeuMF run their tower on every (user,
            item) pair: their per-epoch sample is further capped at
            ``validation_max_pairs // n_items`` users; ``None``: no cap.

    The training negatives are the ``negative_sampling`` group's (the
    catalogued ``negative_sampler``), drawn afresh every epoch with ``seed``.
    """

    optimizer: Literal["adam", "lazy_adam", "sgd", "keras_adam"] = "adam"
    loss: Literal["bce", "softmax"] = "bce"
    weight_decay: float = Field(default=0.0, ge=0.0)
    steps_per_execution: int = Field(default=50, ge=1)
    eval_batch_size: int | None = Field(default=None, ge=1)
    validation_max_pairs: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _decay_needs_keras_adam(self) -> TrainingParams:
        """Only Keras' Adam (AdamW) applies a decoupled weight decay."""
        if self.weight_decay > 0 and self.optimizer != "keras_adam":
            raise ValueError(
                f"weight_decay {self.weight_decay} needs optimizer 'keras_adam', "
                f"got {self.optimizer!r}"
            )
        return self


class SequenceTrainingParams(LoopParams):
    """The sequence models' ``sequence_training`` group (SASRec, GRU4Rec).

    The defaults are the setting chosen on MovieLens-100k validation NDCG@10
    (``benchmarks/bench_sequence_ml100k.py``).

    Attributes:
        loss: ``softmax`` (whole catalogue), ``sampled_softmax``, ``bce``, or
            ``auto`` (softmax up to ``full_softmax_max_items`` items).
        n_negatives: Uniform negatives per training window, shared by its
            positions (sampled losses).
        full_softmax_max_items: Largest catalogue ``auto`` trains with the
            full softmax.
        window_stride: Step between training windows (``None``: ``max_len``).
        clipnorm: Gradient-norm clipping; ``None``: none.
        weight_decay: AdamW decoupled weight decay when positive.
        eval_batch_size: Users per validation scoring batch.
        jit_compile: Compile the training step with XLA.
    """

    group: ClassVar[str] = "sequence_training"

    epochs: int = Field(default=12, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=1e-2, gt=0.0)
    decay_epochs: int | None = Field(default=12, ge=1)
    loss: SequenceLoss = "sampled_softmax"
    n_negatives: int = Field(default=256, ge=1)
    full_softmax_max_items: int = Field(default=50_000, ge=1)
    window_stride: int | None = Field(default=None, ge=1)
    clipnorm: float | None = Field(default=1.0, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    eval_batch_size: int = Field(default=1024, ge=1)
    jit_compile: bool = False

    def resolved_loss(self, n_items: int) -> str:
        """The loss actually used for a catalogue of ``n_items`` items."""
        if self.loss != "auto":
            return self.loss
        return (
            "softmax" if n_items <= self.full_softmax_max_items else "sampled_softmax"
        )


def overrides_model(params: type[LoopParams]) -> type[BaseModel]:
    """The per-namespace overrides model of a parameter group.

    Every field of ``params`` with its range checks, optional, defaulting to
    unset. A key set to ``null`` is an override too (e.g. ``decay_epochs:
    null`` keeps the rate constant), allowed only where the group's field
    may be null.

    Args:
        params: The group's model.

    Returns:
        The overrides model (``extra="forbid"``, frozen).
    """
    fields: dict[str, Any] = {}
    for name, info in params.model_fields.items():
        annotation = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]  # type: ignore[valid-type]
        fields[name] = (annotation | None, None)

    def _no_bad_null(self: BaseModel) -> BaseModel:
        bad = sorted(
            key
            for key in self.model_fields_set
            if getattr(self, key) is None
            and type(None) not in get_args(params.model_fields[key].annotation)
        )
        if bad:
            raise ValueError(
                f"{bad} cannot be null; leave the key out to keep the shared value"
            )
        return self

    return create_model(
        f"{params.__name__.removesuffix('Params')}Overrides",
        __base__=_Strict,
        __doc__=f"Per-namespace changes to :class:`{params.__name__}`.",
        __validators__={"_no_bad_null": model_validator(mode="after")(_no_bad_null)},
        **fields,
    )


#: ``<model>.training_overrides`` of an NCF namespace.
TrainingOverrides = overrides_model(TrainingParams)
#: ``<model>.training_overrides`` of a sequence namespace.
SequenceTrainingOverrides = overrides_model(SequenceTrainingParams)
