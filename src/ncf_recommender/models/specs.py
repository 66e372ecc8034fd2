"""Validated architecture parameters (``<model>.model``), one Pydantic model each.

The builders in :mod:`ncf_recommender.models.registry` take these objects; the
``architecture`` key picks the class (a discriminated union in
:mod:`ncf_recommender.pipelines.modelling.params`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class ContentSASRecParams(SASRecParams):
    """SASRec over id + content item rows
    (:func:`~ncf_recommender.models.content.build_content_sasrec`).

    The SASRec keys as in :class:`SASRecParams`, and:

    Attributes:
        id_dropout: Probability of dropping an item's id part at each step.
        min_feature_items: Metadata features (other than related items) that
            fewer items carry are left out of the content tower.
        new_item_share: Share of warm items played as new when choosing how
            new items are scored, on validation.
        warm_tolerance: Relative validation NDCG@10 of the other users that new
            items may take (see :func:`~ncf_recommender.models.content.calibrate_new_items`).
    """

    architecture: Literal["content_sasrec"]  # type: ignore[assignment]
    id_dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    min_feature_items: int = Field(default=10, ge=1)
    new_item_share: float = Field(default=0.1, gt=0.0, lt=1.0)
    warm_tolerance: float = Field(default=0.15, ge=0.0, lt=1.0)
