"""Load test of ``make serve`` with locust (headless) at Amazon Electronics 5-core scale.

Builds the 5-core-size project of ``bench_serving.py --synthetic 5core`` (192,403
users x 63,001 items, about 1.7M interactions, randomly initialised models of
the configured sizes: serving cost depends on sizes, not weights), starts ``make
serve`` on a free loopback port with ``NCF_PROJECT_PATH`` pointing at it, then
runs ``locust -f benchmarks/locustfile.py --headless`` once per concurrency level
(default 8 and 32 users, no think time) with the mix of ``locustfile.py``: GET for
one user, POST for 10 users, cold-start POST with a history. Prints, per level
and per request type: requests, failures, throughput (req/s), p50/p95/p99 (ms).
``GET /health`` is the reference: the same load on it alone gives the framework
and HTTP overhead without any model work.

The load generator and the server share the machine: on few cores locust's own
CPU use lowers the figures; say so when quoting them.

Examples::

    python benchmarks/bench_load.py                       # sasrec, 8 and 32 users, 30 s each
    python benchmarks/bench_load.py --model neumf         # no cold-start history requests
    python benchmarks/bench_load.py --scale 0.05 --run-time 10s   # quick check
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def _bench_serving() -> Any:
    """``benchmarks/bench_serving.py`` as a module (it builds the 5-core project)."""
    spec = importlib.util.spec_from_file_location(
        "bench_serving", HERE / "bench_serving.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_make_serve(
    project: Path, model: str, log: Any, timeout_s: float
) -> tuple[subprocess.Popen, str]:
    """``make serve`` (loopback, free port) serving ``project``; waits for /health."""
    import httpx  # noqa: PLC0415

    port = _free_port()
    env = {**os.environ, "NCF_PROJECT_PATH": str(project), "NCF_MODEL": model}
    process = subprocess.Popen(
        ["make", "-s", "serve", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: make and uvicorn stop together
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("make serve exited; see its log")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(1)
    stop(process)
    raise RuntimeError(f"make serve did not answer /health in {timeout_s} s")


def stop(process: subprocess.Popen) -> None:
    """Stop the ``make serve`` process group started above."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children (the server)."""
    import psutil  # noqa: PLC0415  (installed with locust)

    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (the locust runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_level(server_pid: int, run: Any) -> tuple[Any, dict[str, float]]:
    """Run ``run()`` and measure the server's and locust's CPU and the load average."""
    server_before, client_before = _tree_cpu_s(server_pid), _children_cpu_s()
    started = time.perf_counter()
    rows = run()
    wall = time.perf_counter() - started
    cpu = {
        "wall_s": wall,
        "server_cores": (_tree_cpu_s(server_pid) - server_before) / wall,
        "locust_cores": (_children_cpu_s() - client_before) / wall,
        "load_average_1min": os.getloadavg()[0],
        "machine_cores": os.cpu_count() or 0,
    }
    return rows, cpu


def run_locust(
    base: str,
    *,
    users: int,
    run_time: str,
    env: dict[str, str],
    out: Path,
    locustfile: Path,
) -> list[dict[str, Any]]:
    """One headless locust run; returns its per-request-type and aggregated rows."""
    prefix = out / f"u{users}_{locustfile.stem}"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(locustfile),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            run_time,
            "--host",
            base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=REPO,
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with Path(f"{prefix}_stats.csv").open() as handle:
        return [
            {
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
            }
            for row in csv.DictReader(handle)
        ]


HEALTH_LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Health(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/health", name="GET /health (reference)")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="sasrec", choices=["sasrec", "gru", "neumf", "gmf"]
    )
    parser.add_argument("--users", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--run-time", default="30s", help="per level (locust syntax)")
    parser.add_argument("--history-len", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0, help="of the 5-core sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-timeout", type=float, default=900)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()

    sequence = args.model if args.model in ("sasrec", "gru") else None
    with tempfile.TemporaryDirectory(prefix="ncf-load-") as tmp:
        root = Path(tmp)
        project = root / "project"
        started = time.perf_counter()
        sizes = _bench_serving().build_synthetic_project(
            "5core", project, args.seed, sequence_model=sequence, scale=args.scale
        )
        print(f"project: {sizes} built in {time.perf_counter() - started:.0f} s")

        import pandas as pd  # noqa: PLC0415

        data = project / "data" / "03_primary"
        users = pd.read_parquet(data / "user_mapping.parquet")["user_id"].astype(str)
        items = pd.read_parquet(data / "item_mapping.parquet")["item_id"].astype(str)
        rng = np.random.default_rng(args.seed)
        (root / "users.txt").write_text("\n".join(rng.choice(users, 20_000)))
        (root / "items.txt").write_text("\n".join(items))
        env = {
            **os.environ,
            "LOAD_USERS_FILE": str(root / "users.txt"),
            "LOAD_ITEMS_FILE": str(root / "items.txt"),
            "LOAD_HISTORY_LEN": str(args.history_len if sequence else 0),
        }
        health_file = root / "health_locustfile.py"
        health_file.write_text(HEALTH_LOCUSTFILE)

        with (root / "serve.log").open("w+") as log:
            started = time.perf_counter()
            process, base = start_make_serve(
                project, args.model, log, args.start_timeout
            )
            print(
                f"make serve ({args.model}) answered in {time.perf_counter() - started:.0f} s"
            )
            results: dict[str, Any] = {
                "model": args.model,
                "sizes": sizes,
                "levels": {},
            }
            try:
                for level in args.users:
                    rows, cpu = measured_level(
                        process.pid,
                        lambda level=level: run_locust(
                            base,
                            users=level,
                            run_time=args.run_time,
                            env=env,
                            out=root,
                            locustfile=HERE / "locustfile.py",
                        ),
                    )
                    requests = next(r for r in rows if r["name"] == "Aggregated")
                    cpu["server_cpu_ms_per_request"] = (
                        1000
                        * cpu["server_cores"]
                        * cpu["wall_s"]
                        / requests["requests"]
                    )
                    results.setdefault("cpu", {})[level] = cpu
                    if not args.no_reference:
                        rows += run_locust(
                            base,
                            users=level,
                            run_time=args.run_time,
                            env=env,
                            out=root,
                            locustfile=health_file,
                        )[:1]
                    results["levels"][level] = rows
            finally:
                stop(process)
            log.seek(0)
            errors = [line for line in log if "Traceback" in line or "ERROR" in line]
        print_report(results, args.run_time)
        print(f"server log: {len(errors)} error lines")
        print(json.dumps(results))


def print_report(results: dict[str, Any], run_time: str) -> None:
    """One table per concurrency level."""
    print(f"\nmodel {results['model']}, {run_time} per level, no think time")
    header = f"{'request':48s} {'n':>7s} {'fail':>5s} {'req/s':>7s} {'p50':>7s} {'p95':>7s} {'p99':>7s}"
    for level, rows in results["levels"].items():
        cpu = results["cpu"][level]
        print(
            f"\n{level} concurrent users (ms); mix phase: server "
            f"{cpu['server_cores']:.2f} cores, {cpu['server_cpu_ms_per_request']:.1f} "
            f"CPU-ms/request; locust {cpu['locust_cores']:.2f} cores; load average "
            f"{cpu['load_average_1min']:.1f} on {cpu['machine_cores']} cores\n{header}"
        )
        for row in rows:
            print(
                f"{row['name'][:48]:48s} {row['requests']:7d} {row['failures']:5d} "
                f"{row['rps']:7.1f} {row['p50_ms']:7.0f} {row['p95_ms']:7.0f} "
                f"{row['p99_ms']:7.0f}"
            )


if __name__ == "__main__":
    main()
