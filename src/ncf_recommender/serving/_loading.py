"""Loading a :class:`Recommender` from a Kedro project's catalog and parameters.

Artifacts (the model, the id mappings, ``interactions`` and ``ranking_metrics``)
come through a small :class:`ArtifactStore` interface, so tests can hand in any
catalog. Only :func:`open_project` imports Kedro, lazily.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ncf_recommender.evaluation import Scorer
from ncf_recommender.lineage import check_lineage
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._items import ITEM_METADATA_DATASET, CataloguedMetadata
from ncf_recommender.serving._online import Recommender
from ncf_recommender.serving._ranking import Retrieval
from ncf_recommender.serving._registry import _MODEL_TYPES, get_model_type
from ncf_recommender.serving._selection import select_best_model
from ncf_recommender.serving._settings import (
    AUTO,
    RecommendationSettings,
    RetrievalSettings,
)

logger = logging.getLogger(__name__)


#: Environment variable naming the Kedro project to serve (default: the cwd).
PROJECT_PATH_ENV = "NCF_PROJECT_PATH"


#: Environment variable naming the Kedro configuration environment (optional).
KEDRO_ENV_ENV = "NCF_KEDRO_ENV"


INTERACTIONS_DATASET = "interactions"


USER_MAPPING_DATASET = "user_mapping"


ITEM_MAPPING_DATASET = "item_mapping"


METRICS_DATASET = "ranking_metrics"


class ArtifactStore(Protocol):
    """Where the recommender loads its artifacts from (a Kedro catalog, in practice)."""

    def exists(self, name: str) -> bool:
        """Whether the dataset is declared and has data."""
        ...

    def resolve_version(self, name: str, version: str | None = None) -> str | None:
        """The version a load would read (``None`` for unversioned datasets)."""
        ...

    def load(self, name: str, version: str | None = None) -> Any:
        """Load a dataset, optionally at a given version."""
        ...


class CatalogStore:
    """:class:`ArtifactStore` over a Kedro ``DataCatalog`` (or anything alike)."""

    def __init__(self, catalog: Any) -> None:
        """Wrap a catalog.

        Args:
            catalog: A ``kedro.io.DataCatalog``.
        """
        self.catalog = catalog

    def exists(self, name: str) -> bool:
        """Whether ``name`` is in the catalog and has data.

        Args:
            name: Dataset name.

        Returns:
            True when it can be loaded.
        """
        return name in self.catalog and bool(self.catalog.exists(name))

    def resolve_version(self, name: str, version: str | None = None) -> str | None:
        """The version that loading ``name`` (at ``version``) reads.

        Args:
            name: Dataset name.
            version: A pinned version, or ``None`` for the latest.

        Returns:
            The version timestamp, or ``None`` if the dataset is not versioned.

        Raises:
            ValueError: If the dataset is not in the catalog.
        """
        from kedro.io.core import Version  # noqa: PLC0415

        dataset = self.catalog.get(
            name, version=Version(version, None) if version else None
        )
        if dataset is None:
            raise ValueError(f"dataset {name!r} is not in the catalog")
        resolve = getattr(dataset, "resolve_load_version", None)
        return resolve() if resolve is not None else None

    def load(self, name: str, version: str | None = None) -> Any:
        """Load ``name``.

        Args:
            name: Dataset name.
            version: Version to load, or ``None`` for the latest.

        Returns:
            The data.
        """
        return self.catalog.load(name, version=version)


def resolve_project_path(project_path: str | Path | None = None) -> Path:
    """The project to serve: the argument, else ``$NCF_PROJECT_PATH``, else the cwd.

    Args:
        project_path: Explicit project path.

    Returns:
        Absolute path.
    """
    chosen = project_path or os.environ.get(PROJECT_PATH_ENV) or Path.cwd()
    return Path(chosen).expanduser().resolve()


def open_project(
    project_path: str | Path | None = None, env: str | None = None
) -> tuple[CatalogStore, dict[str, Any]]:
    """The catalog and parameters of a Kedro project (the only Kedro use here).

    The catalog is built from the project's configuration with
    ``DataCatalog.from_config``, relative paths resolved against the project
    root, as ``KedroContext.catalog`` does, but without importing and validating
    every registered pipeline (serving runs none of them); the ``recommendation``
    and ``serving`` parameter groups are validated by their Pydantic models.

    Args:
        project_path: Project root (see :func:`resolve_project_path`).
        env: Kedro configuration environment (default: ``$NCF_KEDRO_ENV``, else
            the project's default).

    Returns:
        ``(store, parameters)``.
    """
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from kedro.io import DataCatalog  # noqa: PLC0415

    path = resolve_project_path(project_path)
    bootstrap_project(path)
    env = env or os.environ.get(KEDRO_ENV_ENV) or None
    with KedroSession.create(project_path=path, env=env) as session:
        config = session.load_context().config_loader
        catalog_config = _absolute_paths(dict(config["catalog"]), path)
        try:
            credentials = dict(config["credentials"])
        except Exception:  # a project without credentials files
            credentials = {}
        params = dict(config["parameters"])
    catalog = DataCatalog.from_config(catalog_config, credentials)
    return CatalogStore(catalog), params


_PATH_KEYS = ("filepath", "path", "filename")


def _absolute_paths(config: dict[str, Any], root: Path) -> dict[str, Any]:
    """Catalog configuration with relative local paths made absolute under ``root``."""
    resolved: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            resolved[key] = _absolute_paths(value, root)
        elif (
            key in _PATH_KEYS
            and isinstance(value, str)
            and "://" not in value
            and not Path(value).is_absolute()
        ):
            resolved[key] = (root / value).as_posix()
        else:
            resolved[key] = value
    return resolved


def _metrics_for(
    store: ArtifactStore, model: str, model_version: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The model's entry of ``ranking_metrics`` from the model's own run if possible."""
    if not store.exists(METRICS_DATASET):
        return None, None
    version = None
    if model_version is not None:
        try:
            version = store.resolve_version(METRICS_DATASET, model_version)
            metrics = store.load(METRICS_DATASET, version)
        except Exception:  # no metrics saved by that run
            version = None
    if version is None:
        version = store.resolve_version(METRICS_DATASET)
        metrics = store.load(METRICS_DATASET, version)
    entry = metrics.get(model) if isinstance(metrics, Mapping) else None
    return (dict(entry) if isinstance(entry, Mapping) else None), version


def choose_model(
    store: ArtifactStore, settings: RecommendationSettings, model: str | None = None
) -> tuple[str, str]:
    """Which model type to serve.

    Args:
        store: Artifact store.
        settings: Recommendation settings.
        model: Explicit choice overriding ``settings.model``.

    Returns:
        ``(model type, how it was chosen)``.

    Raises:
        ValueError: If ``auto`` finds no metrics or no saved candidate model.
    """
    if model is not None and model != AUTO:
        return get_model_type(model).name, "request"
    if model is None and settings.model != AUTO:
        return get_model_type(settings.model).name, "parameter recommendation.model"
    if not store.exists(METRICS_DATASET):
        raise ValueError(
            f"model {AUTO!r} picks the best model in {METRICS_DATASET!r}, which has no "
            "saved version; run the modelling pipeline or set recommendation.model"
        )
    candidates = [t.name for t in _MODEL_TYPES.values() if store.exists(t.dataset)]
    metrics = store.load(METRICS_DATASET, store.resolve_version(METRICS_DATASET))
    name, key = select_best_model(metrics, candidates, settings.selection_metric)
    return (
        name,
        f"best {key} among {sorted(candidates)} in the latest {METRICS_DATASET}",
    )


def build_recommender(
    store: ArtifactStore,
    settings: RecommendationSettings | Mapping[str, Any] | None = None,
    model: str | None = None,
    version: str | None = None,
) -> Recommender:
    """Load a model and the mappings from a store and build a :class:`Recommender`.

    Args:
        store: Artifact store (e.g. ``CatalogStore(catalog)``).
        settings: The ``recommendation`` parameters.
        model: Model type overriding the settings (``auto`` allowed).
        version: Model version to load (default: the latest).

    Returns:
        The recommender.

    Raises:
        ValueError: On an unknown model, a model with no saved version, or
            artifacts that do not fit together.
    """
    settings = RecommendationSettings.model_validate(settings or {})
    name, selected_by = choose_model(store, settings, model)
    model_type = get_model_type(name)
    if version is None and not store.exists(model_type.dataset):
        raise ValueError(
            f"no saved {model_type.dataset!r}: run the modelling pipeline first "
            "(kedro run) or choose another model"
        )
    model_version = store.resolve_version(model_type.dataset, version)
    model_type.import_loader_modules()
    try:
        loaded = store.load(model_type.dataset, model_version)
    except Exception as error:
        if version is None:
            raise
        raise ValueError(
            f"cannot load {model_type.dataset!r} version {version!r}: {error}"
        ) from error
    user_mapping = store.load(USER_MAPPING_DATASET)
    item_mapping = store.load(ITEM_MAPPING_DATASET)
    _check_model_lineage(
        store, model_type.dataset, model_version, user_mapping, item_mapping
    )
    data = ServingData.from_frames(
        store.load(INTERACTIONS_DATASET),
        user_mapping,
        item_mapping,
        settings.scoring_batch_size,
    )
    scorer = model_type.scorer_factory(loaded, data)
    _probe_fit(scorer, data, model_type.name)
    retrieval = None
    if (
        not model_type.exact_always
        and name != settings.retrieval.model
        and data.n_items > settings.retrieval.exact_max_items
    ):
        retrieval = load_retrieval(store, settings.retrieval, data, model_version)
    elif model_type.ranking_factory is not None:
        ranking = model_type.ranking_scorer(loaded, data)
        retrieval = Retrieval(ranking, name, model_version, 1, exact=True)
    metrics, metrics_version = _metrics_for(store, name, model_version)
    item_metadata = load_item_metadata(store, data)
    logger.info("serving %s version %s (%s)", name, model_version, selected_by)
    return Recommender(
        scorer,
        data,
        model_type,
        model_version=model_version,
        cold_start=settings.cold_start,
        metrics=metrics,
        metrics_version=metrics_version,
        selected_by=selected_by,
        retrieval=retrieval,
        item_metadata=item_metadata,
    )


def load_item_metadata(
    store: ArtifactStore, data: ServingData
) -> CataloguedMetadata | None:
    """The catalogued ``item_metadata`` (latest version), indexed for the served items.

    Args:
        store: Artifact store.
        data: Serving data (the served ``item_mapping``).

    Returns:
        The metadata, or ``None`` when the project has none saved (the
        ``item_metadata`` pipeline runs on request): serving then works without it.

    Raises:
        ValueError: If the table has no ``item_id`` column.
    """
    if not store.exists(ITEM_METADATA_DATASET):
        return None
    version = store.resolve_version(ITEM_METADATA_DATASET)
    frame = store.load(ITEM_METADATA_DATASET, version)
    metadata = CataloguedMetadata.from_frame(frame, data.item_ids, version)
    logger.info(
        "item metadata: %d products, %d of the %d served items (version %s)",
        len(metadata.frame),
        int(metadata.frame.index.isin(data.item_ids).sum()),
        data.n_items,
        version,
    )
    return metadata


def load_retrieval(
    store: ArtifactStore,
    settings: RetrievalSettings,
    data: ServingData,
    version: str | None = None,
) -> Retrieval:
    """Load the retrieval model, from the served model's run when it has one.

    Args:
        store: Artifact store.
        settings: Retrieval settings.
        data: Serving data.
        version: Preferred version (the served model's); the latest otherwise.

    Returns:
        The retrieval.

    Raises:
        ValueError: If the retrieval model has no saved version.
    """
    model_type = get_model_type(settings.model)
    if not store.exists(model_type.dataset):
        raise ValueError(
            f"retrieval needs a saved {model_type.dataset!r} (recommendation.retrieval"
            ".model); train it or raise recommendation.retrieval.exact_max_items"
        )
    model_type.import_loader_modules()
    loaded = None
    if version is not None:
        try:
            loaded = store.load(model_type.dataset, version)
        except Exception:  # that run saved no retrieval model
            loaded = None
    if loaded is None:
        version = store.resolve_version(model_type.dataset)
        loaded = store.load(model_type.dataset, version)
    scorer = model_type.ranking_scorer(loaded, data)
    _probe_fit(scorer, data, model_type.name)
    return Retrieval(scorer, model_type.name, version, settings.candidates)


def _check_model_lineage(
    store: ArtifactStore,
    dataset: str,
    version: str | None,
    user_mapping: Any,
    item_mapping: Any,
) -> None:
    """Refuse a model trained with other id mappings than the ones served.

    The modelling pipeline saves ``<model>_model_info`` with the model's own
    version. A model saved without one (before the record existed, or outside
    the pipeline) is served with a warning: only the size probe checks it.

    Raises:
        LineageError: If the stored fingerprint differs from the mappings'.
    """
    info_name = f"{dataset}_info"
    info = None
    if store.exists(info_name) and version is not None:
        try:
            info = store.load(info_name, version)
        except Exception:  # that run saved no info record
            info = None
    if info is None:
        logger.warning(
            "%s version %s has no %s record: cannot check that it was trained with "
            "the served id mappings",
            dataset,
            version,
            info_name,
        )
        return
    check_lineage(info, user_mapping, item_mapping, model=dataset, version=version)


def _probe_fit(scorer: Scorer, data: ServingData, name: str) -> None:
    """Score the last user against the last item: fails if the model is too small."""
    try:
        scorer.score(np.array([data.n_users - 1]), np.array([[data.n_items - 1]]))
    except Exception as error:
        raise ValueError(
            f"the {name} model cannot score user_idx {data.n_users - 1} / item_idx "
            f"{data.n_items - 1} of the mappings: model and data come from different runs"
        ) from error


def load_recommender(
    model: str | None = None,
    version: str | None = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
) -> Recommender:
    """Build a recommender from a Kedro project's catalog and parameters (no cache).

    Args:
        model: Model type (default: the ``recommendation.model`` parameter).
        version: Model version (default: the latest).
        project_path: Project root (default: ``$NCF_PROJECT_PATH`` or the cwd).
        env: Kedro environment.

    Returns:
        The recommender.
    """
    store, params = open_project(project_path, env)
    return build_recommender(store, params.get("recommendation"), model, version)
