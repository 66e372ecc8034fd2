"""The whole ``kedro run --env synthetic-full``, timed node by node.

For each scale (``--scales 1 0.5 0.25``: fractions of the Electronics-2014 source
size, passed to the catalog as ``--params synthetic.n_ratings=...,
synthetic.n_users=...,synthetic.n_items=...``), a worker process runs every
pipeline of the project in a private copy of its configuration (its own
``data/``, so the checkout's artifacts are untouched) with a Kedro hook that
exists only here. The hook records, per node: wall seconds, CPU seconds of the
process (all threads) and the peak resident set size while the node ran
(sampled every 0.1 s from ``/proc/self/statm``). Rows are written as the nodes
finish, so a run stopped by ``--timeout`` still reports what finished and which
node was running.

Printed: one table per scale (node, wall s, CPU s, peak RSS GB), the total
(wall, CPU, peak RSS of the process), the slowest nodes, and, with several
scales, how total time and peak RSS grow with the number of interactions
(ratio of ratios: 1.0 is linear).

Run: ``.venv/bin/python benchmarks/bench_full_run.py [--scales 1 0.5 0.25]
[--models gmf sasrec] [--timeout 3600] [--record benchmarks/results/full_run.json]``.
``--models`` passes ``modelling.models`` (default: the configuration's, every model).

``--record PATH`` also writes what is printed as JSON (rewritten after each
scale, through a temporary file, so a stopped benchmark leaves the scales that
finished). ``benchmarks/make_results.py`` renders every
``benchmarks/results/full_run*.json`` into ``docs/results.md``. The format::

    {
      "command": "<this script's command line, as run>",
      "recorded": "<UTC time, ISO 8601>",
      "cpus": <os.cpu_count()>,
      "note": "<free text: machine load, what was special; optional>",
      "scales": [
        {
          "scale": 1.0,
          "params": {<the run's --params, as passed to Kedro>},
          "status": "complete" | "timeout" | "exit <code>",
          "interactions": <rows after cleaning and k-core, or null>,
          "rows": [{"node": "<node, or 'load X' / 'save X'>", "wall_s": <float>,
                    "cpu_s": <float>, "peak_rss_gb": <float>}, ...],
          "running": ["<node still running when stopped>", ...],
          "total": {"wall_s": <float>, "cpu_s": <float>, "peak_rss_gb": <float>}
                   | null
        }, ...
      ]
    }

``rows`` are in the order the nodes finished; ``total`` is null when the run
did not finish (the renderer then sums the finished rows and says so).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: ``source_ratings`` of ``--env synthetic-full`` (Electronics 2014 size).
FULL_SOURCE = {"n_ratings": 7_824_482, "n_users": 4_201_696, "n_items": 476_002}
DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * _PAGE


#: Catalog loads and saves shorter than this get no row of their own.
MIN_IO_SECONDS = 1.0


class NodeMeter:
    """Kedro hook: wall, CPU and peak RSS per node, appended to a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        """Write rows to ``path``.

        Args:
            path: The JSON-lines file.
        """
        self.path = path
        self.peak = 0
        self.started: dict[str, tuple[float, float]] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_bytes())

    def _write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def _start(self, name: str, log: bool = True) -> None:
        """Start the clocks and the RSS peak of a node, load or save."""
        self.peak = rss_bytes()
        self.started[name] = (time.perf_counter(), time.process_time())
        if log:
            self._write({"event": "start", "node": name})

    def before_node_run(self, node: Any) -> None:
        """Start the node's clocks and its RSS peak."""
        self._start(node.name)

    def before_dataset_loaded(self, dataset_name: str) -> None:
        """Start the clocks of a catalog load (loads happen outside the node's row)."""
        self._start(f"load {dataset_name}", log=False)

    def after_dataset_loaded(self, dataset_name: str) -> None:
        """Write the load's row if it took at least ``MIN_IO_SECONDS``."""
        self._finish(f"load {dataset_name}", {}, MIN_IO_SECONDS)

    def before_dataset_saved(self, dataset_name: str) -> None:
        """Start the clocks of a catalog save."""
        self._start(f"save {dataset_name}", log=False)

    def after_dataset_saved(self, dataset_name: str) -> None:
        """Write the save's row if it took at least ``MIN_IO_SECONDS``."""
        self._finish(f"save {dataset_name}", {}, MIN_IO_SECONDS)

    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        """Write the node's row (and the interaction count, when it is known)."""
        self._finish(node.name, outputs, 0.0)

    def _finish(self, name: str, outputs: dict[str, Any], minimum: float) -> None:
        """Write a row if it took at least ``minimum`` seconds."""
        wall, cpu = self.started.pop(name)
        if time.perf_counter() - wall < minimum:
            return
        row = {
            "event": "done",
            "node": name,
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
            "peak_rss_gb": max(self.peak, rss_bytes()) / 1e9,
        }
        report = outputs.get("cleaning_report")
        if isinstance(report, dict) and "rows_out" in report:
            row["interactions"] = int(report["rows_out"])
        self._write(row)


