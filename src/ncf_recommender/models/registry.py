"""The model registry: the one list of trainable models.

Each :class:`ModelEntry` says what the rest of the project needs to know about a
model: its name (namespace, parameter group, tag, ``ranking_metrics`` key and
the catalog's ``<name>_model`` / ``<name>_training_history`` prefix), its
family (which training adapter and shared parameter group), its builder (which
takes the validated ``<name>.model`` object), its scorer, and whether it reads
user histories. The modelling and recommendation pipelines, serving's model
choice and the plots read :data:`MODELS`; adding a model is one module in
``models/`` plus one entry here.

This module imports neither Keras nor TensorFlow: builders and scorers import
their modules when called.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ncf_recommender.models.specs import (
    ContentSASRecParams,
    GMFParams,
    GRU4RecParams,
    MLPParams,
    NeuMFParams,
    SASRecParams,
)

#: A model family: its training adapter and shared parameter group.
Family = Literal["ncf", "sequence"]
#: ``build(spec, n_users=, n_items=, pretrained=) -> keras.Model``.
Builder = Callable[..., Any]

#: Shared training parameter group of each family.
FAMILY_PARAMETERS: dict[Family, str] = {
    "ncf": "training",
    "sequence": "sequence_training",
}
#: Module of each family's training adapter (:mod:`ncf_recommender.training`).
FAMILY_ADAPTERS: dict[Family, str] = {
    "ncf": "ncf_recommender.training.ncf",
    "sequence": "ncf_recommender.training.sequence",
}
#: Scorer class of each family (``module:Class``).
FAMILY_SCORERS: dict[Family, str] = {
    "ncf": "ncf_recommender.models.scorers:KerasScorer",
    "sequence": "ncf_recommender.models.sequences:SequenceScorer",
}
#: Modules registering custom Keras layers, imported before a model loads
#: (safe-mode loading of ``.keras`` files).
LAYER_MODULES: tuple[str, ...] = ("ncf_recommender.models.layers",)


@dataclass(frozen=True)
class ModelEntry:
    """One trainable model.

    Attributes:
        name: Namespace, parameter group, tag, dataset prefix and
            ``ranking_metrics`` key.
        family: ``ncf`` (user-item pairs, sampled negatives) or ``sequence``
            (next item after a history).
        spec: The Pydantic model of ``<name>.model`` its builder takes.
        build: The builder (see :data:`Builder`).
        uses_history: Whether its scorer reads user histories.
        pretrained_from: Models it starts from (their ``<name>_model`` are
            extra inputs of its training node when ``spec.pretrained``).
        reads_content: Whether it reads the items' metadata features (the
            ``item_metadata`` pipeline's :data:`CONTENT_INPUTS` are extra
            inputs of its training node).
    """

    name: str
    family: Family
    spec: type
    build: Builder
    uses_history: bool = False
    pretrained_from: tuple[str, ...] = ()
    reads_content: bool = False

    @property
    def parameter_group(self) -> str:
        """The family's shared training parameter group."""
        return FAMILY_PARAMETERS[self.family]

    @property
    def adapter_module(self) -> str:
        """The module of the family's training adapter."""
        return FAMILY_ADAPTERS[self.family]

    @property
    def scorer(self) -> str:
        """The family's scorer class (``module:Class``)."""
        return FAMILY_SCORERS[self.family]

    @property
    def dataset(self) -> str:
        """The catalog dataset of the trained model."""
        return f"{self.name}_model"


def _build_gmf(spec: GMFParams, *, n_users: int, n_items: int, **_: Any) -> Any:
    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415

    return build_gmf(n_users, n_items, spec.embedding_dim, spec.l2)


def _build_mlp(spec: MLPParams, *, n_users: int, n_items: int, **_: Any) -> Any:
    from ncf_recommender.models.mlp import build_mlp  # noqa: PLC0415

    return build_mlp(
        n_users, n_items, spec.embedding_dim, spec.layers, spec.l2, spec.dropout
    )


def _build_neumf(
    spec: NeuMFParams,
    *,
    n_users: int,
    n_items: int,
    pretrained: dict[str, Any] | None = None,
    **_: Any,
) -> Any:
    from ncf_recommender.models.neumf import build_neumf  # noqa: PLC0415

    pretrained = pretrained or {}
    if spec.pretrained and not {"gmf", "mlp"} <= {
        name for name, model in pretrained.items() if model is not None
    }:
        raise ValueError(
            "neumf.model.pretrained is true but the pipeline gave no trained GMF and MLP "
            "models; wire gmf_model and mlp_model into the neumf namespace or set "
            "pretrained: false"
        )
    return build_neumf(
        n_users,
        n_items,
        spec.gmf_dim,
        spec.mlp_dim,
        spec.layers,
        spec.l2,
        spec.dropout,
        pretrained.get("gmf") if spec.pretrained else None,
        pretrained.get("mlp") if spec.pretrained else None,
        spec.alpha,
    )


