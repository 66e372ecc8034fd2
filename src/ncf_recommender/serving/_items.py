"""Item metadata in serving: the catalogued ``item_metadata`` and products added live.

* :class:`CataloguedMetadata`: the ``item_metadata`` table of the ``item_metadata``
  pipeline (``kedro run --pipeline item_metadata``), loaded once with the model
  when the project has one: ``GET /items/{item_id}`` reads it, recommendations
  carry each item's title and deepest category from it, and a new product's
  category finds its known neighbours in it.
* :class:`NewItem`: the metadata of a product added at serving time
  (``POST /items``, :func:`~ncf_recommender.serving.add_item`), validated by
  Pydantic.
* :class:`AddedItems`: the products added to one loaded model, with their
  vectors; an immutable snapshot the recommender replaces as a whole, so a
  request reads one consistent set. They live in memory only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ncf_recommender.constants import ITEM_ID
from ncf_recommender.serving._errors import RequestError

#: Longest user or item id accepted (Amazon ids are 10 to 28 characters).
MAX_ID_LENGTH = 256
#: Catalog dataset of the product metadata.
ITEM_METADATA_DATASET = "item_metadata"
#: How to build it (quoted by errors).
ITEM_METADATA_COMMAND = "kedro run --pipeline item_metadata"
#: Columns serving reads from ``item_metadata``.
METADATA_FIELDS = ("title", "brand", "categories", "price")

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, StringConstraints(max_length=2000)]
CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class NewItem(BaseModel):
    """A product's metadata, added at serving time."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="NewItem",
        json_schema_extra={
            "examples": [
                {
                    "item_id": "B0NEWITEM1",
                    "title": "Wireless earbuds",
                    "categories": ["Electronics", "Audio", "Headphones"],
                    "brand": "Acme",
                    "price": 19.99,
                    "related": ["B00004Z5M1"],
                }
            ]
        },
    )

    item_id: ItemId = Field(description="the product's original id (not yet served)")
    title: Text | None = None
    categories: list[CategoryName] = Field(
        default_factory=list,
        max_length=20,
        description="category path, most general first; the last is its category",
    )
    brand: Text | None = None
    price: Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)] | None = None
    related: list[ItemId] = Field(
        default_factory=list,
        max_length=1000,
        description="related products (also bought, bought together...): those "
        "the model knows give the new product its vector",
    )


def validate_new_item(metadata: Mapping[str, Any] | NewItem) -> NewItem:
    """A new product's metadata, validated.

    Args:
        metadata: A mapping of :class:`NewItem` fields, or a ``NewItem``.

    Returns:
        The validated item.

    Raises:
        RequestError: Naming each malformed field (e.g. ``price: Input should
            be a valid number``).
    """
    if isinstance(metadata, NewItem):
        return metadata
    if not isinstance(metadata, Mapping):
        raise RequestError(
            f"item metadata must be a mapping of fields, got {type(metadata).__name__}"
        )
    try:
        return NewItem.model_validate(dict(metadata))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}"
            for e in error.errors()
        )
        raise RequestError(f"invalid item metadata: {problems}") from None


def deepest_category(categories: Any) -> str | None:
    """The last name of a category path (``None`` for no path)."""
    names = _names(categories)
    return names[-1] if names else None


def _names(values: Any) -> list[str]:
    """A list column's value as a list of strings (``[]`` when missing)."""
    if values is None or isinstance(values, float | str):
        return []
    return [str(v) for v in values]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if value is pd.NA:
        return None
    return str(value)


