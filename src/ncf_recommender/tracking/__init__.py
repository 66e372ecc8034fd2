"""Experiment tracking with MLflow through kedro-mlflow (see ``conf/base/mlflow.yml``).

:mod:`~ncf_recommender.tracking.records` turns pipeline outputs into what is
logged (plain functions); :mod:`~ncf_recommender.tracking.hooks` is the Kedro
hook registered in ``settings.py`` that logs it.
"""

from __future__ import annotations

import os

# The project sends no usage data (Kedro's .telemetry says consent: false); MLflow 3
# has its own telemetry, off with this documented variable unless the user set it.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
