"""Every data environment gives the Spark pipelines its own source, never the base one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[2] / "conf"
ENVS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "base")


def _loader(env: str) -> EnvironmentConfigLoader:
    return EnvironmentConfigLoader(str(CONF), env=env, **CONFIG_LOADER_ARGS)


@pytest.mark.parametrize("env", ENVS)
def test_spark_source_reads_the_environments_source(env):
    catalog = _loader(env)["catalog"]
    source, spark_source = catalog["source_ratings"], catalog["spark_source_ratings"]
    if spark_source["type"] == "spark.SparkDataset":
        assert spark_source["filepath"] == source["filepath"]
    elif spark_source["type"].endswith("spark.readers.SparkDelimitedRatingsDataset"):
        # the Spark twin of the pandas reader: the same file, split the same way
        assert source["type"].endswith("readers.DelimitedRatingsDataset")
        for key in ("filepath", "sep", "header", "column_names", "columns"):
            assert spark_source.get(key) == source.get(key), key
    else:
        assert spark_source == source


@pytest.mark.parametrize("env", ENVS)
def test_spark_settings_name_a_master(env):
    settings = _loader(env)["spark"]
    assert settings["spark.master"] == "local[*]"
    assert settings["spark.sql.execution.arrow.pyspark.enabled"] is True
