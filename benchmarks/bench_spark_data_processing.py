"""Benchmark: data_processing (+ the stored evaluation negatives) on Spark vs pandas.

Generates a ratings file in the Amazon 2014 CSV format once (cached under
``--data-dir``), then runs, each in a fresh project copy with ``--env amazon-2014``
pointing at that file:

* pandas: ``kedro run --pipeline data_processing`` and the two candidate nodes of
  ``feature_engineering``;
* Spark: ``kedro run --pipeline spark_data_processing`` on ``--master`` with
  ``--driver-memory`` (in local mode the driver JVM is all of Spark's memory).

It prints wall time and peak memory (the summed RSS of the run's whole process
tree, Python and JVM, sampled every 0.2 s), the Spark/pandas ratios, and checks
that both engines wrote the same tables (values, dtypes, order).

    .venv/bin/python benchmarks/bench_spark_data_processing.py                  # 2014 size
    .venv/bin/python benchmarks/bench_spark_data_processing.py --size electronics_2023 \\
        --engines spark                                                         # 2023 size

The 2023 size (43.9M ratings) needs several times the 2014 generation's memory just to
generate the file; run it only on a machine with the room.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).with_name("kedro"))
TABLES = {
    "interactions": "03_primary/interactions.parquet",
    "user_mapping": "03_primary/user_mapping.parquet",
    "item_mapping": "03_primary/item_mapping.parquet",
    "train_interactions": "05_model_input/train_interactions.parquet",
    "val_interactions": "05_model_input/val_interactions.parquet",
    "test_interactions": "05_model_input/test_interactions.parquet",
    "val_candidates": "05_model_input/val_candidates.parquet",
    "test_candidates": "05_model_input/test_candidates.parquet",
}
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(root_pid: int) -> int:
    """Summed resident memory of ``root_pid`` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * _PAGE_KB
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def _run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return its wall seconds and peak process-tree RSS in GB."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{output[-4000:]}")
    return wall, peak[0] / 1024**2


def _source_file(size: str, data_dir: Path) -> Path:
    """The generated ratings file for ``size`` (generated on first use)."""
    path = data_dir / f"ratings_{size}_seed42.csv"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys\n"
        "from ncf_recommender.data.generator import generate_ratings, write_ratings_csv\n"
        "from ncf_recommender.datasets import PRESETS\n"
        f"sizes = PRESETS[{size!r}] if {size!r} in PRESETS else {{}}\n"
        f"write_ratings_csv(generate_ratings(**sizes, seed=42), {str(path) + '.part'!r})\n"
    )
    wall, peak = _run([sys.executable, "-c", code], ROOT)
    os.replace(f"{path}.part", path)
    print(f"generated {path} in {wall:.1f} s (peak {peak:.2f} GB)")
    return path


def _project(dest: Path, source: Path) -> Path:
    """A project copy whose amazon-2014 source file is ``source``."""
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "src").mkdir()
    shutil.copytree(
        ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local")
    )
    (dest / "conf" / "local").mkdir()
    raw = dest / "data" / "amazon-2014" / "01_raw"
    raw.mkdir(parents=True)
    (raw / "ratings_Electronics.csv").symlink_to(source)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="electronics_2014")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument(
        "--spark-params",
        default="",
        help="extra --params for the Spark run, e.g. "
        "'spark_shuffle_partitions=64,spark_candidates.buckets=16' at 2023 size",
    )
    parser.add_argument(
        "--record", type=Path, help="also write the figures to this JSON file"
    )
    args = parser.parse_args()
    engines = args.engines.split(",")

    source = _source_file(args.size, args.data_dir)
    n_rows = sum(1 for _ in source.open("rb"))
    print(f"source: {source} ({n_rows:,} rows)")
    env = ["--env", "amazon-2014"]
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for engine in engines:
            (Path(tmp) / engine).mkdir()
            root = roots[engine] = _project(Path(tmp) / engine, source)
            if engine == "pandas":
                wall_dp, peak_dp = _run(
                    [KEDRO, "run", *env, "--pipeline", "data_processing"], root
                )
                wall_fe, peak_fe = _run(
                    [
                        KEDRO, "run", *env, "--pipeline", "feature_engineering",
                        "--nodes", "sample_val_candidates,sample_test_candidates",
                    ],
                    root,
                )  # fmt: skip
                results[engine] = (wall_dp + wall_fe, max(peak_dp, peak_fe))
            else:
                params = (
                    f"spark_master={args.master},"
                    f"spark_driver_memory={args.driver_memory}"
                )
                if args.spark_params:
                    params += f",{args.spark_params}"
                results[engine] = _run(
                    [KEDRO, "run", *env, "--pipeline", "spark_data_processing",
                     "--params", params],
                    root,
                )  # fmt: skip
            wall, peak = results[engine]
            print(
                f"{engine:>6}: {wall:8.1f} s wall, {n_rows / wall:10,.0f} rows/s, "
                f"peak RSS {peak:.2f} GB (process tree)"
            )
        if {"pandas", "spark"} <= set(engines):
            (p_wall, p_peak), (s_wall, s_peak) = results["pandas"], results["spark"]
            print(
                f"spark/pandas: wall x{s_wall / p_wall:.2f}, peak memory x{s_peak / p_peak:.2f}"
            )
            for name, path in TABLES.items():
                pd.testing.assert_frame_equal(
                    pd.read_parquet(roots["spark"] / "data" / "amazon-2014" / path),
                    pd.read_parquet(roots["pandas"] / "data" / "amazon-2014" / path),
                    obj=name,
                )
            print(f"identical tables: {', '.join(TABLES)}")
    if args.record:
        _record(args, n_rows, results)


def _record(args: argparse.Namespace, n_rows: int, results: dict) -> None:
    """Write the measured figures (and the command that produced them) as JSON."""
    record = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "size": args.size,
        "rows": n_rows,
        "master": args.master,
        "driver_memory": args.driver_memory,
        "spark_params": args.spark_params,
        "engines": {
            engine: {"wall_s": round(wall, 1), "peak_rss_gb": round(peak, 2)}
            for engine, (wall, peak) in results.items()
        },
        "load_average_after": os.getloadavg(),
    }
    args.record.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
