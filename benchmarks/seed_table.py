"""Quality over several seeds, with the peers beside us: one markdown table per data set.

Runs ``kedro run --env ENV`` once per seed (each model's training seed and ALS's seed
set to it; the split and the stored evaluation negatives do not depend on it), keeps the
path of each run's versioned ``ranking_metrics``, and prints mean ± sd per model with
the peer systems' figures from a ``../shared/benchmarks/*_peers.json`` file. Nothing
is retyped: ``--collect FILE`` rebuilds the table from the recorded runs.

Report seeds that played no part in choosing the settings (the settings in ``conf/``
were chosen on validation with seeds 0-2, see their comments): the default here is
seeds 10-14.

Usage::

    .venv/bin/python benchmarks/seed_table.py --env amazon-grocery \\
        --peers ../shared/benchmarks/grocery_peers.json --record runs-grocery.json
    .venv/bin/python benchmarks/seed_table.py --collect runs-grocery.json \\
        --peers ../shared/benchmarks/grocery_peers.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ncf_recommender.config import data_env_name

PROJECT = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).with_name("kedro")
SEED_PARAMS = ("training.seed", "sequence_training.seed", "baselines.als.seed")
COLUMNS = (
    ("full NDCG@10", ("full", "ndcg@10")),
    ("full HR@10", ("full", "hr@10")),
    ("full MRR", ("full", "mrr")),
    ("sampled HR@10", ("sampled", "hr@10")),
    ("sampled NDCG@10", ("sampled", "ndcg@10")),
)


def run_seed(env: str | None, seed: int, extra: str | None) -> dict[str, Any]:
    """One ``kedro run`` with every model seed set to ``seed``.

    Returns:
        ``{"seed", "command", "wall_seconds", "ranking_metrics"}`` (the path of the
        version the run wrote).
    """
    params = ",".join(f"{key}={seed}" for key in SEED_PARAMS)
    if extra:
        params = f"{params},{extra}"
    command = [str(KEDRO), "run", "--params", params]
    if env:
        command[2:2] = ["--env", env]
    folder = (
        PROJECT / "data" / data_env_name(env) / "08_reporting" / "ranking_metrics.json"
    )
    before = set(folder.glob("*/ranking_metrics.json")) if folder.exists() else set()
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT, check=True)
    wall = time.perf_counter() - started
    written = sorted(set(folder.glob("*/ranking_metrics.json")) - before)
    if len(written) != 1:
        raise RuntimeError(f"expected one new ranking_metrics version, found {written}")
    return {
        "seed": seed,
        "command": " ".join(command),
        "wall_seconds": round(wall, 1),
        "ranking_metrics": str(written[0].relative_to(PROJECT)),
        # A copy, so the record alone rebuilds the table (data/ is not in git).
        "metrics": json.loads(written[0].read_text()),
    }


def _value(entry: dict[str, Any], path: tuple[str, str]) -> float | None:
    value = entry.get(path[0], {}).get(path[1])
    return float(value) if value is not None else None


def _cell(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def table(runs: list[dict[str, Any]], peers: list[dict[str, Any]]) -> str:
    """The markdown table: our models (mean ± sd over the runs), then the peers.

    Each run's metrics come from its record's ``metrics`` copy (else from the
    versioned file it names); the command is shown from ``.venv/bin/kedro`` on.
    """
    reports = [
        run["metrics"]
        if "metrics" in run
        else json.loads((PROJECT / run["ranking_metrics"]).read_text())
        for run in runs
    ]
    models = list(reports[0])
    header = ["system", *(name for name, _ in COLUMNS), "s to best epoch"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = []
    for model in models:
        entries = [report[model] for report in reports if model in report]
        cells = []
        for _, path in COLUMNS:
            values = [v for v in (_value(e, path) for e in entries) if v is not None]
            cells.append(_cell(values))
        seconds = [e["seconds_to_best"] for e in entries if "seconds_to_best" in e]
        time_cell = f"{statistics.mean(seconds):.0f}" if seconds else ""
        ndcg = statistics.mean(
            v for v in (_value(e, COLUMNS[0][1]) for e in entries) if v is not None
        )
        rows.append(
            (ndcg, f"| ours: {model} | " + " | ".join([*cells, time_cell]) + " |")
        )
    lines += [row for _, row in sorted(rows, reverse=True)]
    for peer in peers:
        cells = [
            _cell([v]) if (v := _value(peer, path)) is not None else ""
            for _, path in COLUMNS
        ]
        train = peer.get("train_s")
        lines.append(
            f"| peer: {peer['system']} | "
            + " | ".join([*cells, f"{train:.0f} (whole training)" if train else ""])
            + " |"
        )
    seeds = ", ".join(str(run["seed"]) for run in runs)
    lines.append("")
    first = runs[0]
    command = first["command"].replace(f"={first['seed']}", "=<seed>")
    command = re.sub(r"^\S*?(\.venv/bin/kedro)", r"\1", command)
    lines.append(f"Ours: mean ± sd over seeds {seeds}; command per seed: `{command}`.")
    return "\n".join(lines)


def main() -> None:
    """Run or collect the seeds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=None, help="Kedro environment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12, 13, 14])
    parser.add_argument("--params", default=None, help="extra --params for every run")
    parser.add_argument("--peers", type=Path, help="a *_peers.json file")
    parser.add_argument("--record", type=Path, help="write the runs' record here")
    parser.add_argument("--collect", type=Path, help="read a record instead of running")
    args = parser.parse_args()
    if args.collect:
        runs = json.loads(args.collect.read_text())
    else:
        runs = []
        for seed in args.seeds:
            runs.append(run_seed(args.env, seed, args.params))
            if args.record:
                args.record.write_text(json.dumps(runs, indent=2))
    peers = json.loads(args.peers.read_text()) if args.peers else []
    print(table(runs, peers))


if __name__ == "__main__":
    main()
