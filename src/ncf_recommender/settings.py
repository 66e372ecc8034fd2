"""Project settings: hooks and configuration loading (wiring only)."""

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.hooks import ModelSelectionHooks, SourceFileHooks, SparkHooks
from ncf_recommender.pipelines.tuning.hooks import TuningHooks
from ncf_recommender.tracking.hooks import ExperimentTrackingHook

HOOKS = (
    ModelSelectionHooks(),
    TuningHooks(),
    SourceFileHooks(),
    SparkHooks(),
    ExperimentTrackingHook(),
)
# ExperimentTrackingHook is kedro-mlflow's hook for this project: not the plugin's own.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

# Every environment reads and writes under its own data folder (data/<env>/...):
# the loader fills ``globals:env`` and ``globals:data_root`` that the catalog uses.
CONFIG_LOADER_CLASS = EnvironmentConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/spark.yml: settings of the SparkSession that SparkHooks starts.
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
}