def _build_sasrec(spec: SASRecParams, *, n_items: int, **_: Any) -> Any:
    from ncf_recommender.models.sasrec import build_sasrec  # noqa: PLC0415

    return build_sasrec(
        n_items,
        spec.max_len,
        spec.dim,
        spec.heads,
        spec.blocks,
        dropout=spec.dropout,
        ffn_dim=spec.ffn_dim,
        l2=spec.l2,
    )


def _build_content_sasrec(
    spec: ContentSASRecParams,
    *,
    n_items: int,
    content: Any = None,
    warm: Any = None,
    **_: Any,
) -> Any:
    from ncf_recommender.models.content import build_content_sasrec  # noqa: PLC0415

    if content is None or warm is None:
        raise ValueError(
            "content_sasrec reads item features: run `kedro run --pipeline "
            "item_metadata` first, and wire item_features and "
            "item_feature_vocabulary into its training node"
        )
    return build_content_sasrec(
        content,
        warm,
        max_len=spec.max_len,
        dim=spec.dim,
        heads=spec.heads,
        blocks=spec.blocks,
        dropout=spec.dropout,
        id_dropout=spec.id_dropout,
        ffn_dim=spec.ffn_dim,
        l2=spec.l2,
    )


def _build_gru4rec(spec: GRU4RecParams, *, n_items: int, **_: Any) -> Any:
    from ncf_recommender.models.gru4rec import build_gru4rec  # noqa: PLC0415

    return build_gru4rec(
        n_items,
        spec.max_len,
        spec.dim,
        spec.hidden,
        spec.layers,
        dropout=spec.dropout,
        l2=spec.l2,
    )


#: Every trainable model, in dependency order (a model after those it starts from).
MODELS: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry("gmf", "ncf", GMFParams, _build_gmf),
        ModelEntry("mlp", "ncf", MLPParams, _build_mlp),
        ModelEntry(
            "neumf", "ncf", NeuMFParams, _build_neumf, pretrained_from=("gmf", "mlp")
        ),
        ModelEntry(
            "sasrec", "sequence", SASRecParams, _build_sasrec, uses_history=True
        ),
        ModelEntry("gru", "sequence", GRU4RecParams, _build_gru4rec, uses_history=True),
        ModelEntry(
            "content_sasrec",
            "sequence",
            ContentSASRecParams,
            _build_content_sasrec,
            uses_history=True,
            reads_content=True,
        ),
    )
}
#: The extra inputs of a content-aware model's training node (``reads_content``).
CONTENT_INPUTS: tuple[str, ...] = ("item_features", "item_feature_vocabulary")
#: Baselines evaluated in every run (``ranking_metrics`` keys; not trainable models).
BASELINES: tuple[str, ...] = ("most_popular", "als")


def split_names(value: Any) -> Any:
    """A list of names given as one string (``"gmf+sasrec"``) as a tuple.

    ``kedro run --params`` splits lists on commas, so a list of models is
    written with ``+`` (or spaces) on the command line.

    Args:
        value: The raw parameter value.

    Returns:
        A tuple of names for a string; any other value unchanged.
    """
    if isinstance(value, str):
        return tuple(name for name in re.split(r"[\s+,]+", value) if name)
    return value


def model_names(family: Family | None = None) -> tuple[str, ...]:
    """The registered models' names, in dependency order.

    Args:
        family: Only this family's; ``None``: every model.

    Returns:
        The names.
    """
    return tuple(
        name for name, entry in MODELS.items() if family in (None, entry.family)
    )


def get_model(name: str) -> ModelEntry:
    """Look a model up by name.

    Args:
        name: The model's name.

    Returns:
        Its entry.

    Raises:
        ValueError: If no such model is registered.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; registered: {list(MODELS)}"
        ) from None


def build_model(
    spec: Any,
    *,
    n_users: int,
    n_items: int,
    pretrained: dict[str, Any] | None = None,
    **inputs: Any,
) -> Any:
    """Build the model a validated ``<name>.model`` object describes.

    Seed first (:func:`ncf_recommender.training.loop.seed_everything`): the
    initial weights come from the global Keras seed.

    Args:
        spec: The validated architecture (an instance of an entry's ``spec``).
        n_users: Number of users.
        n_items: Number of items.
        pretrained: Trained models it starts from, by name.
        **inputs: What else the builder reads (a content-aware model's
            ``content`` and ``warm``).

    Returns:
        The Keras model.

    Raises:
        ValueError: If no entry builds this kind of spec.
    """
    for entry in MODELS.values():
        if type(spec) is entry.spec:
            return entry.build(
                spec, n_users=n_users, n_items=n_items, pretrained=pretrained, **inputs
            )
    raise ValueError(f"no registered model builds a {type(spec).__name__}")
