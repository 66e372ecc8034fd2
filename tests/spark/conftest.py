"""Fixtures of the Spark tests: one local[2] SparkSession for the whole session."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("pyspark")

from pyspark.sql import SparkSession

from ncf_recommender.spark.session import start_session

#: Settings of the test session: two local cores, few shuffle partitions.
TEST_SPARK_SETTINGS = {
    "spark.master": "local[2]",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.pyspark.python": sys.executable,
}


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A ``local[2]`` SparkSession, stopped at the end of the test session."""
    session = start_session(TEST_SPARK_SETTINGS, app_name="ncf-recommender-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