def worker(project: Path, rows: Path, runtime_params: dict[str, Any]) -> None:
    """Run every pipeline in ``project`` with the meter registered."""
    from kedro.framework.hooks import hook_impl  # noqa: PLC0415 (worker only)
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    class Hooks(NodeMeter):
        before_node_run = hook_impl(NodeMeter.before_node_run)
        after_node_run = hook_impl(NodeMeter.after_node_run)
        before_dataset_loaded = hook_impl(NodeMeter.before_dataset_loaded)
        after_dataset_loaded = hook_impl(NodeMeter.after_dataset_loaded)
        before_dataset_saved = hook_impl(NodeMeter.before_dataset_saved)
        after_dataset_saved = hook_impl(NodeMeter.after_dataset_saved)

    meter = Hooks(rows)
    bootstrap_project(project)
    start, cpu = time.perf_counter(), time.process_time()
    with KedroSession.create(
        project_path=project, env="synthetic-full", runtime_params=runtime_params
    ) as session:
        # Registered for this benchmark only (not in settings.HOOKS).
        session._hook_manager.register(meter)
        session.run()
    import resource  # noqa: PLC0415

    meter._write(
        {
            "event": "total",
            "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            * 1024
            / 1e9,
        }
    )


def project_copy(dest: Path) -> Path:
    """A private copy of the project's configuration (own ``data/``)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "src").mkdir()
    shutil.copytree(
        ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local")
    )
    (dest / "conf" / "local").mkdir()
    for layer in DATA_LAYERS:
        (dest / "data" / layer).mkdir(parents=True)
    return dest


def configured_parameters() -> dict[str, Any]:
    """The parameters of ``--env synthetic-full`` as configured (no runtime params)."""
    from ncf_recommender.config import EnvironmentConfigLoader  # noqa: PLC0415

    loader = EnvironmentConfigLoader(
        conf_source=str(ROOT / "conf"),
        base_env="base",
        default_run_env="synthetic-full",
    )
    return loader["parameters"]


def scaled_params(
    scale: float, models: list[str] | None, extra: list[str]
) -> dict[str, Any]:
    """The ``--params`` of one scale (the model selection, further ``key=value``)."""
    params: dict[str, Any] = {}
    for item in extra:
        key, _, value = item.partition("=")
        group, _, name = key.partition(".")
        if group not in params:
            # Kedro merges runtime parameters into the environment's file, which
            # then replaces conf/base's group as a whole: pass the whole group.
            params[group] = dict(configured_parameters().get(group) or {})
        params[group][name] = json.loads(value)
    if scale != 1:
        params["synthetic"] = {
            key: max(1, round(value * scale)) for key, value in FULL_SOURCE.items()
        }
    if models:
        params["modelling"] = {"models": models}
    return params


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows a worker wrote (none if it wrote nothing)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def print_table(scale: float, rows: list[dict[str, Any]]) -> None:
    """One scale's table: a row per node, the total and the slowest nodes."""
    done = [row for row in rows if row["event"] == "done"]
    started = {row["node"] for row in rows if row["event"] == "start"}
    running = started - {row["node"] for row in done}
    print(f"\n== scale {scale:g} ==")
    print(f"{'node':58s} {'wall s':>9s} {'CPU s':>9s} {'peak RSS GB':>12s}")
    for row in done:
        print(
            f"{row['node']:58s} {row['wall_s']:9.1f} {row['cpu_s']:9.1f} "
            f"{row['peak_rss_gb']:12.2f}"
        )
    for name in sorted(running):
        print(f"{name:58s} {'(running when stopped)':>32s}")
    total = next((row for row in rows if row["event"] == "total"), None)
    if total is not None:
        print(
            f"{'TOTAL':58s} {total['wall_s']:9.1f} {total['cpu_s']:9.1f} "
            f"{total['peak_rss_gb']:12.2f}"
        )
    else:
        wall = sum(row["wall_s"] for row in done)
        peak = max((row["peak_rss_gb"] for row in done), default=0.0)
        label = "TOTAL of the rows above (run incomplete)"
        print(f"{label:58s} {wall:9.1f} {'':9s} {peak:12.2f}")
    slowest = sorted(done, key=lambda row: -row["wall_s"])[:5]
    wall_sum = sum(row["wall_s"] for row in done) or 1.0
    print(
        "slowest: "
        + "; ".join(
            f"{row['node']} {row['wall_s']:.0f} s ({100 * row['wall_s'] / wall_sum:.0f}%)"
            for row in slowest
        )
    )


