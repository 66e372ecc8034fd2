"""Latency and throughput of the HTTP service, plus the batch Top-N cost.

Starts ``uvicorn ncf_recommender.serving.api:app`` in a subprocess on a free
loopback port, then a *second* process (this script with ``--client``) sends
``--requests`` sequential ``GET /recommendations/{user_id}?top_n=N`` requests
and ``--requests`` more from ``--concurrency`` concurrent clients (one thread and
one keep-alive connection each), and prints p50/p95/p99 latency, throughput and
errors. ``GET /health`` timed in the same client process is the reference
(HTTP + framework overhead without any model work); the ratio to it is printed.

Artifacts, one of:

* ``--project PATH``: a Kedro project with trained artifacts (e.g. after
  ``make run``), served as is.
* ``--synthetic default``: a temporary project whose interactions come from the
  project's own ``data_processing`` pipeline on the embedded default data.
* ``--synthetic 5core``: a temporary project at Amazon Electronics 5-core scale
  (192,403 users x 63,001 items, about 1.6M interactions, Zipf item
  popularity, 5+ draws per user), generated directly with numpy.

Synthetic projects hold **randomly initialised** GMF and NeuMF models with the
sizes of ``parameters_modelling.yml`` (GMF 64; NeuMF 64 + 64, MLP 128-64-32),
plus the sequence model named by ``--model sasrec|gru`` (sizes of its
``<model>.model`` group, e.g. max_len 50, dim 64): serving latency depends on
the sizes, not on the weights. ``--scale 0.05`` shrinks the 5-core preset (users,
items and interactions alike) for a quick check.

``--batch`` also times the batch pipeline's work on a sample of users: exact
NeuMF scoring of all items versus GMF retrieval + NeuMF re-ranking, extrapolated
to every user (``--batch-full`` runs the chosen method over every user). For a
sequence model it times the exact Top-N after each user's history on the sample
and, with ``--batch-full``, the pipeline's ``batch_recommendations`` for every
user.

``--history-len K`` (sequence models) adds a phase of cold-start requests: unknown
user ids, each with a history of K random item ids (``GET ...?history=``).

Examples::

    python benchmarks/bench_serving.py --synthetic 5core --model neumf --batch
    python benchmarks/bench_serving.py --synthetic 5core --model sasrec \\
        --history-len 20 --batch --batch-full
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
FIVE_CORE = {"n_users": 192_403, "n_items": 63_001, "n_interactions": 1_689_188}
CATALOG_FILES = ("catalog.yml", "catalog_modelling.yml", "catalog_recommendation.yml")
#: Sequence model types (their ``<name>.model`` parameter group sizes the model).
SEQUENCE_MODELS = ("sasrec", "gru")


# ----------------------------------------------------------------------------- client


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    values = np.asarray(latencies_s) * 1e3
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


def _worker(base: str, paths: list[str], out: list[float], errors: list[str]) -> None:
    import httpx  # noqa: PLC0415

    with httpx.Client(base_url=base, timeout=30) as client:
        for path in paths:
            start = time.perf_counter()
            try:
                response = client.get(path)
                ok = response.status_code == 200
                detail = f"{response.status_code} {path}"
            except httpx.HTTPError as error:
                ok, detail = False, f"{type(error).__name__} {path}"
            out.append(time.perf_counter() - start)
            if not ok:
                errors.append(detail)


def _run_phase(base: str, paths: list[str], concurrency: int) -> dict[str, Any]:
    """Send ``paths`` with ``concurrency`` threads; latency, throughput, errors."""
    shares = [paths[i::concurrency] for i in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in shares]
    errors: list[str] = []
    threads = [
        threading.Thread(target=_worker, args=(base, share, lat, errors))
        for share, lat in zip(shares, latencies, strict=True)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    flat = [x for lat in latencies for x in lat]
    return {
        "requests": len(flat),
        "concurrency": concurrency,
        "throughput_rps": len(flat) / wall,
        "errors": len(errors),
        "first_errors": errors[:3],
        **_percentiles(flat),
    }


def _history_paths(
    items: list[str], count: int, length: int, top_n: int, seed: int
) -> list[str]:
    """``count`` cold-start requests: new user ids with ``length`` random items each."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(items), size=(count, length))
    return [
        f"/recommendations/new-{n}?top_n={top_n}&"
        + "&".join(f"history={items[i]}" for i in row)
        for n, row in enumerate(picks)
    ]


