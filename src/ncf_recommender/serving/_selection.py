"""Choosing the model to serve from ``ranking_metrics`` (``model: auto``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)


#: Keys of ``ranking_metrics[model]`` searched for the selection metric, in order:
#: validation figures first; the test block ``full`` only when none exists.
SELECTION_KEYS = ("validation", "val", "valid", "val_full", "full")


def select_best_model(
    metrics: Mapping[str, Any], candidates: Sequence[str], metric: str = "ndcg@10"
) -> tuple[str, str]:
    """The candidate with the highest ``metric`` in a ``ranking_metrics`` mapping.

    The first key of :data:`SELECTION_KEYS` under which any candidate reports
    ``metric`` is used for every candidate: validation figures when the run
    stored them, else the test block ``full`` (logged as a warning).

    Args:
        metrics: ``{model: {"full": {...}, ...}}``.
        candidates: Model types that may be chosen.
        metric: Metric to maximise.

    Returns:
        ``(model, "key.metric")``.

    Raises:
        ValueError: If no candidate reports the metric.
    """
    for key in SELECTION_KEYS:
        values = {}
        for name in candidates:
            block = metrics.get(name)
            block = block.get(key) if isinstance(block, Mapping) else None
            if isinstance(block, Mapping) and isinstance(
                block.get(metric), int | float
            ):
                values[name] = float(block[metric])
        if values:
            if key == "full":
                logger.warning(
                    "ranking_metrics has no validation figures; choosing the model "
                    "on the test block 'full.%s'",
                    metric,
                )
            best = max(sorted(values), key=values.__getitem__)
            return best, f"{key}.{metric}"
    raise ValueError(
        f"ranking_metrics reports {metric!r} under none of {list(SELECTION_KEYS)} "
        f"for the models {sorted(candidates)}; set recommendation.model explicitly"
    )
