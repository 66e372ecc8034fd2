"""What a recommendation returns: :class:`Recommendation` of :class:`RecommendedItem`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class RecommendedItem(NamedTuple):
    """One recommended item.

    Attributes:
        rank: 1-based position, best first.
        item_id: Original item id.
        score: The model's score (a probability for NCF models; the share of
            users who interacted with the item for the cold-start fallback).
        title: The item's title from ``item_metadata`` (or from its
            ``POST /items`` metadata), ``None`` when unknown.
        category: The item's deepest category name, ``None`` when unknown.
    """

    rank: int
    item_id: str
    score: float
    title: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """The answer for one user.

    Attributes:
        user_id: The original user id asked for.
        cold_start: Whether the user is unknown to the model: the popularity
            fallback, or (``history_used > 0``) a sequence model's answer after
            the supplied history alone.
        model: Model type that served the request.
        model_version: Kedro version timestamp of the model (``None`` when the
            dataset is not versioned).
        recommendations: Items, best first.
        ignored_items: Supplied history item ids not in ``item_mapping``
            (dropped), in request order.
        history_used: Supplied history items the model read (0: none given).
    """

    user_id: str
    cold_start: bool
    model: str
    model_version: str | None
    recommendations: tuple[RecommendedItem, ...]
    ignored_items: tuple[str, ...] = ()
    history_used: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the HTTP answer's shape).

        Returns:
            ``{"user_id", "cold_start", "model", "model_version", "recommendations":
            [{"rank", "item_id", "score", "title", "category"}, ...],
            "ignored_items", "history_used"}``.
        """
        return {
            "user_id": self.user_id,
            "cold_start": self.cold_start,
            "model": self.model,
            "model_version": self.model_version,
            "recommendations": [item._asdict() for item in self.recommendations],
            "ignored_items": list(self.ignored_items),
            "history_used": self.history_used,
        }