def scale_record(
    scale: float, params: dict[str, Any], code: int | None, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """One scale's entry of the ``--record`` file (see the module docstring)."""
    done = [row for row in rows if row["event"] == "done"]
    finished = {row["node"] for row in done}
    total = next((row for row in rows if row["event"] == "total"), None)
    return {
        "scale": scale,
        "params": params,
        "status": "timeout"
        if code is None
        else "complete"
        if code == 0
        else f"exit {code}",
        "interactions": next(
            (row["interactions"] for row in rows if "interactions" in row), None
        ),
        "rows": [
            {key: row[key] for key in ("node", "wall_s", "cpu_s", "peak_rss_gb")}
            for row in done
        ],
        "running": sorted(
            row["node"]
            for row in rows
            if row["event"] == "start" and row["node"] not in finished
        ),
        "total": None
        if total is None
        else {key: total[key] for key in ("wall_s", "cpu_s", "peak_rss_gb")},
    }


def write_record(path: Path, scales: list[dict[str, Any]]) -> None:
    """Write the ``--record`` JSON through a temporary file, then rename it."""
    record = {
        "command": " ".join(
            [".venv/bin/python", "benchmarks/bench_full_run.py", *sys.argv[1:]]
        ),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "scales": scales,
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def print_growth(summary: list[tuple[float, int, float, float]]) -> None:
    """How total time and peak RSS grow with the interactions (several scales)."""
    if len(summary) <= 1:
        return
    print("\ngrowth against the smallest complete scale (1.0 = linear in interactions)")
    base = min(summary, key=lambda item: item[1])
    for scale, interactions, wall, peak in sorted(summary, key=lambda item: item[1]):
        size = interactions / base[1]
        print(
            f"  scale {scale:g}: {interactions:,} interactions (x{size:.2f}); "
            f"time x{wall / base[2]:.2f} (per interaction {wall / base[2] / size:.2f}); "
            f"peak RSS x{peak / base[3]:.2f} (per interaction {peak / base[3] / size:.2f})"
        )


def main() -> None:
    """Run each scale in a worker process, then print the tables and growth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument(
        "--params",
        nargs="+",
        default=[],
        metavar="GROUP.KEY=JSON",
        help="further run parameters, e.g. training.max_train_seconds=150",
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds per scale"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_full_run"))
    parser.add_argument(
        "--record",
        type=Path,
        help="also write the rows as JSON here (see the docstring)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--runtime-params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.project, args.rows, json.loads(args.runtime_params))
        return
    summary = []
    recorded: list[dict[str, Any]] = []
    for scale in args.scales:
        directory = args.workdir / f"scale_{scale:g}"
        project = project_copy(directory / "project")
        rows_path = directory / "rows.jsonl"
        rows_path.unlink(missing_ok=True)
        log_path = directory / "kedro.log"
        params = scaled_params(scale, args.models, args.params)
        command = [
            sys.executable,
            __file__,
            "--worker",
            "--project",
            str(project),
            "--rows",
            str(rows_path),
            "--runtime-params",
            json.dumps(params),
        ]
        print(
            f"scale {scale:g}: --params {json.dumps(params)}; log {log_path}",
            flush=True,
        )
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                code = process.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
        rows = read_rows(rows_path)
        print_table(scale, rows)
        if args.record is not None:
            recorded.append(scale_record(scale, params, code, rows))
            write_record(args.record, recorded)
        if code is None:
            print(f"stopped after --timeout {args.timeout:.0f} s")
        elif code != 0:
            print(f"worker exited with {code}; see {log_path}")
        total = next((row for row in rows if row["event"] == "total"), None)
        interactions = next(
            (row["interactions"] for row in rows if "interactions" in row), None
        )
        if total is not None and interactions:
            summary.append((scale, interactions, total["wall_s"], total["peak_rss_gb"]))
    print_growth(summary)


if __name__ == "__main__":
    main()
