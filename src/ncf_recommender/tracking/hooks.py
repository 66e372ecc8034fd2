"""The MLflow hook: every ``kedro run`` is one MLflow run, in its environment's experiment.

:class:`ExperimentTrackingHook` is kedro-mlflow's ``MlflowHook`` (configured by
``conf/<env>/mlflow.yml``; the plugin's own auto-registered instance is
disabled in ``settings.py``) with four changes:

* nothing happens unless a pipeline runs, and nothing at all with the
  ``tracking.enabled`` parameter false: no store, no experiment, no run. (The
  plugin sets MLflow up as soon as a context exists, so serving, ``kedro viz``
  or ``kedro ipython`` would create a store.)
* the default store is the project's ``mlruns/mlflow.db`` (SQLite; MLflow 3
  refuses the plugin's default file store) with artifacts under
  ``mlruns/artifacts/<experiment>``, used when neither ``mlflow.yml``
  (``conf/local`` included) nor ``MLFLOW_TRACKING_URI`` names one (a SQLite
  store named there keeps its artifacts beside its database file);
* every parameter is logged once, flattened, at the start of the run, instead
  of the inputs of each node as it runs;
* what the pipeline produces is logged as it is produced: per-epoch step
  metrics from ``<model>_training_history``, final metrics from every
  ``<name>_metrics`` entry, the saved ``.keras`` models and plots as artifacts,
  and at the end the git commit and the data fingerprint of the split.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.tensorflow import TensorFlowModelDataset
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from kedro_mlflow.framework.hooks.utils import _flatten_dict
from mlflow.entities import Metric, Param, RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH
from pydantic import BaseModel, ConfigDict

from ncf_recommender.tracking.records import (
    SPLITS,
    entry_metrics,
    git_state,
    history_metrics,
    plain_parameters,
    split_fingerprint,
)

logger = logging.getLogger(__name__)

#: Parameter group of the switches (``conf/base/parameters_tracking.yml``).
PARAMS_KEY = "tracking"
#: The local store, relative to the project root (git-ignored).
LOCAL_STORE = "mlruns"
#: SQLite file of the local store, inside :data:`LOCAL_STORE`.
LOCAL_DATABASE = "mlflow.db"
_HISTORY_SUFFIX = "_training_history"
_METRICS_SUFFIX = "_metrics"
_BATCH = 500


class TrackingParams(BaseModel):
    """The ``tracking`` parameters.

    Attributes:
        enabled: False: the run writes nothing to MLflow.
        log_models: False: the ``.keras`` models are not copied into the store
            (they are large at full scale); plots still are.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    log_models: bool = True


