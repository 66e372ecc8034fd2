"""One model's Optuna study: resumable, budgeted, pruned on the epoch curve.

:func:`run_study` maximises the validation ``monitor`` (full-ranking NDCG@10
by default) that the training loop selects epochs on. The study lives in a
SQLite file and is named after the model, the data and the configuration
(:func:`study_name`), and is loaded if it exists: a study that was interrupted
resumes, its finished trials are kept and only the missing ones run. The
first trial of a new study is the configured setting itself, so the result
can always be read against the defaults on the same seeds.

Each trial trains once per tuning seed through the caller's ``train``
function; the first seed's per-epoch validation values go to the pruner
(through :func:`ncf_recommender.training.loop.observe_epochs`), which may end
the trial early. A trial writes nothing but its row in the study.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from ncf_recommender.training.loop import observe_epochs
from ncf_recommender.tuning.space import SearchSpaceEntry, TuningParams, suggest

logger = logging.getLogger(__name__)

#: ``train(overrides, seed, seconds_left) -> training summary``: one training run
#: with the trial's path overrides; ``seconds_left`` is the rest of the budget.
TrainFunction = Callable[[dict[str, Any], int, float | None], Mapping[str, Any]]
#: Summary key a ``train`` function sets when the tuning budget, not the
#: configured training, ended the run: such a trial is recorded as pruned, since
#: its value says nothing about its setting.
CUT_BY_BUDGET = "cut_by_tuning_budget"
#: States of the trials that count towards ``n_trials``.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def fingerprint(value: Any) -> str:
    """A short, stable digest of frames (their index columns) or of JSON data.

    Args:
        value: A ``DataFrame``, a list of them, or JSON-serialisable data.

    Returns:
        Ten hex digits.
    """
    digest = hashlib.sha256()
    frames = value if isinstance(value, list | tuple) else [value]
    if all(isinstance(frame, pd.DataFrame) for frame in frames):
        for frame in frames:
            hashed = pd.util.hash_pandas_object(frame, index=False)
            digest.update(hashed.to_numpy().tobytes())
    else:
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:10]


def study_name(model: str, data: str, config: str) -> str:
    """``<model>-data<fingerprint>-conf<fingerprint>``: one study per data and setting."""
    return f"{model}-data{data}-conf{config}"


def make_pruner(params: TuningParams) -> optuna.pruners.BasePruner:
    """The configured pruner (``tuning.pruner``)."""
    if params.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=params.startup_trials, n_warmup_steps=params.warmup_epochs
        )
    if params.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, params.warmup_epochs)
        )
    return optuna.pruners.NopPruner()


def _pruning_observer(trial: optuna.Trial) -> Callable[[int, float], None]:
    """Report each epoch's value to the trial; raise ``TrialPruned`` when told."""

    def observe(epoch: int, value: float) -> None:
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch} ({value:.5f})")

    return observe


def _objective(
    *,
    space: Mapping[str, SearchSpaceEntry],
    params: TuningParams,
    train: TrainFunction,
    monitor: str,
    deadline: float | None,
) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        values = suggest(trial, space)
        scores = []
        for index, seed in enumerate(params.seeds):
            left = None if deadline is None else max(1.0, deadline - time.monotonic())
            observer = (
                observe_epochs(_pruning_observer(trial))
                if index == 0
                else nullcontext()
            )
            with observer:
                summary = train(values, seed, left)
            if summary.get(CUT_BY_BUDGET):
                raise optuna.TrialPruned("training cut short by tuning.budget_seconds")
            scores.append(float(summary[f"val_{monitor}"]))
            trial.set_user_attr(f"seed_{seed}", dict(summary))
        return float(sum(scores) / len(scores))

    return objective


def _counts(study: optuna.Study) -> dict[str, int]:
    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    return {
        "complete": states.count(TrialState.COMPLETE),
        "pruned": states.count(TrialState.PRUNED),
        "failed": states.count(TrialState.FAIL),
    }


