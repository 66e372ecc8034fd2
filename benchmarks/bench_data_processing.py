"""Benchmark: the data_processing pipeline on generated data at Amazon Electronics 2014 scale.

Runs the real pipeline (kedro SequentialRunner, the project's catalog with every file
redirected to a temporary folder) on the embedded generator configured by an
environment (default `synthetic-full`: 7,824,482 ratings, 4.2M users, 476k items) and
prints generation time, pipeline wall time, rows/s and peak RSS.

    .venv/bin/python benchmarks/bench_data_processing.py [--env synthetic-full]

Target on 2 cores: pipeline under 60 s and under 4 GB peak RSS for the 7.8M rows.
"""

from __future__ import annotations

import argparse
import copy
import logging
import resource
import tempfile
import time
from pathlib import Path

from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="synthetic-full")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT, env=args.env) as session:
        context = session.load_context()
        conf = copy.deepcopy(dict(context.config_loader["catalog"]))
        parameters = context.params
    pipeline = pipelines["data_processing"]
    with tempfile.TemporaryDirectory() as tmp:
        for entry in conf.values():
            if isinstance(entry, dict) and "filepath" in entry:
                entry["filepath"] = str(Path(tmp) / Path(entry["filepath"]).name)
        catalog = DataCatalog.from_config(conf)
        for name in ("source", "cleaning", "kcore"):  # already validated by the context
            catalog[f"params:{name}"] = MemoryDataset(
                parameters[name], copy_mode="assign"
            )

        start = time.perf_counter()
        source = catalog.load("source_ratings")
        generated = time.perf_counter() - start
        catalog["source_ratings"] = MemoryDataset(source, copy_mode="assign")
        rows = len(source)
        del source
        print(
            f"env {args.env}: generated {rows:,} source rows in {generated:.1f} s "
            f"(peak RSS so far {_peak_rss_gb():.2f} GB)"
        )

        start = time.perf_counter()
        SequentialRunner().run(pipeline, catalog)
        wall = time.perf_counter() - start
        report = catalog.load("cleaning_report")
    print(
        f"data_processing: {wall:.1f} s wall, {rows / wall:,.0f} rows/s, "
        f"peak RSS {_peak_rss_gb():.2f} GB (whole process, generator included)"
    )
    print(
        f"out: {report['rows_out']:,} interactions, {report['users_out']:,} users, "
        f"{report['items_out']:,} items after {report['kcore']['rounds']} k-core rounds"
    )


if __name__ == "__main__":
    main()
