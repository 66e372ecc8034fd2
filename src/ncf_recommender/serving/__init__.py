"""Serving: ``recommend_items``, the HTTP service and the ``ncf-recommend`` script.

Importing this package does not import TensorFlow; the model (and Keras) load on
the first recommendation.
"""

from __future__ import annotations

from ncf_recommender.serving.recommender import (
    HistoryNotSupportedError,
    ModelType,
    Recommendation,
    RecommendationSettings,
    RecommendedItem,
    Recommender,
    UnknownUserError,
    UnusableHistoryError,
    build_recommender,
    clear_cache,
    get_recommender,
    load_recommender,
    recommend_items,
    register_model_type,
)

__all__ = [
    "HistoryNotSupportedError",
    "ModelType",
    "Recommendation",
    "RecommendationSettings",
    "RecommendedItem",
    "Recommender",
    "UnknownUserError",
    "UnusableHistoryError",
    "build_recommender",
    "clear_cache",
    "get_recommender",
    "load_recommender",
    "recommend_items",
    "register_model_type",
]