def local_store_config(
    conf: dict[str, Any],
    project_path: Path,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``mlflow.yml`` with the project's local store filled in where none is named.

    Args:
        conf: The ``mlflow`` configuration as loaded (may be empty).
        project_path: The project root.
        environ: Environment variables (default: ``os.environ``).

    Returns:
        A copy of ``conf``. When neither ``server.mlflow_tracking_uri`` nor
        ``MLFLOW_TRACKING_URI`` names a store, the tracking URI is
        ``sqlite:///<project>/mlruns/mlflow.db``. For that store, and for any
        other SQLite file given by absolute path, a new experiment's artifacts go
        to ``artifacts/<experiment>`` beside the database (MLflow's default would
        be ``./mlruns`` in whatever folder the run started from), unless
        ``artifact_location`` is set.
    """
    environ = os.environ if environ is None else environ
    server = dict(conf.get("server") or {})
    uri = server.get("mlflow_tracking_uri") or environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store = Path(project_path).resolve() / LOCAL_STORE
        store.mkdir(parents=True, exist_ok=True)
        database = store / LOCAL_DATABASE
        server["mlflow_tracking_uri"] = f"sqlite:///{database.as_posix()}"
    elif uri.startswith("sqlite:////"):
        database = Path(uri.removeprefix("sqlite:///"))
    else:
        return dict(conf)
    tracking = dict(conf.get("tracking") or {})
    experiment = dict(tracking.get("experiment") or {})
    create = dict(experiment.get("create_experiment_kwargs") or {})
    if not create.get("artifact_location"):
        name = str(experiment.get("name") or "default")
        create["artifact_location"] = (database.parent / "artifacts" / name).as_uri()
    experiment["create_experiment_kwargs"] = create
    tracking["experiment"] = experiment
    return {**conf, "server": server, "tracking": tracking}


def _saved_file(dataset: AbstractDataset) -> Path | None:
    """The local file a dataset has just saved (its save version), if any."""
    version = getattr(dataset, "_version", None)
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return None
    path = (
        dataset._get_versioned_path(dataset.resolve_save_version())  # type: ignore[attr-defined]
        if version
        else filepath
    )
    local = Path(str(path))
    return local if local.is_file() else None


class ExperimentTrackingHook(MlflowHook):
    """kedro-mlflow's hook, switched by ``tracking.enabled``, logging this project's results."""

    def __init__(self) -> None:
        """Start with tracking off until a pipeline run is set up."""
        super().__init__()
        self._is_mlflow_enabled = False
        self._context: Any = None
        self._settings = TrackingParams()
        self._catalog: Any = None
        self._splits: dict[str, Any] = {}
        self._opened: set[str] = set()

    @property
    def _client(self) -> MlflowClient:
        return self.mlflow_config.server._mlflow_client

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Keep the context; MLflow is set up only when a pipeline runs."""
        self._context = context
        self._is_mlflow_enabled = False
        self.run_id = None

    @hook_impl
    def after_catalog_created(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: the project's catalog holds no kedro-mlflow dataset."""

    @hook_impl(trylast=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Open the run in the environment's experiment; log parameters and git commit.

        Runs after the other hooks' checks (``trylast``), so a run they stop opens
        no MLflow run.
        """
        self._is_mlflow_enabled = False
        self.run_id = None
        self._splits = {}
        context = self._context
        params = context.params if context is not None else {}
        self._settings = TrackingParams.model_validate(params.get(PARAMS_KEY) or {})
        if not self._settings.enabled:
            logger.info("MLflow tracking is off (parameter %s.enabled)", PARAMS_KEY)
            return
        loader = context.config_loader
        if "mlflow" not in loader.config_patterns:
            loader.config_patterns.update(
                {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]}
            )
        try:
            conf = loader["mlflow"]
        except MissingConfigException:
            conf = {}
        loader["mlflow"] = local_store_config(conf, Path(context.project_path))
        self._close_unfinished_runs()
        super().after_context_created(context)
        super().before_pipeline_run(run_params, pipeline, catalog)
        if self.run_id is None:  # the pipeline is in disable_tracking.pipelines
            return
        if not self._already_active_mlflow:
            self._opened.add(self.run_id)
        self._catalog = catalog
        mlflow.set_tags(git_state(Path(context.project_path)))
        self._log_parameters(params)
        logger.info(
            "MLflow run %s in experiment %r at %s",
            self.run_id,
            self.mlflow_config.tracking.experiment.name,
            self.mlflow_config.server.mlflow_tracking_uri,
        )

    def _log_parameters(self, params: dict[str, Any]) -> None:
        """Every parameter, flattened (``training.epochs``), in batches."""
        dict_params = self.mlflow_config.tracking.params.dict_params
        params = plain_parameters(params)
        flat = (
            _flatten_dict(params, recursive=dict_params.recursive, sep=dict_params.sep)
            if dict_params.flatten
            else dict(params)
        )
        batch: list[Param] = []
        for name, value in flat.items():
            key = self.sanitize_param_name(name)
            if len(str(value)) > MAX_PARAM_VAL_LENGTH:
                self._log_param(key, value)  # the configured long_params_strategy
            else:
                batch.append(Param(key, str(value)))
        for start in range(0, len(batch), 100):  # MLflow's limit per batch
            self._client.log_batch(self.run_id, params=batch[start : start + 100])

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: Any, inputs: dict[str, Any], is_async: bool
    ) -> None:
        """Reopen the run in the node's thread; parameters were logged at the start."""
        if self._is_mlflow_enabled:
            super().before_node_run(node, catalog, {}, is_async)

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Node) -> None:
        """Fingerprint a split the run reads."""
        self._see_split(dataset_name, data)

    @hook_impl
    def after_node_run(
        self, node: Node, catalog: Any, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> None:
        """Log training histories and metric entries as the nodes produce them."""
        if not self._is_mlflow_enabled:
            return
        for name, data in outputs.items():
            self._see_split(name, data)
            if name.endswith(_HISTORY_SUFFIX):
                try:
                    records = history_metrics(name.removesuffix(_HISTORY_SUFFIX), data)
                except KeyError as error:  # tracking never stops a training run
                    logger.warning("MLflow: %s; its epochs are not logged", error)
                    continue
                self._log_metrics([Metric(k, v, 0, step) for k, v, step in records])
            elif name.endswith(_METRICS_SUFFIX) and isinstance(data, dict):
                if "full" in data and "sampled" in data:
                    final = entry_metrics(name.removesuffix(_METRICS_SUFFIX), data)
                    self._log_metrics([Metric(k, v, 0, 0) for k, v in final.items()])

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Copy a saved ``.keras`` model or plot into the run's artifacts."""
        if not self._is_mlflow_enabled or self._catalog is None:
            return
        dataset = self._catalog.get(dataset_name)
        if isinstance(dataset, TensorFlowModelDataset):
            if not self._settings.log_models:
                return
            folder = "models"
        elif isinstance(dataset, MatplotlibDataset):
            folder = "plots"
        else:
            return
        path = _saved_file(dataset)
        if path is None:
            logger.warning("MLflow: no local file for %s; not logged", dataset_name)
            return
        self._client.log_artifact(self.run_id, str(path), artifact_path=folder)

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Log the data fingerprint, then close the run."""
        if not self._is_mlflow_enabled:
            return
        try:
            fingerprint = split_fingerprint(self._splits)
        except KeyError as error:
            logger.info("MLflow: no data fingerprint (%s)", error)
        else:
            self._client.log_batch(
                self.run_id,
                params=[Param(f"data.{k}", str(v)) for k, v in fingerprint.items()],
            )
            self._client.log_dict(self.run_id, fingerprint, "data_fingerprint.json")
        self._splits = {}
        super().after_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def on_pipeline_error(
        self,
        error: Exception,
        run_params: dict[str, Any],
        pipeline: Pipeline,
        catalog: Any,
    ) -> None:
        """Mark the run failed."""
        self._splits = {}
        if self._is_mlflow_enabled:
            super().on_pipeline_error(error, run_params, pipeline, catalog)

    def _close_unfinished_runs(self) -> None:
        """End, as failed, a run this hook opened for a pipeline that never finished.

        Kedro calls no ``on_pipeline_error`` for an error raised in a
        ``before_pipeline_run`` or ``after_pipeline_run`` hook, so such a run
        stays open; without this the next session in the same process would log
        into it, which kedro-mlflow takes for a run opened by an orchestrator. A
        run opened by anything else is left alone.
        """
        active = mlflow.active_run()
        while active is not None and active.info.run_id in self._opened:
            logger.warning(
                "MLflow run %s of a pipeline that did not finish is ended as FAILED",
                active.info.run_id,
            )
            mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
            active = mlflow.active_run()

    def _see_split(self, name: str, data: Any) -> None:
        if self._is_mlflow_enabled and name in SPLITS and name not in self._splits:
            self._splits[name] = data

    def _log_metrics(self, metrics: list[Metric]) -> None:
        """Log metrics in batches, stamped now."""
        stamp = int(time.time() * 1000)
        stamped = [Metric(m.key, m.value, stamp, m.step) for m in metrics]
        for start in range(0, len(stamped), _BATCH):
            self._client.log_batch(self.run_id, metrics=stamped[start : start + _BATCH])


__all__ = ["ExperimentTrackingHook", "TrackingParams", "local_store_config"]
