"""Catalog entries as Kedro resolves them, dataset factories included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.io.catalog_config_resolver import CatalogConfigResolver


class ResolvedCatalog:
    """``catalog[name]`` / ``catalog.get(name)`` over a catalog configuration,
    with ``{model}_model``-style factories resolved as Kedro resolves them."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._resolver = CatalogConfigResolver(dict(config))

    def get(self, name: str) -> dict[str, Any] | None:
        """The entry of ``name``, or ``None`` when neither an entry nor a factory matches."""
        known = name in self._resolver.config or self._resolver.match_dataset_pattern(
            name
        )
        return dict(self._resolver.resolve_pattern(name)) if known else None

    def __getitem__(self, name: str) -> dict[str, Any]:
        entry = self.get(name)
        if entry is None:
            raise KeyError(name)
        return entry
