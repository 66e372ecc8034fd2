"""Nodes of the ``item_metadata`` pipeline: join, report, and item features.

Items are keyed by their original id throughout (``item_id``); ``item_idx`` is
the model index of items that have interactions, null for items known only
from their metadata (new products: the ones content-aware models exist for).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from ncf_recommender.constants import ITEM_ID, ITEM_IDX
from ncf_recommender.metadata.readers import METADATA_COLUMNS
from ncf_recommender.pipelines.item_metadata.params import ItemFeatureParams
from ncf_recommender.readers import reader_report

#: Examples of ids quoted by the report per finding.
_REPORT_EXAMPLES = 5
#: Feature names of the special values.
RARE_BRAND = "brand=<rare>"
UNKNOWN_BRAND = "brand=<unknown>"
UNKNOWN_PRICE = "price=<unknown>"
NO_METADATA = "metadata=<missing>"
#: Relations in ``item_relations``, by the metadata column they come from.
RELATIONS = {"complements": "complement", "substitutes": "substitute"}


def _as_list(values: Any) -> list:
    """A list column's value as a list (``[]`` for a missing value)."""
    if values is None or isinstance(values, float | str):
        return []
    return list(values)


def _index_of(mapping: pd.DataFrame) -> pd.Series:
    return pd.Series(
        mapping[ITEM_IDX].to_numpy(), index=mapping[ITEM_ID].astype(str).to_numpy()
    )


