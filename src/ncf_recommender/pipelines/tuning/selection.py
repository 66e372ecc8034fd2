"""Which models ``kedro run --pipeline tuning`` tunes: ``tuning.models``.

Set from the run's parameters by :class:`~ncf_recommender.pipelines.tuning.hooks.TuningHooks`
before the pipelines are built, like ``modelling.models``
(:mod:`ncf_recommender.pipelines.modelling.selection`), which is the default.
"""

from __future__ import annotations

from ncf_recommender.pipelines.modelling.selection import selected_models

_selection: tuple[str, ...] | None = None


def select_tuned_models(models: tuple[str, ...] | None) -> bool:
    """Set the models the tuning pipeline is built with.

    Args:
        models: ``tuning.models``; ``None``: follow ``modelling.models``.

    Returns:
        Whether the selection changed.
    """
    global _selection  # noqa: PLW0603 (process-wide, as Kedro's pipelines)
    changed = models != _selection
    _selection = None if models is None else tuple(models)
    return changed


def tuned_models() -> tuple[str, ...]:
    """The models of the current tuning run (``modelling.models`` unless set)."""
    return selected_models() if _selection is None else _selection
