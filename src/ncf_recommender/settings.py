"""Project settings: hooks and configuration loading (wiring only)."""

from ncf_recommender.hooks import ModelSelectionHooks, SourceFileHooks

HOOKS = (ModelSelectionHooks(), SourceFileHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
