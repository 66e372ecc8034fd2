"""Versioned kedro-datasets whose saves a crash cannot leave half-written.

kedro-datasets writes a versioned file straight to its final name
(``<filepath>/<version>/<name>``), and "load latest" picks the newest version
folder in which that name exists. A kill, a full disk or a serialiser error in
the middle of a save therefore leaves a truncated file that the next load
takes for the latest version.

The classes here are the kedro-datasets classes with one change: a save on the
local filesystem writes to a temporary name in the same folder
(``<stem>.partial-<token><suffix>``), flushes it to disk and only then
``os.replace``-s it to the final name, which is atomic on POSIX and Windows.
The final name therefore exists only when complete, so Kedro's own "latest"
(the newest folder holding the final name) never picks an interrupted save. A
save that raises removes its temporary file; one that was killed leaves it
behind, and loading the latest version names such folders in a warning
(:data:`logger`, ``ncf_recommender.atomic``) and loads the newest complete
version. Remote filesystems (``s3://``, ``gs://``...) are written as before:
their objects only appear once the upload completes.

Point a catalog entry at a class here by its ``type:`` only; every other
argument is the kedro-datasets class's::

    gmf_model:
      type: ncf_recommender.atomic.TensorFlowModelDataset
      filepath: data/06_models/gmf_model.keras
      versioned: true
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.pickle import PickleDataset as _PickleDataset

logger = logging.getLogger(__name__)

#: Marks the temporary name of a save in progress (``<stem>.partial-<token><suffix>``).
PARTIAL_MARK = ".partial-"

_LOCAL_PROTOCOLS = frozenset({"file", "local", None, ""})


def partial_name(final: PurePosixPath) -> PurePosixPath:
    """The temporary sibling a save writes before renaming it to ``final``.

    Args:
        final: The final path.

    Returns:
        ``<stem>.partial-<random hex><suffix>`` in the same folder (the suffix
        is kept for writers that infer the format from it).
    """
    return final.with_name(
        f"{final.stem}{PARTIAL_MARK}{uuid.uuid4().hex[:12]}{final.suffix}"
    )


def _fsync(path: Path) -> None:
    """Flush a written file (or a folder's files) to disk before the rename."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        with file.open("rb") as handle:
            os.fsync(handle.fileno())


def _remove(path: Path) -> None:
    """Remove a leftover temporary file or folder, if any."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


class AtomicSaveMixin:
    """Atomic local saves and skipped, reported, incomplete versions.

    Mixed in before a kedro-datasets class that writes through
    ``self._get_save_path()`` (every file-based dataset does). While a save
    runs, ``_get_save_path`` returns the temporary sibling of the real path;
    the save then renames it into place.
    """

    _atomic_pending: tuple[PurePosixPath, PurePosixPath] | None = None

    def _is_local(self) -> bool:
        return getattr(self, "_protocol", "file") in _LOCAL_PROTOCOLS

    def _get_save_path(self) -> PurePosixPath:
        final = super()._get_save_path()  # type: ignore[misc]  (refuses existing versions)
        if not self._is_local():
            return final
        temporary = partial_name(final)
        self._atomic_pending = (temporary, final)
        return temporary

    def save(self, data: Any) -> None:
        """Write to a temporary name in the target folder, then rename it into place.

        Args:
            data: What the wrapped dataset class saves.

        Raises:
            DatasetError: If the wrapped save fails (its temporary file is
                removed, the final name never appears).
        """
        self._atomic_pending = None
        parent_save = super().save  # type: ignore[misc]
        # The parent's save is already wrapped by Kedro (logging, versioning);
        # this class's save is wrapped the same way, so call the bare one.
        unwrapped = getattr(parent_save, "__wrapped__", None)
        try:
            if unwrapped is not None:
                unwrapped(self, data)
            else:  # pragma: no cover  (every Kedro dataset save is wrapped)
                parent_save(data)
        except BaseException:
            if self._atomic_pending is not None:
                _remove(Path(str(self._atomic_pending[0])))
            self._atomic_pending = None
            raise
        if self._atomic_pending is None:
            return
        temporary, final = (Path(str(p)) for p in self._atomic_pending)
        self._atomic_pending = None
        _fsync(temporary)
        os.replace(temporary, final)
        invalidate = getattr(self, "_invalidate_cache", None)
        if invalidate is not None:
            invalidate()

    def incomplete_versions(self) -> list[str]:
        """Version folders that hold no complete file (an interrupted save).

        Returns:
            Their paths, newest first (empty when unversioned or remote).
        """
        if not getattr(self, "_version", None) or not self._is_local():
            return []
        filepath = Path(str(self._filepath))  # type: ignore[attr-defined]
        if not filepath.is_dir():
            return []
        return sorted(
            (
                str(folder)
                for folder in filepath.iterdir()
                if folder.is_dir() and not (folder / filepath.name).exists()
            ),
            reverse=True,
        )

    def _fetch_latest_load_version(self) -> str:
        if getattr(self, "_cached_load_version", None) is not None:
            return super()._fetch_latest_load_version()  # type: ignore[misc]
        incomplete = self.incomplete_versions()
        try:
            version = super()._fetch_latest_load_version()  # type: ignore[misc]
        except Exception:
            for folder in incomplete:
                logger.warning(
                    "Skipping incomplete version folder %s: no complete %s "
                    "(a save was interrupted); there is no complete version.",
                    folder,
                    Path(folder).parent.name,
                )
            raise
        for folder in incomplete:
            if Path(folder).name > version:
                logger.warning(
                    "Skipping incomplete version folder %s: no complete %s (a save "
                    "was interrupted); loading the latest complete version %s.",
                    folder,
                    Path(folder).parent.name,
                    version,
                )
        return version


class ParquetDataset(AtomicSaveMixin, _ParquetDataset):
    """``pandas.ParquetDataset`` with atomic saves (see :mod:`ncf_recommender.atomic`)."""


class CSVDataset(AtomicSaveMixin, _CSVDataset):
    """``pandas.CSVDataset`` with atomic saves (see :mod:`ncf_recommender.atomic`)."""


class JSONDataset(AtomicSaveMixin, _JSONDataset):
    """``json.JSONDataset`` with atomic saves (see :mod:`ncf_recommender.atomic`)."""


class MatplotlibDataset(AtomicSaveMixin, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` with atomic saves (see :mod:`ncf_recommender.atomic`)."""


class PickleDataset(AtomicSaveMixin, _PickleDataset):
    """``pickle.PickleDataset`` with atomic saves (see :mod:`ncf_recommender.atomic`)."""


def _tensorflow_model_dataset() -> type:
    """Build :class:`TensorFlowModelDataset` on first use (it imports TensorFlow)."""
    from kedro_datasets.tensorflow import (  # noqa: PLC0415
        TensorFlowModelDataset as _TensorFlowModelDataset,
    )

    class TensorFlowModelDataset(AtomicSaveMixin, _TensorFlowModelDataset):
        """``tensorflow.TensorFlowModelDataset`` with atomic saves.

        kedro-datasets writes the model to a local temporary folder, then copies
        it to the target; here the copy goes to a temporary name beside the
        target and is renamed into place once complete.
        """

    TensorFlowModelDataset.__module__ = __name__
    TensorFlowModelDataset.__qualname__ = "TensorFlowModelDataset"
    return TensorFlowModelDataset


def __getattr__(name: str) -> Any:
    """``TensorFlowModelDataset`` is built lazily, so the other classes do not import TensorFlow."""
    if name == "TensorFlowModelDataset":
        cls = _tensorflow_model_dataset()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
