"""Project settings: hooks and configuration loading (wiring only)."""

from ncf_recommender.hooks import SourceFileHooks, SparkHooks

HOOKS = (SourceFileHooks(), SparkHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/spark.yml: settings of the SparkSession that SparkHooks starts.
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
}