def client_main(args: argparse.Namespace) -> None:
    """The load generator (a separate process): prints one JSON line."""
    users = Path(args.users_file).read_text().split()
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(users), size=args.requests)
    paths = [f"/recommendations/{users[i]}?top_n={args.top_n}" for i in picks]
    # Warm-up (connection set-up, first-call paths), not measured.
    _run_phase(args.base, paths[:50], 1)
    result = {
        "health_sequential": _run_phase(args.base, ["/health"] * args.reference, 1),
        "sequential": _run_phase(args.base, paths, 1),
        "concurrent": _run_phase(args.base, paths[::-1], args.concurrency),
    }
    if args.history_len:
        items = Path(args.items_file).read_text().split()
        history_paths = _history_paths(
            items, args.requests, args.history_len, args.top_n, args.seed + 1
        )
        _run_phase(args.base, history_paths[:50], 1)
        result["history_sequential"] = _run_phase(args.base, history_paths, 1)
    sys.stdout.write(json.dumps(result) + "\n")


# ----------------------------------------------------------------------------- artifacts


def _write_project(root: Path) -> Path:
    """A Kedro project of this package in ``root`` with the repository's conf/base."""
    (root / "src").mkdir(parents=True)
    (root / "conf" / "base").mkdir(parents=True)
    (root / "conf" / "local").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for path in (REPO / "conf" / "base").glob("*.yml"):
        shutil.copy(path, root / "conf" / "base" / path.name)
    return root


def _zipf_interactions(
    n_users: int, n_items: int, n_interactions: int, seed: int
) -> pd.DataFrame:
    """Zipf(1) item popularity, 5+ draws per user, every item at least once.

    Repeated (user, item) draws collapse, so a few users end with fewer than 5
    items and the total is a little under ``n_interactions`` (printed).
    """
    rng = np.random.default_rng(seed)
    mean_extra = (n_interactions - n_items) / n_users - 5
    counts = 5 + rng.geometric(1 / (1 + mean_extra), size=n_users) - 1
    users = np.repeat(np.arange(n_users), counts)
    weights = 1.0 / np.arange(1, n_items + 1)
    items = rng.permutation(n_items)[
        rng.choice(n_items, size=users.size, p=weights / weights.sum())
    ]
    # One interaction per item from a random user, so every item_idx exists.
    users = np.concatenate([users, rng.integers(0, n_users, size=n_items)])
    items = np.concatenate([items, np.arange(n_items)])
    keys = np.unique(users.astype(np.int64) * n_items + items)
    users, items = keys // n_items, keys % n_items
    return pd.DataFrame(
        {
            "user_id": pd.array([f"U{u:07d}" for u in users], dtype="string"),
            "item_id": pd.array([f"B{i:09d}" for i in items], dtype="string"),
            "user_idx": users.astype(np.int32),
            "item_idx": items.astype(np.int32),
            "rating": np.full(users.size, 5.0),
            "timestamp": np.zeros(users.size, dtype=np.int64),
        }
    )


