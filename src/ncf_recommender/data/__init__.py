"""Embedded default data: a seeded generator of Amazon-Electronics-shaped ratings."""

from __future__ import annotations

from ncf_recommender.data.generator import (
    COLUMNS,
    DEFAULT_N_RATINGS,
    DIRT_KINDS,
    ELECTRONICS_2014,
    ELECTRONICS_2014_5CORE_LIKE,
    generate_ratings,
    inject_dirt,
    write_ratings_csv,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_N_RATINGS",
    "DIRT_KINDS",
    "ELECTRONICS_2014",
    "ELECTRONICS_2014_5CORE_LIKE",
    "generate_ratings",
    "inject_dirt",
    "write_ratings_csv",
]
