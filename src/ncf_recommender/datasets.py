"""Kedro datasets of the project.

``SyntheticRatingsDataset`` serves the embedded default data: every ``load()``
regenerates the same Amazon-Electronics-2014-shaped ratings from a seed (see
:mod:`ncf_recommender.data.generator`), so nothing has to be downloaded.

Example ``catalog.yml`` entries::

    source_ratings:
      type: ncf_recommender.datasets.SyntheticRatingsDataset
      seed: 42

    source_ratings_full_size:          # the real file's size, for benchmarks
      type: ncf_recommender.datasets.SyntheticRatingsDataset
      preset: electronics_2014
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from ncf_recommender.data.generator import (
    DEFAULT_N_RATINGS,
    ELECTRONICS_2014,
    ELECTRONICS_2014_5CORE_LIKE,
    ELECTRONICS_2023,
    generate_ratings,
)

#: Named sizes accepted by ``preset``.
PRESETS: dict[str, dict[str, int]] = {
    "electronics_2014": ELECTRONICS_2014,
    "electronics_2014_5core_like": ELECTRONICS_2014_5CORE_LIKE,
    "electronics_2023": ELECTRONICS_2023,
}


def resolve_sizes(
    owner: str,
    preset: str | None,
    n_ratings: int | None,
    n_users: int | None,
    n_items: int | None,
) -> dict[str, int | None]:
    """The generation's sizes: the preset's, overridden by explicit values.

    Args:
        owner: The dataset class, named in errors.
        preset: A name from :data:`PRESETS`, or ``None``.
        n_ratings: Number of ratings (``None``: the preset's or the default size).
        n_users: Number of users (``None``: the preset's or proportional).
        n_items: Number of items (``None``: the preset's or proportional).

    Returns:
        ``{"n_ratings", "n_users", "n_items"}``.

    Raises:
        DatasetError: If ``preset`` is not a known name.
    """
    if preset is not None and preset not in PRESETS:
        raise DatasetError(
            f"Unknown preset {preset!r} for {owner}; choose one of {sorted(PRESETS)}"
        )
    sizes: dict[str, int | None] = dict(PRESETS[preset]) if preset else {}
    for key, value in (
        ("n_ratings", n_ratings),
        ("n_users", n_users),
        ("n_items", n_items),
    ):
        if value is not None:
            sizes[key] = value
    return {
        "n_ratings": sizes.get("n_ratings") or DEFAULT_N_RATINGS,
        "n_users": sizes.get("n_users"),
        "n_items": sizes.get("n_items"),
    }


class SyntheticRatingsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Read-only dataset of generated ratings in the ``ratings_Electronics.csv`` format.

    ``load()`` returns ``generate_ratings(...)``: columns ``user``, ``item``,
    ``rating`` and ``timestamp``, identical for identical arguments.
    """

    def __init__(
        self,
        *,
        n_ratings: int | None = None,
        n_users: int | None = None,
        n_items: int | None = None,
        seed: int = 42,
        dirt: float = 0.0,
        preset: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the generation.

        Args:
            n_ratings: Number of clean ratings; the preset's, or the
                generator's default size, when ``None``.
            n_users: Number of users; the preset's, or in the real data's
                proportion to ``n_ratings``, when ``None``.
            n_items: Number of items; as ``n_users``.
            seed: Seed of the generation.
            dirt: Fraction of injected defects (0 for clean data).
            preset: A name from :data:`PRESETS` giving the three sizes;
                explicit sizes override it.
            metadata: Free-form metadata (e.g. the kedro-viz layer); unused.

        Raises:
            DatasetError: If ``preset`` is not a known name.
        """
        sizes = resolve_sizes(
            "SyntheticRatingsDataset", preset, n_ratings, n_users, n_items
        )
        self._n_ratings = sizes["n_ratings"]
        self._n_users = sizes["n_users"]
        self._n_items = sizes["n_items"]
        self._seed = seed
        self._dirt = dirt
        self._preset = preset
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        """Generate the ratings.

        Returns:
            The generated frame (see ``generate_ratings``).

        Raises:
            DatasetError: If an argument is invalid; the message names it.
        """
        try:
            return generate_ratings(
                n_ratings=self._n_ratings,
                n_users=self._n_users,
                n_items=self._n_items,
                seed=self._seed,
                dirt=self._dirt,
            )
        except ValueError as exc:
            raise DatasetError(f"SyntheticRatingsDataset: {exc}") from exc

    def save(self, data: pd.DataFrame) -> None:
        """Refuse: generated data is read-only.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(
            "SyntheticRatingsDataset is read-only: it generates its data on load. "
            "Save to another dataset (e.g. a pandas.ParquetDataset) instead."
        )

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {
            "n_ratings": self._n_ratings,
            "n_users": self._n_users,
            "n_items": self._n_items,
            "seed": self._seed,
            "dirt": self._dirt,
            "preset": self._preset,
        }