def _mappings(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for kind in ("user", "item"):
        pairs = interactions[[f"{kind}_id", f"{kind}_idx"]].drop_duplicates()
        frames.append(pairs.sort_values(f"{kind}_idx").reset_index(drop=True))
    return frames[0], frames[1]


def _declare_sequence_models(root: Path) -> None:
    """Declare ``<model>_model`` in ``conf/local`` where ``conf/base`` does not."""
    import yaml  # noqa: PLC0415

    declared = set()
    for path in (root / "conf" / "base").glob("catalog*.yml"):
        declared |= set(yaml.safe_load(path.read_text()) or {})
    missing = {
        f"{name}_model": {
            "type": "ncf_recommender.atomic.TensorFlowModelDataset",
            "filepath": f"data/default/06_models/{name}_model.keras",
            "versioned": True,
            "load_args": {"compile": False, "safe_mode": True},
            "save_args": {"include_optimizer": False},
        }
        for name in SEQUENCE_MODELS
        if f"{name}_model" not in declared
    }
    if missing:
        (root / "conf" / "local" / "catalog.yml").write_text(yaml.safe_dump(missing))


def build_synthetic_project(
    kind: str,
    root: Path,
    seed: int,
    sequence_model: str | None = None,
    scale: float = 1.0,
) -> dict[str, Any]:
    """Interactions (real default pipeline or 5-core-scale) + random models.

    Args:
        kind: ``default`` or ``5core``.
        root: Project folder to create.
        seed: Seed of the data and the weights.
        sequence_model: ``sasrec`` or ``gru`` to build as well (or ``None``).
        scale: Factor on the 5-core sizes.

    Returns:
        The sizes.
    """
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    _write_project(root)
    _declare_sequence_models(root)
    bootstrap_project(root)
    if kind == "default":
        with KedroSession.create(project_path=root) as session:
            session.run(pipeline_names=["data_processing"])
    with KedroSession.create(project_path=root) as session:
        context = session.load_context()
        catalog = context.catalog
        params = context.params
        if kind == "5core":
            sizes = {key: max(10, round(v * scale)) for key, v in FIVE_CORE.items()}
            interactions = _zipf_interactions(**sizes, seed=seed)
            user_mapping, item_mapping = _mappings(interactions)
            catalog.save("interactions", interactions)
            catalog.save("user_mapping", user_mapping)
            catalog.save("item_mapping", item_mapping)
        n_users = len(catalog.load("user_mapping"))
        n_items = len(catalog.load("item_mapping"))
        n_interactions = len(catalog.load("interactions"))
        models = _random_models(params, n_users, n_items, seed)
        if sequence_model is not None:
            models[sequence_model] = _random_sequence_model(
                params, sequence_model, n_items, seed
            )
        for name, model in models.items():
            catalog.save(f"{name}_model", model)
        catalog.save(
            "ranking_metrics",
            {name: {"note": "random weights (benchmark)"} for name in models},
        )
    return {"users": n_users, "items": n_items, "interactions": n_interactions}


def _random_sequence_model(params: Any, name: str, n_items: int, seed: int) -> Any:
    """A randomly initialised SASRec or GRU4Rec with the ``<name>.model`` sizes."""
    from ncf_recommender.models.gru4rec import build_gru4rec  # noqa: PLC0415
    from ncf_recommender.models.sasrec import build_sasrec  # noqa: PLC0415

    def plain(value: Any) -> dict[str, Any]:
        return value.model_dump() if hasattr(value, "model_dump") else dict(value)

    sizes = plain(plain(params.get(name) or {}).get("model") or {})
    sizes.pop("architecture", None)
    builder = build_sasrec if name == "sasrec" else build_gru4rec
    return builder(n_items, **sizes, seed=seed)


def _random_models(
    params: Any, n_users: int, n_items: int, seed: int
) -> dict[str, Any]:
    import keras  # noqa: PLC0415

    from ncf_recommender.models.gmf import build_gmf  # noqa: PLC0415
    from ncf_recommender.models.neumf import build_neumf  # noqa: PLC0415

    def plain(value: Any) -> dict[str, Any]:
        return value.model_dump() if hasattr(value, "model_dump") else dict(value)

    def group(name: str) -> dict[str, Any]:
        return plain(plain(params[name])["model"])

    gmf, neumf = group("gmf"), group("neumf")
    keras.utils.set_random_seed(seed)
    return {
        "gmf": build_gmf(n_users, n_items, embedding_dim=gmf["embedding_dim"]),
        "neumf": build_neumf(
            n_users,
            n_items,
            gmf_dim=neumf["gmf_dim"],
            mlp_dim=neumf["mlp_dim"],
            layers=tuple(neumf["layers"]),
        ),
    }


# ----------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(project: Path, model: str | None, timeout_s: float) -> tuple[Any, str]:
    """uvicorn subprocess serving ``project``; returns (process, base URL)."""
    import httpx  # noqa: PLC0415

    port = _free_port()
    env = {**os.environ, "NCF_PROJECT_PATH": str(project)}
    if model:
        env["NCF_MODEL"] = model
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ncf_recommender.serving.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited:\n{log.read()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server did not start in {timeout_s} s")


def serve_and_measure(project: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start the service, run the client process against it, stop it."""
    import httpx  # noqa: PLC0415

    started = time.perf_counter()
    process, base = start_server(project, args.model, args.start_timeout)
    startup_s = time.perf_counter() - started
    try:
        info = httpx.get(f"{base}/model", timeout=10).json()
        users = pd.read_parquet(
            project / "data" / "default" / "03_primary" / "user_mapping.parquet"
        )
        items = pd.read_parquet(
            project / "data" / "default" / "03_primary" / "item_mapping.parquet"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write("\n".join(users["user_id"].astype(str)))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ihandle:
            ihandle.write("\n".join(items["item_id"].astype(str)))
        client = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                "--base",
                base,
                "--users-file",
                handle.name,
                "--requests",
                str(args.requests),
                "--concurrency",
                str(args.concurrency),
                "--top-n",
                str(args.top_n),
                "--reference",
                str(args.reference),
                "--seed",
                str(args.seed),
                "--items-file",
                ihandle.name,
                "--history-len",
                str(args.history_len),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        os.unlink(handle.name)
        os.unlink(ihandle.name)
    finally:
        process.terminate()
        process.wait(timeout=30)
    result = json.loads(client.stdout.strip().splitlines()[-1])
    result["model"] = info
    result["startup_s"] = startup_s
    return result


def print_report(
    label: str, sizes: dict[str, Any], result: dict[str, Any], top_n: int
) -> None:
    """Human-readable figures."""
    info = result["model"]
    reference = result["health_sequential"]["p50_ms"]
    print(f"\n== {label}: {sizes}")
    print(
        f"model {info['model']} version {info['model_version']}; ranking: {info['ranking']}; "
        f"server start-up (incl. model load) {result['startup_s']:.1f} s"
    )
    print(
        f"{'phase':<28}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'req/s':>9}{'errors':>8}"
    )
    for key, name in (
        ("health_sequential", "GET /health (reference)"),
        ("sequential", f"top-{top_n}, sequential"),
        ("concurrent", f"top-{top_n}, {result['concurrent']['concurrency']} clients"),
        ("history_sequential", f"top-{top_n}, new user+history"),
    ):
        if key not in result:
            continue
        row = result[key]
        print(
            f"{name:<28}{row['requests']:>6}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{row['max_ms']:>9.2f}{row['throughput_rps']:>9.1f}"
            f"{row['errors']:>8}"
        )
        if row["errors"]:
            print(f"   first errors: {row['first_errors']}")
    print(
        f"ratio p50 top-{top_n} / p50 /health: "
        f"{result['sequential']['p50_ms'] / reference:.1f}x sequential"
    )


def measure_in_process(
    project: Path, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """``Recommender.recommend`` timed without HTTP (same users, one BLAS thread).

    Returns:
        ``{"known": percentiles}``, plus ``"history"`` (new users with a
        ``--history-len`` history) when asked for.
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from ncf_recommender.serving import load_recommender  # noqa: PLC0415

    def timed(calls: list[Any]) -> dict[str, float]:
        for call in calls[:50]:
            call()
        latencies = []
        for call in calls:
            start = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - start)
        return _percentiles(latencies)

    with threadpool_limits(1, user_api="blas"):
        recommender = load_recommender(args.model, project_path=project)
        data = recommender.data
        rng = np.random.default_rng(args.seed)
        users = data.user_ids[rng.choice(data.n_users, size=args.requests)]
        top_n = args.top_n
        result = {
            "known": timed([lambda u=u: recommender.recommend(u, top_n) for u in users])
        }
        if args.history_len:
            picks = rng.choice(data.n_items, size=(args.requests, args.history_len))
            histories = [list(data.item_ids[row]) for row in picks]
            result["history"] = timed(
                [
                    lambda n=n, h=h: recommender.recommend(f"new-{n}", top_n, h)
                    for n, h in enumerate(histories)
                ]
            )
    return result


# ----------------------------------------------------------------------------- batch


def _batch_inputs(
    project: Path, sample: int, seed: int, blas_threads: int | None
) -> tuple[Any, Any, list[Any], Any, np.ndarray]:
    """What both batch timings start from, loaded through the project's catalog.

    Returns:
        ``(store, settings, frames, data, users)``: the artifact store, the
        ``recommendation`` settings, the interactions and id-mapping frames,
        their ``ServingData`` and a sorted seeded sample of ``sample`` users.
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from ncf_recommender.serving import (  # noqa: PLC0415
        RecommendationSettings,
        ServingData,
        open_project,
    )

    threadpool_limits(blas_threads, user_api="blas")
    store, params = open_project(project)
    settings = RecommendationSettings.model_validate(params.get("recommendation") or {})
    frames = [store.load(n) for n in ("interactions", "user_mapping", "item_mapping")]
    data = ServingData.from_frames(*frames)
    rng = np.random.default_rng(seed)
    users = np.sort(
        rng.choice(data.n_users, size=min(sample, data.n_users), replace=False)
    )
    return store, settings, frames, data, users


def measure_sequence_batch(
    project: Path,
    name: str,
    *,
    sample: int,
    full: bool,
    seed: int,
    blas_threads: int | None,
) -> None:
    """Exact Top-N of a sequence model: a user sample, extrapolated; optionally all.

    The sample times ``top_k`` of the served scorer (what the batch pipeline
    runs); ``full`` runs ``batch_recommendations`` itself over every user,
    including building the histories and the output table.
    """
    from ncf_recommender.evaluation import top_k  # noqa: PLC0415
    from ncf_recommender.serving import (  # noqa: PLC0415
        batch_recommendations,
        get_model_type,
    )

    store, settings, frames, data, users = _batch_inputs(
        project, sample, seed, blas_threads
    )
    model_type = get_model_type(name)
    model_type.import_loader_modules()
    model = store.load(model_type.dataset)
    wall, cpu = time.perf_counter(), time.process_time()
    scorer = model_type.scorer_factory(model, data)
    setup = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    top_k(scorer, users, data.seen, settings.top_n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scale = data.n_users / users.size / 60
    print(
        f"\n== batch Top-{settings.top_n} of {name}: {users.size} sampled users of "
        f"{data.n_users}, {data.n_items} items, max_len {scorer.max_len}"
    )
    print(
        f"histories + padding for every user: {setup[0]:.2f} s wall, {setup[1]:.2f} s CPU"
    )
    print(
        f"{'exact ' + name:<36}{wall:8.2f} s wall {cpu:8.2f} s CPU on the sample -> "
        f"every user: {wall * scale:7.1f} min wall, {cpu * scale:7.1f} min CPU"
    )
    if full:
        wall, cpu = time.perf_counter(), time.process_time()
        table, summary = batch_recommendations(
            {name: model},
            None,
            *frames,
            settings=settings.model_copy(update={"model": name}),
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"every user, batch_recommendations: {wall:.1f} s wall ({wall / 60:.1f} "
            f"min), {cpu:.1f} s CPU; {len(table)} rows; {summary['ranking']}"
        )


def measure_batch(
    project: Path, sample: int, full: bool, seed: int, blas_threads: int | None
) -> None:
    """Exact NeuMF vs GMF retrieval + NeuMF re-rank on a user sample, extrapolated."""
    from ncf_recommender.evaluation import top_k  # noqa: PLC0415
    from ncf_recommender.serving import get_model_type  # noqa: PLC0415
    from ncf_recommender.serving._batch import top_n_all_users  # noqa: PLC0415
    from ncf_recommender.serving._ranking import retrieve_and_rerank  # noqa: PLC0415

    store, settings, _, data, users = _batch_inputs(project, sample, seed, blas_threads)
    scorers = {
        name: get_model_type(name).scorer_factory(store.load(f"{name}_model"), data)
        for name in ("gmf", "neumf")
    }
    retrieval = get_model_type("gmf").ranking_scorer(store.load("gmf_model"), data)
    k, candidates = settings.top_n, settings.retrieval.candidates
    parts = np.array_split(users, max(1, users.size // settings.batch_users))
    timings = {}

    def timed(name: str, function: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    exact, _ = timed(
        "exact neumf", lambda: top_k(scorers["neumf"], users, data.seen, k)
    )
    timed(
        "exact gmf (sigmoid scores)", lambda: top_k(scorers["gmf"], users, data.seen, k)
    )
    timed(
        f"gmf logits top-{candidates} only",
        lambda: top_k(retrieval, users, data.seen, candidates),
    )
    reranked = timed(
        f"gmf top-{candidates} + neumf re-rank",
        lambda: np.concatenate(
            [
                retrieve_and_rerank(
                    scorers["neumf"],
                    retrieval,
                    part,
                    data.seen,
                    k,
                    candidates=candidates,
                )[0]
                for part in parts
            ]
        ),
    )
    overlap = np.mean(
        [np.intersect1d(a, b).size / k for a, b in zip(exact, reranked, strict=True)]
    )
    print(
        f"\n== batch Top-{k}: {users.size} sampled users of {data.n_users}, "
        f"{data.n_items} items"
    )
    scale = data.n_users / users.size / 60
    for name, (wall, cpu) in timings.items():
        print(
            f"{name:<36}{wall:8.2f} s wall {cpu:8.2f} s CPU on the sample -> every user: "
            f"{wall * scale:7.1f} min wall, {cpu * scale:7.1f} min CPU"
        )
    print(
        f"overlap of re-ranked and exact NeuMF top-{k}: {overlap:.3f} "
        "(meaningful for trained models only)"
    )
    if full:
        timed(
            "full",
            lambda: top_n_all_users(
                scorers["neumf"],
                data.seen,
                k,
                retrieval_scorer=retrieval,
                candidates=candidates,
                batch_users=settings.batch_users,
            ),
        )
        wall, cpu = timings["full"]
        print(f"every user, retrieval + re-rank: {wall:.1f} s wall, {cpu:.1f} s CPU")


# ----------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--project", type=Path, help="Kedro project with trained artifacts"
    )
    source.add_argument(
        "--synthetic", choices=("default", "5core"), help="build artifacts"
    )
    parser.add_argument(
        "--model", default=None, help="model to serve (default: parameter)"
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--reference", type=int, default=500, help="/health requests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-timeout", type=float, default=600)
    parser.add_argument(
        "--keep", type=Path, help="build the synthetic project here and keep it"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="factor on the 5core sizes"
    )
    parser.add_argument(
        "--history-len",
        type=int,
        default=0,
        help="sequence models: also time new users with this many history items",
    )
    parser.add_argument(
        "--no-in-process", action="store_true", help="skip the in-process timing"
    )
    parser.add_argument(
        "--batch", action="store_true", help="also time the batch Top-N"
    )
    parser.add_argument("--batch-sample", type=int, default=1000)
    parser.add_argument("--batch-full", action="store_true")
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads of the batch timing"
    )
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--users-file", help=argparse.SUPPRESS)
    parser.add_argument("--items-file", help=argparse.SUPPRESS)
    return parser


def _project(args: argparse.Namespace) -> tuple[Path, dict[str, Any], str | None]:
    """The project to serve: given, reused from ``--keep``, or built (temporary)."""
    if args.project is not None:
        project = args.project.resolve()
        return project, {"project": str(project)}, None
    kind = args.synthetic or "5core"
    if args.keep is not None and (args.keep / "data").exists():
        return args.keep.resolve(), {"synthetic": kind, "reused": True}, None
    workdir = tempfile.mkdtemp(prefix="bench_serving_") if args.keep is None else None
    project = (args.keep or Path(workdir) / "project").resolve()
    started = time.perf_counter()
    sequence = args.model if args.model in SEQUENCE_MODELS else None
    sizes = build_synthetic_project(kind, project, args.seed, sequence, args.scale)
    sizes["synthetic"] = kind
    print(f"built {kind} artifacts in {time.perf_counter() - started:.0f} s: {sizes}")
    return project, sizes, workdir


def _print_in_process(project: Path, args: argparse.Namespace) -> None:
    rows = measure_in_process(project, args)
    for key, name in (
        ("known", "recommend() in-process"),
        ("history", "  new user+history"),
    ):
        if key not in rows:
            continue
        row = rows[key]
        print(
            f"{name:<28}{args.requests:>6}{row['p50_ms']:>9.2f}"
            f"{row['p95_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['max_ms']:>9.2f}"
            "   (model work alone, no HTTP, after the server stopped)"
        )


def main() -> None:
    args = _parser().parse_args()
    if args.client:
        client_main(args)
        return
    project, sizes, workdir = _project(args)
    try:
        result = serve_and_measure(project, args)
        print_report(str(sizes.get("synthetic", project)), sizes, result, args.top_n)
        if not args.no_in_process:
            _print_in_process(project, args)
        if args.batch and args.model in SEQUENCE_MODELS:
            measure_sequence_batch(
                project,
                args.model,
                sample=args.batch_sample,
                full=args.batch_full,
                seed=args.seed,
                blas_threads=args.blas_threads,
            )
        elif args.batch:
            measure_batch(
                project,
                args.batch_sample,
                args.batch_full,
                args.seed,
                args.blas_threads,
            )
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