def run_study(
    *,
    name: str,
    params: TuningParams,
    train: TrainFunction,
    monitor: str,
    storage_file: Path,
    study: str,
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """Run (or resume) model ``name``'s study and summarise it.

    Args:
        name: The model.
        params: The validated ``tuning`` group.
        train: Trains once with the trial's overrides (see :data:`TrainFunction`).
        monitor: The validation metric maximised (``val_<monitor>`` of the summary).
        storage_file: The SQLite file of the study (created if absent).
        study: The study's name (:func:`study_name`).
        defaults: Path → configured value: enqueued as the first trial of a
            new study (paths whose value lies outside the space are sampled).

    Returns:
        The model's ``tuned_parameters`` entry.

    Raises:
        ValueError: If no trial has completed.
    """
    space = params.space(name)
    storage_file.parent.mkdir(parents=True, exist_ok=True)
    # A trial killed with the process stays RUNNING in the file; it does not
    # count towards n_trials, so the resumed study runs a trial in its place.
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{storage_file.resolve().as_posix()}"
    )
    optuna_study = optuna.create_study(
        storage=storage,
        study_name=study,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(
            seed=params.sampler_seed, n_startup_trials=max(1, params.startup_trials)
        ),
        pruner=make_pruner(params),
    )
    if not optuna_study.get_trials(deepcopy=False):
        inside = {
            path: value
            for path, value in defaults.items()
            if path in space and space[path].contains(value)
        }
        optuna_study.enqueue_trial(inside, user_attrs={"configured": True})
    before = sum(_counts(optuna_study).values())
    remaining = params.n_trials - before
    start = time.monotonic()
    if remaining > 0:
        deadline = (
            None if params.budget_seconds is None else start + params.budget_seconds
        )
        logger.info(
            "Tuning %s: study %s in %s, %d finished trial(s), running up to %d more "
            "(budget %s s)",
            name,
            study,
            storage_file,
            before,
            remaining,
            params.budget_seconds,
        )
        optuna_study.optimize(
            _objective(
                space=space,
                params=params,
                train=train,
                monitor=monitor,
                deadline=deadline,
            ),
            n_trials=remaining,
            timeout=params.budget_seconds,
            catch=(Exception,),
            gc_after_trial=True,
        )
    else:
        logger.info("Tuning %s: study %s already has %d trials", name, study, before)
    counts = _counts(optuna_study)
    complete = optuna_study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(
            f"no trial of {name} completed ({counts['pruned']} pruned, "
            f"{counts['failed']} failed; see the log): check tuning.spaces.{name} and "
            f"tuning.fixed.{name}"
        )
    best = optuna_study.best_trial
    configured = [t for t in complete if t.user_attrs.get("configured")]
    return {
        "best_overrides": dict(best.params),
        f"best_val_{monitor}": float(best.value),
        f"configured_val_{monitor}": float(configured[0].value) if configured else None,
        "configured_values": dict(configured[0].params) if configured else None,
        "best_trial": best.number,
        "monitor": monitor,
        "split": "validation",
        "trials": {**counts, "this_run": sum(counts.values()) - before},
        "seeds": list(params.seeds),
        "fixed": dict(params.fixed.get(name, {})),
        "pruner": params.pruner,
        "study_name": study,
        "storage": storage_file.as_posix(),
        "seconds_this_run": round(time.monotonic() - start, 1),
        "best_epochs": [
            s.get("best_epoch")
            for key, s in sorted(best.user_attrs.items())
            if key.startswith("seed_") and isinstance(s, Mapping)
        ],
    }


def study_figures(storage_file: Path, study: str) -> tuple[Any, Any]:
    """Optuna's optimisation history and parameter importances of a study.

    Args:
        storage_file: The study's SQLite file.
        study: The study's name.

    Returns:
        Two matplotlib figures; the importances one says so when the study
        has too few complete trials to estimate them.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415 (only when plotting)
    from optuna.visualization import matplotlib as optuna_plots  # noqa: PLC0415

    loaded = optuna.load_study(
        study_name=study, storage=f"sqlite:///{storage_file.resolve().as_posix()}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = optuna_plots.plot_optimization_history(loaded).figure
        complete = loaded.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        try:
            if len(complete) < 2:
                raise ValueError(f"{len(complete)} complete trial(s)")
            importance = optuna_plots.plot_param_importances(loaded).figure
        except (ValueError, RuntimeError) as error:
            importance, axes = plt.subplots()
            axes.set_axis_off()
            axes.text(
                0.5,
                0.5,
                f"No parameter importances for {study}: {error}",
                ha="center",
                va="center",
                wrap=True,
            )
    for figure in (history, importance):
        figure.set_size_inches(10, 5)
        figure.tight_layout()  # room for the long parameter paths
        plt.close(figure)  # saved through the catalog; not kept by pyplot
    return history, importance
