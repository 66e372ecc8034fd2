"""ncf-recommender: Neural Collaborative Filtering for e-commerce, as a Kedro project."""

from __future__ import annotations

import os

# TensorFlow prints a page of C++ start-up notices (CPU features, oneDNN) on import;
# this documented setting silences them unless the user chose a level already.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """Lazy ``from ncf_recommender import recommend_items`` (no TensorFlow import).

    Args:
        name: Attribute name.

    Returns:
        ``recommend_items`` from :mod:`ncf_recommender.serving`.

    Raises:
        AttributeError: For any other name.
    """
    if name == "recommend_items":
        from ncf_recommender.serving import recommend_items  # noqa: PLC0415

        return recommend_items
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
