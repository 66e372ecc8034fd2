"""The SparkSession of a run, built from the ``spark`` configuration."""

from __future__ import annotations

import os
import sys
from typing import Any

from pyspark.sql import SparkSession

#: Spark setting that names the cluster manager (``local[*]``, ``spark://host:7077``).
MASTER_KEY = "spark.master"
#: Settings that ``spark-submit`` decides (``--master``, ``--driver-memory``, ...):
#: under ``spark-submit`` they are not taken from ``spark.yml``.
SUBMIT_OWNED = (MASTER_KEY, "spark.driver.memory", "spark.submit.deployMode")


def start_session(settings: dict[str, Any], *, app_name: str) -> SparkSession:
    """Create (or reuse) the SparkSession with ``settings`` from ``spark.yml``.

    Under ``spark-submit`` its own master, deploy mode and driver memory win
    over ``spark.yml``. The Python workers run this interpreter unless
    ``spark.pyspark.python`` (or ``PYSPARK_PYTHON``) is set, so local and
    loopback-cluster runs find the project's packages.

    Args:
        settings: Spark settings, ``{"spark.master": "local[*]", ...}``.
        app_name: Application name shown by the Spark UI and the cluster.

    Returns:
        The active SparkSession.

    Raises:
        ValueError: If ``spark.master`` is missing or empty.
    """
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # launched by spark-submit
        settings = {k: v for k, v in settings.items() if k not in SUBMIT_OWNED}
    elif not settings.get(MASTER_KEY):
        raise ValueError(
            f"The 'spark' configuration (conf/<env>/spark.yml) lacks {MASTER_KEY!r}; "
            "set it to local[*] or a cluster URL such as spark://host:7077"
        )
    python = str(settings.get("spark.pyspark.python", sys.executable))
    # PySpark starts its Python workers with PYSPARK_PYTHON (else "python3" from
    # PATH, outside this virtual environment).
    os.environ.setdefault("PYSPARK_PYTHON", python)
    builder = SparkSession.builder.appName(app_name)
    conf = {"spark.pyspark.python": python, **settings}
    for key, value in conf.items():
        builder = builder.config(
            key, str(value).lower() if isinstance(value, bool) else str(value)
        )
    return builder.getOrCreate()
