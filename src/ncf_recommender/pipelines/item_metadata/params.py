"""Typed parameters of the ``item_metadata`` pipeline."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ItemFeatureParams(BaseModel):
    """How metadata becomes item features.

    Attributes:
        min_brand_items: Brands with fewer items than this share one
            ``brand=<rare>`` feature (a rare brand says little on its own).
        price_buckets: Number of log-price buckets (quantiles of the known
            prices); an unknown price is a bucket of its own.
        title_max_features: Largest TF-IDF title vocabulary.
        title_min_df: Smallest number of titles a title token must appear in.
        category_depth: Deepest category level used (``null``: all levels).
        related_items: Add the related-item lists as features: one feature per
            listed item (``related=<id>``), and each item's own ``related=<id>``,
            so an item that lists, or is listed with, a user's past items is
            similar to them.
        max_related: Longest related list used per item and relation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_brand_items: int = Field(default=5, ge=1)
    price_buckets: int = Field(default=10, ge=1, le=100)
    title_max_features: int = Field(default=5000, ge=0)
    title_min_df: int = Field(default=2, ge=1)
    category_depth: int | None = Field(default=None, ge=1)
    related_items: bool = True
    max_related: int = Field(default=50, ge=1)