def build_item_metadata(
    source_item_metadata: pd.DataFrame, item_mapping: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Join the parsed metadata to the model's items and report what is missing.

    Args:
        source_item_metadata: A metadata reader's table (with its reader report).
        item_mapping: ``item_id`` ↔ ``item_idx`` of the items with interactions.

    Raises:
        ValueError: If no metadata id matches an interaction item (the wrong
            file, or ids spelt differently); the message quotes both.

    Returns:
        ``(item_metadata, metadata_report)``: the table with a nullable
        ``item_idx`` column, and counts by reason: what the reader rejected or
        set to unknown, metadata ids with no interactions, interaction items
        with no metadata, and the share of unknown titles, brands, prices and
        categories.
    """
    source = reader_report(source_item_metadata)
    index = _index_of(item_mapping)
    frame = source_item_metadata.loc[:, list(METADATA_COLUMNS)].copy()
    frame.attrs = {}
    frame[ITEM_ID] = frame[ITEM_ID].astype(str)
    frame[ITEM_IDX] = frame[ITEM_ID].map(index).astype("Int32")
    known = frame[ITEM_IDX].notna()
    if len(frame) and len(index) and not known.any():
        raise ValueError(
            f"item metadata from {source.get('file')} shares no item id with the "
            f"interactions (e.g. metadata {frame[ITEM_ID].head(3).tolist()} against "
            f"interactions {index.index[:3].tolist()}): is it the metadata of this "
            "data set, with ids spelt the same way?"
        )
    missing = np.setdiff1d(
        index.index.to_numpy(dtype=str), frame[ITEM_ID].to_numpy(dtype=str)
    )
    n = max(len(frame), 1)
    report = {
        "source": source,
        "items_with_metadata": len(frame),
        "items_without_interactions": int((~known).sum()),
        "interaction_items": len(index),
        "interaction_items_without_metadata": int(missing.size),
        "coverage_of_interaction_items": round(
            float(known.sum()) / max(len(index), 1), 6
        ),
        "examples_without_metadata": missing[:_REPORT_EXAMPLES].tolist(),
        "examples_without_interactions": frame.loc[~known, ITEM_ID]
        .head(_REPORT_EXAMPLES)
        .tolist(),
        "unknown_share": {
            "title": round(float(frame["title"].isna().sum()) / n, 6),
            "brand": round(float(frame["brand"].isna().sum()) / n, 6),
            "price": round(float(frame["price"].isna().sum()) / n, 6),
            "categories": round(
                float((frame["categories"].map(lambda v: len(_as_list(v))) == 0).sum())
                / n,
                6,
            ),
        },
    }
    return frame, report


def _universe(item_metadata: pd.DataFrame, item_mapping: pd.DataFrame) -> pd.DataFrame:
    """Every item: those with metadata, then interaction items without it."""
    index = _index_of(item_mapping)
    extra = index.index.difference(pd.Index(item_metadata[ITEM_ID]), sort=True)
    rows = pd.DataFrame({ITEM_ID: extra.to_numpy(dtype=object)})
    universe = pd.concat(
        [item_metadata.drop(columns=[ITEM_IDX]), rows], ignore_index=True
    )
    universe[ITEM_IDX] = universe[ITEM_ID].map(index).astype("Int32")
    universe["has_metadata"] = np.arange(len(universe)) < len(item_metadata)
    return universe


def _category_tokens(universe: pd.DataFrame, depth: int | None) -> pd.DataFrame:
    """One feature per level of the path: each token names the path down to it."""
    paths = universe["categories"].map(lambda names: _as_list(names)[:depth])
    rows = paths.map(
        lambda names: [
            "category=" + " > ".join(names[: k + 1]) for k in range(len(names))
        ]
    )
    exploded = rows.explode().dropna()
    return pd.DataFrame(
        {"row": exploded.index.to_numpy(), "feature": exploded.to_numpy()}
    )


def _brand_tokens(universe: pd.DataFrame, min_items: int) -> pd.DataFrame:
    with_meta = universe[universe["has_metadata"]]
    brands = with_meta["brand"]
    counts = brands.value_counts()
    names = brands.map(lambda brand: f"brand={brand}")
    names[brands.map(counts).fillna(0) < min_items] = RARE_BRAND
    names[brands.isna()] = UNKNOWN_BRAND
    return pd.DataFrame(
        {"row": with_meta.index.to_numpy(), "feature": names.to_numpy()}
    )


def _price_tokens(universe: pd.DataFrame, buckets: int) -> pd.DataFrame:
    with_meta = universe[universe["has_metadata"]]
    price = with_meta["price"].to_numpy(dtype=np.float64)
    known = np.isfinite(price)
    names = np.full(price.size, UNKNOWN_PRICE, dtype=object)
    if known.any():
        log_price = np.log1p(price[known])
        inner = np.quantile(log_price, np.linspace(0, 1, buckets + 1)[1:-1])
        bucket = np.searchsorted(np.unique(inner), log_price, side="right")
        names[known] = [f"price=bucket {b + 1}/{buckets}" for b in bucket]
    return pd.DataFrame({"row": with_meta.index.to_numpy(), "feature": names})


def _related_tokens(universe: pd.DataFrame, max_related: int) -> pd.DataFrame:
    """``related=<id>`` for the item itself and for each item it lists."""
    lists = universe["complements"].map(_as_list).map(
        lambda v: v[:max_related]
    ) + universe["substitutes"].map(_as_list).map(lambda v: v[:max_related])
    with_self = pd.Series(
        [
            [item, *related]
            for item, related in zip(universe[ITEM_ID], lists, strict=True)
        ],
        index=universe.index,
    )
    exploded = with_self.explode().dropna()
    frame = pd.DataFrame(
        {"row": exploded.index.to_numpy(), "feature": "related=" + exploded.astype(str)}
    )
    return frame.drop_duplicates(ignore_index=True)


def _title_features(
    universe: pd.DataFrame, params: ItemFeatureParams
) -> tuple[pd.DataFrame, np.ndarray]:
    """TF-IDF title tokens: ``(row, feature, weight)`` rows, and the weights."""
    titled = universe["title"].notna()
    empty = pd.DataFrame({"row": [], "feature": [], "weight": []})
    if params.title_max_features == 0 or titled.sum() < params.title_min_df:
        return empty, np.empty(0)
    vectorizer = TfidfVectorizer(
        max_features=params.title_max_features,
        min_df=params.title_min_df,
        dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform(universe.loc[titled, "title"]).tocoo()
    except ValueError:  # no token left after min_df
        return empty, np.empty(0)
    tokens = np.array(
        ["title=" + token for token in vectorizer.get_feature_names_out()], dtype=object
    )
    rows = universe.index.to_numpy()[titled.to_numpy()][matrix.row]
    frame = pd.DataFrame(
        {"row": rows, "feature": tokens[matrix.col], "weight": matrix.data}
    )
    return frame, matrix.data


def build_item_features(
    item_metadata: pd.DataFrame,
    item_mapping: pd.DataFrame,
    params: ItemFeatureParams,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn metadata into sparse item features.

    Features: every level of the category path; the brand (rare brands share
    one feature, an unknown brand has its own); a log-price bucket (unknown is a
    bucket of its own); TF-IDF title tokens; with ``related_items``, the item's
    own ``related=<id>`` and one per item in its related lists. An interaction
    item without metadata gets only ``metadata=<missing>`` (and its own id). Categorical features weigh 1,
    title tokens their TF-IDF weight (rows of unit norm).

    Args:
        item_metadata: The ``item_metadata`` table.
        item_mapping: ``item_id`` ↔ ``item_idx``.
        params: The ``item_features`` parameters.

    Returns:
        ``(item_features, item_feature_vocabulary)``: long-format rows
        ``item_id``, ``item_idx`` (null for items without interactions),
        ``feature_idx`` and ``weight``; and ``feature_idx``, ``feature``,
        ``kind`` and ``items`` (how many items have it), sorted by name.
    """
    universe = _universe(item_metadata, item_mapping)
    categorical = pd.concat(
        [
            _category_tokens(universe, params.category_depth),
            _brand_tokens(universe, params.min_brand_items),
            _price_tokens(universe, params.price_buckets),
            pd.DataFrame(
                {
                    "row": universe.index[~universe["has_metadata"]].to_numpy(),
                    "feature": NO_METADATA,
                }
            ),
            *(
                [_related_tokens(universe, params.max_related)]
                if params.related_items
                else []
            ),
        ],
        ignore_index=True,
    )
    categorical["weight"] = np.float32(1.0)
    titles, _ = _title_features(universe, params)
    rows = pd.concat([categorical, titles], ignore_index=True)
    rows["row"] = rows["row"].astype(np.int64)
    names = np.sort(rows["feature"].unique().astype(str))
    vocabulary = pd.DataFrame(
        {
            "feature_idx": np.arange(names.size, dtype=np.int32),
            "feature": names,
            "kind": [name.split("=", 1)[0] for name in names],
        }
    )
    rows["feature_idx"] = np.searchsorted(names, rows["feature"].to_numpy(dtype=str))
    rows = rows.sort_values(["row", "feature_idx"], kind="stable")
    vocabulary["items"] = np.bincount(rows["feature_idx"], minlength=names.size)
    features = pd.DataFrame(
        {
            ITEM_ID: universe[ITEM_ID].to_numpy()[rows["row"].to_numpy()],
            ITEM_IDX: universe[ITEM_IDX].array[rows["row"].to_numpy()],
            "feature_idx": rows["feature_idx"].to_numpy(dtype=np.int32),
            "weight": rows["weight"].to_numpy(dtype=np.float32),
        }
    )
    return features.reset_index(drop=True), vocabulary


def build_item_relations(
    item_metadata: pd.DataFrame, item_mapping: pd.DataFrame
) -> pd.DataFrame:
    """The related-item lists as one edge table.

    Args:
        item_metadata: The ``item_metadata`` table.
        item_mapping: ``item_id`` ↔ ``item_idx``.

    Returns:
        Rows ``item_id``, ``related_item_id``, ``relation`` (``complement`` or
        ``substitute``), ``position`` (order in the source list) and both
        ``item_idx`` / ``related_item_idx`` (null for items without
        interactions).
    """
    index = _index_of(item_mapping)
    parts = []
    for column, relation in RELATIONS.items():
        lists = item_metadata.set_index(ITEM_ID)[column].map(_as_list)
        exploded = lists.explode().dropna()
        position = exploded.groupby(level=0, sort=False).cumcount()
        parts.append(
            pd.DataFrame(
                {
                    ITEM_ID: exploded.index.to_numpy(dtype=object),
                    "related_item_id": exploded.to_numpy(dtype=object),
                    "relation": relation,
                    "position": position.to_numpy(dtype=np.int32),
                }
            )
        )
    edges = pd.concat(parts, ignore_index=True)
    edges[ITEM_IDX] = edges[ITEM_ID].map(index).astype("Int32")
    edges["related_item_idx"] = edges["related_item_id"].map(index).astype("Int32")
    return edges
