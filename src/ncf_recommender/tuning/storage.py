"""The folder of the Optuna studies, as a catalog entry.

Kedro turns a catalog entry's relative ``filepath`` into a path under the
project, so declaring the study folder in the catalog (``tuning_studies``,
``${globals:data_root}/06_models/tuning``) keeps every environment's studies
in its own data folder, whatever the working directory. Loading returns that
folder; the tuning node keeps one SQLite file per model in it. It is the
studies' live store (Optuna writes every trial as it finishes, which is what
lets an interrupted study resume), so it is neither versioned nor saved
through the catalog; the versioned result is ``tuned_parameters``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class StudyFolderDataset(AbstractDataset[None, Path]):
    """Loads the (created) folder that holds the tuning studies."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        """Args:
        filepath: The folder (relative paths are made absolute by Kedro).
        metadata: Free-form metadata (kedro-viz layer).
        """
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Path:
        """Create the folder if needed and return it.

        Returns:
            The folder's path.
        """
        self._filepath.mkdir(parents=True, exist_ok=True)
        return self._filepath

    def save(self, data: None) -> None:
        """Refuse: Optuna writes the studies itself.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(f"{self._filepath} holds Optuna studies; it is not saved")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
