"""The tuning pipeline's parts: schema, wiring, the study driver and the loop hook."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import optuna
import pytest
from kedro.framework.project import pipelines

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.models.registry import MODELS
from ncf_recommender.pipelines.modelling import pipeline as modelling
from ncf_recommender.pipelines.modelling.selection import use_tuned_parameters
from ncf_recommender.pipelines.modelling.tuned import apply_tuned_parameters
from ncf_recommender.pipelines.tuning.hooks import (
    MissingTunedParametersError,
    TuningHooks,
)
from ncf_recommender.pipelines.tuning.pipeline import TEST_DATASETS, create_pipeline
from ncf_recommender.training.loop import (
    EPOCH_OBSERVER,
    EpochStats,
    fit,
    observe_epochs,
)
from ncf_recommender.training.params import TrainingParams
from ncf_recommender.tuning.space import TuningParams, suggest
from ncf_recommender.tuning.study import CUT_BY_BUDGET, run_study

PROJECT = Path(__file__).resolve().parents[3]
ENVIRONMENTS = sorted(
    p.name for p in (PROJECT / "conf").iterdir() if p.is_dir() and p.name != "local"
)


@pytest.fixture(autouse=True)
def _reset_flag():
    yield
    use_tuned_parameters(False)
    pipelines.configure("ncf_recommender.pipeline_registry")


# --- wiring -----------------------------------------------------------------------------


def test_tuning_pipeline_never_declares_a_test_split():
    for name in MODELS:
        pipeline = create_pipeline((name,))
        assert not TEST_DATASETS & pipeline.inputs(), name
        assert {"train_interactions", "val_interactions"} <= pipeline.inputs()
        assert pipeline.all_outputs() == {
            f"{name}_tuned_parameters",
            f"{name}_tuning_history_plot",
            f"{name}_tuning_importance_plot",
        }
    everything = create_pipeline(tuple(MODELS))
    assert not {"test_interactions", "test_candidates"} & everything.all_inputs()


class _Catalog:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def exists(self, name: str) -> bool:
        return name in self.present


def test_a_run_without_its_prerequisites_names_the_command_to_run_first():
    hooks = TuningHooks()
    neumf = create_pipeline(("neumf",))
    with pytest.raises(MissingTunedParametersError, match="gmf_model, mlp_model"):
        hooks.before_pipeline_run({}, neumf, _Catalog(set()))
    hooks.before_pipeline_run({}, neumf, _Catalog({"gmf_model", "mlp_model"}))
    hooks._tuning = TuningParams.model_validate({"spaces": {"gmf": {}}})
    with pytest.raises(ValueError, match="no entry for 'neumf'"):
        hooks.before_pipeline_run({}, neumf, _Catalog({"gmf_model", "mlp_model"}))
    use_tuned_parameters(True)
    tuned = modelling.create_pipeline(("gmf",))
    with pytest.raises(MissingTunedParametersError, match="--pipeline tuning"):
        hooks.before_pipeline_run({}, tuned, _Catalog(set()))
    hooks.before_pipeline_run({}, tuned, _Catalog({"gmf_tuned_parameters"}))


def test_modelling_reads_tuned_parameters_only_when_asked():
    plain = modelling.create_pipeline(("gmf", "gru"))
    assert not {n for n in plain.inputs() if n.endswith("_tuned_parameters")}
    use_tuned_parameters(True)
    tuned = modelling.create_pipeline(("gmf", "gru"))
    assert {"gmf_tuned_parameters", "gru_tuned_parameters"} <= tuned.inputs()
    train = {n.name: n for n in tuned.nodes}["gmf.train_model"]
    assert {"gmf.tuned_architecture", "gmf.tuned_training_overrides"} <= set(
        train.inputs
    )
    assert "gmf.tuned_negative_sampler" in train.inputs


# --- schema -----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_a_valid_tuning_group(env):
    conf = EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env=env
    )
    params = TuningParams.model_validate(conf["parameters"]["tuning"])
    assert set(params.spaces) == set(MODELS)


@pytest.mark.parametrize(
    ("space", "key"),
    [
        ({"gmf": {"model.embeding_dim": {"type": "int", "low": 8, "high": 64}}},
         "tuning.spaces.gmf.model.embeding_dim"),
        ({"mlp": {"model.dropout": {"type": "float", "low": 0.0, "high": 1.5}}},
         "tuning.spaces.mlp.model.dropout"),
        ({"gmf": {"training_overrides.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}},
         "learning_rate"),
        ({"gmf": {"training_overrides.learning_rate": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}},
         "learning_rate"),
        ({"sasrec": {"training_overrides.loss": {"type": "categorical", "choices": ["softmax", "ce"]}}},
         "tuning.spaces.sasrec.training_overrides.loss"),
        ({"gru": {"negative_sampling.negatives_per_positive": {"type": "int", "low": 1, "high": 4}}},
         "tuning.spaces.gru.negative_sampling.negatives_per_positive"),
        ({"gmf": {"training_overrides.seed": {"type": "int", "low": 0, "high": 4}}},
         "tuning.spaces.gmf.training_overrides.seed"),
        ({"gmf": {"model.l2": {"type": "categorical"}}}, "model.l2"),
        ({"bert4rec": {}}, "bert4rec"),
    ],
)  # fmt: skip
def test_a_bad_search_space_entry_fails_naming_its_key(space, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        TuningParams.model_validate({"spaces": space})


def test_command_line_forms_are_accepted():
    params = TuningParams.model_validate(
        {
            "models": "gmf+sasrec",
            "fixed": {"gmf": {"training_overrides": {"epochs": 20}}},
            "spaces": {
                "gmf": {"model": {"l2": {"type": "float", "low": 0, "high": 1}}}
            },
        }
    )
    assert params.models == ("gmf", "sasrec")
    assert params.fixed == {"gmf": {"training_overrides.epochs": 20}}
    assert list(params.spaces["gmf"]) == ["model.l2"]


def test_conditional_entries_follow_their_condition():
    space = TuningParams.model_validate(
        {
            "spaces": {
                "sasrec": {
                    "training_overrides.loss": {
                        "type": "categorical",
                        "choices": ["softmax", "sampled_softmax"],
                    },
                    "training_overrides.n_negatives": {
                        "type": "int",
                        "low": 8,
                        "high": 64,
                        "when": {"training_overrides.loss": ["sampled_softmax"]},
                    },
                }
            }
        }
    ).space("sasrec")
    softmax = optuna.trial.FixedTrial({"training_overrides.loss": "softmax"})
    assert suggest(softmax, space) == {"training_overrides.loss": "softmax"}
    sampled = optuna.trial.FixedTrial(
        {
            "training_overrides.loss": "sampled_softmax",
            "training_overrides.n_negatives": 16,
        }
    )
    assert suggest(sampled, space)["training_overrides.n_negatives"] == 16


def test_tuned_overrides_merge_over_the_configuration_without_changing_it():
    configured = {"architecture": "gru4rec", "dim": 64, "max_len": 20}
    overrides = {"learning_rate": 0.01}
    model, training = apply_tuned_parameters(
        "gru",
        tuned_parameters={
            "model": "gru",
            "best_overrides": {"model.dim": 32, "training_overrides.loss": "bce"},
        },
        model=configured,
        training_overrides=overrides,
    )
    assert model == {"architecture": "gru4rec", "dim": 32, "max_len": 20}
    assert training == {"learning_rate": 0.01, "loss": "bce"}
    assert configured["dim"] == 64 and "loss" not in overrides
    with pytest.raises(ValueError, match="not 'gru'"):
        apply_tuned_parameters(
            "gru",
            tuned_parameters={"model": "sasrec", "best_overrides": {}},
            model=configured,
            training_overrides=overrides,
        )


# --- the study driver (no training: a fake objective) -----------------------------------

_SPACE = {
    "spaces": {
        "gmf": {
            "training_overrides.learning_rate": {
                "type": "float",
                "low": 1e-4,
                "high": 1e-1,
                "log": True,
            },
            "model.embedding_dim": {"type": "categorical", "choices": [8, 16, 32]},
        }
    },
    "startup_trials": 2,
    "pruner": "none",
}


def _fake_train(calls: list, *, stop_at: int | None = None):
    """Curves that peak near learning rate 0.01; reports two epochs to the observer."""

    def train(values, seed, left):
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt  # the process is interrupted mid-trial
        calls.append(values)
        value = 1.0 - abs(np.log10(values["training_overrides.learning_rate"]) + 2)
        observer = EPOCH_OBSERVER.get()
        for epoch in (1, 2):
            if observer is not None:
                observer(epoch, value * epoch / 2)
        return {"val_ndcg@10": value, "best_epoch": 2}

    return train


def _study(tmp_path, params, train):
    return run_study(
        name="gmf",
        params=TuningParams.model_validate(params),
        train=train,
        monitor="ndcg@10",
        storage_file=tmp_path / "gmf.db",
        study="gmf-test",
        defaults={
            "training_overrides.learning_rate": 0.001,
            "model.embedding_dim": 64,  # outside the space: sampled instead
        },
    )


def test_a_study_starts_from_the_configured_setting_and_resumes(tmp_path):
    calls: list = []
    first = _study(tmp_path, {**_SPACE, "n_trials": 3}, _fake_train(calls))
    assert first["trials"] == {"complete": 3, "pruned": 0, "failed": 0, "this_run": 3}
    assert calls[0]["training_overrides.learning_rate"] == 0.001
    assert first["configured_values"]["training_overrides.learning_rate"] == 0.001
    assert first["best_val_ndcg@10"] == max(
        1.0 - abs(np.log10(c["training_overrides.learning_rate"]) + 2) for c in calls
    )
    assert first["seeds"] == [0] and first["storage"].endswith("gmf.db")
    again = _study(tmp_path, {**_SPACE, "n_trials": 3}, _fake_train(calls))
    assert again["trials"]["this_run"] == 0 and len(calls) == 3
    more = _study(tmp_path, {**_SPACE, "n_trials": 5}, _fake_train(calls))
    assert more["trials"]["this_run"] == 2 and len(calls) == 5


def test_an_interrupted_study_keeps_its_finished_trials(tmp_path):
    calls: list = []
    with pytest.raises(KeyboardInterrupt):
        _study(tmp_path, {**_SPACE, "n_trials": 4}, _fake_train(calls, stop_at=2))
    storage = f"sqlite:///{(tmp_path / 'gmf.db').as_posix()}"
    kept = optuna.load_study(study_name="gmf-test", storage=storage).trials
    assert [t.state.name for t in kept] == ["COMPLETE", "COMPLETE", "FAIL"]
    resumed = _study(tmp_path, {**_SPACE, "n_trials": 4}, _fake_train(calls))
    assert resumed["trials"] == {"complete": 3, "pruned": 0, "failed": 1, "this_run": 1}
    assert len(calls) == 3


def test_pruned_trials_are_counted_and_never_best(tmp_path):
    calls: list = []
    params = {
        **_SPACE,
        "n_trials": 6,
        "pruner": "median",
        "startup_trials": 1,
        "warmup_epochs": 0,
    }
    result = _study(tmp_path, params, _fake_train(calls))
    assert result["trials"]["complete"] + result["trials"]["pruned"] == 6
    assert result["trials"]["pruned"] >= 1
    best = 1.0 - abs(
        np.log10(result["best_overrides"]["training_overrides.learning_rate"]) + 2
    )
    assert result["best_val_ndcg@10"] == pytest.approx(best)


def test_a_trial_cut_short_by_the_budget_is_pruned_not_complete(tmp_path):
    calls: list = []
    train = _fake_train(calls)

    def cut_second(values, seed, left):
        summary = train(values, seed, left)
        return {**summary, CUT_BY_BUDGET: len(calls) == 2}

    result = _study(tmp_path, {**_SPACE, "n_trials": 3}, cut_second)
    assert result["trials"] == {"complete": 2, "pruned": 1, "failed": 0, "this_run": 3}


# --- the loop's epoch observer ---------------------------------------------------------


class _Adapter:
    unit = "examples"
    validate_initial = False

    def __init__(self) -> None:
        self.values = iter([0.1, 0.3, 0.2, 0.25])

    def prepare(self, model):
        return 1

    def train_epoch(self, model, epoch, advance):
        return EpochStats(loss=1.0, examples=1)

    def validate(self, model):
        return {"ndcg@10": next(self.values), "hr@10": 0.0}


def _tiny_model():
    inputs = keras.Input((1,))
    return keras.Model(inputs, keras.layers.Dense(1)(inputs), name="tiny")


def test_fit_reports_each_epoch_and_an_observer_can_stop_it():
    params = TrainingParams(epochs=4, patience=4, smoothing=1)
    seen = []
    with observe_epochs(lambda epoch, value: seen.append((epoch, value))):
        result = fit(_Adapter(), _tiny_model(), params)
    assert seen == [(1, 0.1), (2, 0.3), (3, 0.2), (4, 0.25)]
    assert result.best_epoch == 2
    assert EPOCH_OBSERVER.get() is None

    def stop(epoch, value):
        if epoch == 2:
            raise optuna.TrialPruned("stop")

    with pytest.raises(optuna.TrialPruned), observe_epochs(stop):
        fit(_Adapter(), _tiny_model(), params)
    assert EPOCH_OBSERVER.get() is None