def _price(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class CataloguedMetadata:
    """The ``item_metadata`` table, indexed for serving.

    Attributes:
        frame: ``title``, ``brand``, ``categories`` and ``price`` by ``item_id``
            (first row of a repeated id).
        version: Version of the dataset (``None``: not versioned).
        item_titles: Title of every served ``item_idx`` (``None``: unknown).
        item_categories: Deepest category of every served ``item_idx``.
        category_items: Served ``item_idx`` of each deepest category.
    """

    frame: pd.DataFrame
    version: str | None
    item_titles: np.ndarray
    item_categories: np.ndarray
    category_items: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, item_ids: np.ndarray, version: str | None = None
    ) -> CataloguedMetadata:
        """Index an ``item_metadata`` table for the served items.

        Args:
            frame: The table (``item_id`` plus any of ``title``, ``brand``,
                ``categories``, ``price``); not modified.
            item_ids: Original id of every served ``item_idx``.
            version: The dataset's version.

        Returns:
            The indexed metadata.

        Raises:
            ValueError: If ``item_id`` is missing.
        """
        if ITEM_ID not in frame.columns:
            raise ValueError(
                f"{ITEM_METADATA_DATASET} has no column {ITEM_ID!r}; has "
                f"{list(frame.columns)} (rebuild it: {ITEM_METADATA_COMMAND})"
            )
        table = pd.DataFrame(index=pd.Index(frame[ITEM_ID].astype(str), name=ITEM_ID))
        for column in METADATA_FIELDS:
            values = frame[column].to_numpy() if column in frame.columns else None
            table[column] = (
                values if values is not None else np.full(len(frame), None, object)
            )
        table = table[~table.index.duplicated(keep="first")]
        rows = table.index.get_indexer(pd.Index(np.asarray(item_ids, dtype=object)))
        known = rows >= 0
        item_titles = np.full(len(item_ids), None, dtype=object)
        item_categories = np.full(len(item_ids), None, dtype=object)
        served_rows = rows[known]
        item_titles[known] = [_text(v) for v in table["title"].to_numpy()[served_rows]]
        item_categories[known] = [
            deepest_category(v) for v in table["categories"].to_numpy()[served_rows]
        ]
        present = np.flatnonzero(pd.notna(item_categories))
        names = item_categories[present]
        groups = pd.Series(names).groupby(names, sort=False).indices
        category_items = {
            str(name): present[positions].astype(np.int64)
            for name, positions in groups.items()
        }
        return cls(table, version, item_titles, item_categories, category_items)

    def record(self, item_id: str) -> dict[str, Any] | None:
        """An item's metadata (``None`` if the table has no row for it).

        Args:
            item_id: Original item id.

        Returns:
            ``{"item_id", "title", "brand", "categories", "price", "category"}``.
        """
        if item_id not in self.frame.index:
            return None
        row = self.frame.loc[item_id]
        categories = _names(row["categories"])
        return {
            "item_id": item_id,
            "title": _text(row["title"]),
            "categories": categories,
            "brand": _text(row["brand"]),
            "price": _price(row["price"]),
            "category": categories[-1] if categories else None,
        }


@dataclass(frozen=True)
class AddedItems:
    """Products added to a loaded model at serving time (immutable snapshot).

    Attributes:
        items: Their metadata, in the order added (added index ``j``).
        vectors: ``(len(items), dim)`` float32 vectors in the model's item space.
        basis: What each vector was built from (``related`` or ``category``).
        neighbours: Known items averaged for each vector.
        index: Added index of each id.
    """

    items: tuple[NewItem, ...] = ()
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    basis: tuple[str, ...] = ()
    neighbours: tuple[int, ...] = ()
    index: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        """Number of added products."""
        return len(self.items)

    @property
    def ids(self) -> tuple[str, ...]:
        """Their ids, in the order added."""
        return tuple(item.item_id for item in self.items)

    def position(self, item_id: str) -> int:
        """Added index of an id (``-1``: not added)."""
        return self.index.get(item_id, -1)

    def plus(
        self, item: NewItem, vector: np.ndarray, basis: str, neighbours: int
    ) -> AddedItems:
        """A new snapshot with one more product.

        Args:
            item: Its metadata.
            vector: ``(dim,)`` vector.
            basis: ``related`` or ``category``.
            neighbours: Known items averaged.

        Returns:
            The new snapshot (this one is unchanged).
        """
        vector = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        vectors = vector if not len(self) else np.vstack((self.vectors, vector))
        return AddedItems(
            (*self.items, item),
            vectors,
            (*self.basis, basis),
            (*self.neighbours, int(neighbours)),
            {**self.index, item.item_id: len(self)},
        )

    def record(self, position: int) -> dict[str, Any]:
        """The metadata of added product ``position``, as ``GET /items`` answers it."""
        item = self.items[position]
        return {
            "item_id": item.item_id,
            "title": item.title,
            "categories": list(item.categories),
            "brand": item.brand,
            "price": item.price,
            "category": deepest_category(item.categories),
        }
