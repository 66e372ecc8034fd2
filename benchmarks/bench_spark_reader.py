"""Benchmark: reading a 2014-format ratings CSV into Spark, two ways, and pandas.

Times reader + ``validate_schema`` (forced with a count of ``raw_ratings``) on one
generated file, in one process and one ``local[2]`` SparkSession:

* ``SparkDelimitedRatingsDataset`` (lines split in Spark with the pandas reader's
  rules, rejected rows counted): the ``amazon-2014`` Spark reader;
* ``spark.SparkDataset`` CSV with a string schema (PERMISSIVE: short rows nulled,
  extra fields dropped, nothing counted): the previous reader, as the reference;
* pandas ``DelimitedRatingsDataset`` + ``validate_schema``, for scale.

Usage::

    .venv/bin/python benchmarks/bench_spark_reader.py --n-ratings 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from kedro_datasets.spark import SparkDataset

from ncf_recommender.data.generator import generate_ratings, write_ratings_csv
from ncf_recommender.pipelines.data_processing.nodes import validate_schema
from ncf_recommender.pipelines.data_processing.params import SourceParams
from ncf_recommender.readers import DelimitedRatingsDataset
from ncf_recommender.spark.nodes import spark_validate_schema
from ncf_recommender.spark.readers import SparkDelimitedRatingsDataset
from ncf_recommender.spark.session import start_session

PARAMS = SourceParams(
    columns={
        "user_id": "user",
        "item_id": "item",
        "rating": "rating",
        "timestamp": "timestamp",
    }
)
NAMES = ["user", "item", "rating", "timestamp"]


def _best(run, repeats: int) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        rows = run()
        best = min(best, time.perf_counter() - start)
    return best, rows


def main() -> None:
    """Generate the file, time the three readers, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ratings", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    spark = start_session(
        {
            "spark.master": "local[2]",
            "spark.driver.memory": "2g",
            "spark.sql.shuffle.partitions": "4",
            "spark.ui.enabled": "false",
            "spark.pyspark.python": sys.executable,
        },
        app_name="bench-spark-reader",
    )
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "ratings.csv")
        write_ratings_csv(generate_ratings(n_ratings=args.n_ratings, seed=42), path)

        def spark_twin() -> int:
            source = SparkDelimitedRatingsDataset(
                filepath=path, header=False, column_names=NAMES
            ).load()
            return spark_validate_schema(source, PARAMS)[1].count()

        def spark_csv() -> int:
            source = SparkDataset(
                filepath=path,
                file_format="csv",
                load_args={
                    "header": False,
                    "schema": ", ".join(f"{name} STRING" for name in NAMES),
                },
            ).load()
            return spark_validate_schema(source, PARAMS)[1].count()

        def pandas_reader() -> int:
            source = DelimitedRatingsDataset(
                filepath=path, header=False, column_names=NAMES
            ).load()
            return len(validate_schema(source, PARAMS)[0])

        timings = {
            name: _best(run, args.repeats)
            for name, run in (
                ("spark SparkDelimitedRatingsDataset", spark_twin),
                ("spark SparkDataset csv (reference)", spark_csv),
                ("pandas DelimitedRatingsDataset", pandas_reader),
            )
        }
    spark.stop()
    reference = timings["spark SparkDataset csv (reference)"][0]
    print(
        f"{args.n_ratings:,} ratings, best of {args.repeats}, reader + validate_schema"
    )
    for name, (wall, rows) in timings.items():
        print(f"{name:38s} {wall:7.2f} s  rows {rows:,}  x{wall / reference:.2f}")


if __name__ == "__main__":
    main()
