"""Configuration loading: every environment keeps its artifacts in its own data folder.

:class:`EnvironmentConfigLoader` is Kedro's ``OmegaConfigLoader`` with two
globals filled in from the run's environment, so the catalog can say where an
environment's files live once, for every dataset::

    interactions:
      type: pandas.ParquetDataset
      filepath: ${globals:data_root}/03_primary/interactions.parquet

- ``globals:env``: the data environment's name: the ``--env`` given, or
  :data:`DEFAULT_DATA_ENV` for a run without one (Kedro's ``local``).
- ``globals:data_root``: ``data/<env>``, unless a ``globals.yml`` of the
  environment (or ``conf/local``) sets ``data_root`` itself, e.g. to a bigger disk.

A run in one environment therefore never reads or writes another's files.

It also mends how ``--params`` reach the parameters of an environment that has
parameter files of its own. Kedro merges the runtime parameters into the base
folder's parameters and again into the environment's, then lets every top-level
group of the environment replace the base group whole: ``--params
training.seed=3`` in ``--env amazon-grocery`` thus left a ``training`` group of
one key, and every other training setting fell back to its code default instead
of ``conf/base``. Here the runtime parameters are merged once, key by key, into
the already merged base + environment parameters.
"""

from __future__ import annotations

from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf

#: Data folder name of a run without ``--env`` (Kedro's ``local`` over ``base``).
DEFAULT_DATA_ENV = "default"

#: Folder holding every environment's data folder, relative to the project root.
DATA_FOLDER = "data"


def data_env_name(env: str | None, *, default_run_env: str = "local") -> str:
    """The data folder name of a configuration environment.

    Args:
        env: The ``--env`` given (``None`` for none).
        default_run_env: Kedro's environment for a run without ``--env``.

    Returns:
        ``env``, or :data:`DEFAULT_DATA_ENV` for the default run environment.
    """
    if env is None or env in {default_run_env, "base"}:
        return DEFAULT_DATA_ENV
    return env


class EnvironmentConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose globals name the environment and its data root."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Load the configuration as Kedro does, then add the environment globals.

        Args:
            *args: Passed to ``OmegaConfigLoader``.
            **kwargs: Passed to ``OmegaConfigLoader``.
        """
        super().__init__(*args, **kwargs)
        name = data_env_name(self.env, default_run_env=self.default_run_env)
        declared = dict(self._globals or {})
        self["globals"] = {
            "env": name,
            "data_root": f"{DATA_FOLDER}/{name}",
            **declared,
        }

    def __getitem__(self, key: str) -> Any:
        """The configuration for ``key``; parameters with ``--params`` merged last.

        Args:
            key: Configuration kind (``catalog``, ``parameters``, ...).

        Returns:
            The merged configuration.
        """
        config = super().__getitem__(key)
        if key != "parameters" or not self.runtime_params:
            return config
        merged = OmegaConf.unsafe_merge(
            OmegaConf.create(config), OmegaConf.create(dict(self.runtime_params))
        )
        return OmegaConf.to_container(merged, resolve=True)

    def _merge_and_resolve(self, key: str, config_per_file: dict[Any, Any]) -> Any:
        """Merge one folder's files; parameters without the runtime ones (see above)."""
        if key != "parameters":
            return super()._merge_and_resolve(key, config_per_file)
        files = list(config_per_file.values())
        if not files:
            return {}
        return OmegaConf.to_container(OmegaConf.unsafe_merge(*files), resolve=True)
