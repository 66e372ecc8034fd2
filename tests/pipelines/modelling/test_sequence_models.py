"""The sequence models (SASRec, GRU4Rec) inside the modelling pipeline.

Fast tests check the wiring, the parameters and the evaluation protocol on tiny
frames; one Kedro session (module fixture, marked slow) trains both models for
two epochs in a private project copy, and its saved models are reloaded through
the catalog in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from pydantic import ValidationError

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.constants import ITEM_IDX, TIMESTAMP, USER_IDX
from ncf_recommender.models.sequences import (
    build_histories,
    extend_histories,
)
from ncf_recommender.pipelines.data_processing.nodes import split_leave_last_two
from ncf_recommender.pipelines.modelling import pipeline as modelling
from ncf_recommender.pipelines.modelling.nodes import plot_learning_curves
from ncf_recommender.pipelines.modelling.params import (
    EvaluationParams,
    SequenceModelParams,
    SequenceTrainingOverrides,
    SequenceTrainingParams,
)
from ncf_recommender.pipelines.modelling.sequence_nodes import (
    PROTOCOL_NOTE,
    evaluate_sequence_model,
    train_sequence_model,
)
from tests.catalog_entries import ResolvedCatalog
from tests.conftest import make_project_copy
from tests.pipelines.modelling.test_pipeline import planted_splits

PROJECT = Path(__file__).resolve().parents[3]
SEQUENCE = ("sasrec", "gru")
#: Tiny settings: two epochs of small models, seconds per model.
TINY_TRAINING = {
    "epochs": 2,
    "batch_size": 32,
    "n_negatives": 8,
    "decay_epochs": None,
    "eval_batch_size": 256,
}
TINY_MODELS = {
    "sasrec": {
        "architecture": "sasrec",
        "max_len": 8,
        "dim": 8,
        "heads": 1,
        "blocks": 1,
    },
    "gru": {"architecture": "gru4rec", "max_len": 8, "dim": 8},
}
#: Keys every training summary carries (those ``evaluate_ncf_model`` copies).
SUMMARY_KEYS = {"train_seconds", "seconds_to_best", "best_epoch", "epochs_run"}
ENV = {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _params(env: str = "base") -> dict:
    return EnvironmentConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env=env
    )["parameters"]


# --- wiring and catalog ------------------------------------------------------------


def test_sequence_namespaces_reuse_one_template_with_their_own_outputs():
    pipeline = modelling.create_pipeline()
    assert set(SEQUENCE) <= set(modelling.MODELS)
    for name in SEQUENCE:
        nodes = pipeline.only_nodes_with_tags(name).nodes
        assert sorted(node.name for node in nodes) == [
            f"{name}.describe_model",
            f"{name}.evaluate_model",
            f"{name}.train_model",
        ]
        train = pipeline.only_nodes(f"{name}.train_model").nodes[0]
        assert train.func is train_sequence_model
        assert set(train.inputs) == {
            "train_interactions",
            "val_interactions",
            "user_mapping",
            "item_mapping",
            f"params:{name}.model",
            "params:sequence_training",
            f"params:{name}.training_overrides",
        }
        assert {f"{name}_model", f"{name}_training_history"} <= set(train.outputs)
    combine = pipeline.only_nodes("combine_ranking_metrics").nodes[0]
    curves = pipeline.only_nodes("plot_learning_curves").nodes[0]
    for name in SEQUENCE:
        assert f"{name}_metrics" in combine.inputs
        assert f"{name}_training_history" in curves.inputs


def test_sequence_artifacts_are_versioned_safe_mode_keras_files():
    catalog = ResolvedCatalog(
        EnvironmentConfigLoader(
            conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
        )["catalog"]
    )
    for name in SEQUENCE:
        model = catalog[f"{name}_model"]
        assert model["type"] == "ncf_recommender.atomic.TensorFlowModelDataset"
        assert model["filepath"] == f"data/default/06_models/{name}_model.keras"
        assert model["versioned"] is True and model["load_args"]["safe_mode"] is True
        history = catalog[f"{name}_training_history"]
        assert (
            history["type"] == "ncf_recommender.atomic.CSVDataset"
            and history["versioned"] is True
        )


# --- parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("env", ["base", "movielens"])
def test_sequence_parameters_validate_in_each_environment(env):
    params = _params(env)
    shared = SequenceTrainingParams.model_validate(params["sequence_training"])
    architectures = {"sasrec": "sasrec", "gru": "gru4rec"}
    for name in SEQUENCE:
        spec = SequenceModelParams.model_validate(params[name]["model"]).root
        assert spec.architecture == architectures[name]
        # Amazon-shaped default data: short histories; MovieLens: long ones.
        assert (spec.max_len, spec.dim) == ({"base": 20, "movielens": 50}[env], 64)
        overrides = SequenceTrainingOverrides.model_validate(
            params[name]["training_overrides"]
        )
        assert isinstance(shared.with_overrides(overrides), SequenceTrainingParams)
    sasrec = params["sasrec"]["model"]
    assert (sasrec["heads"], sasrec["blocks"], sasrec["dropout"]) == (2, 2, 0.1)
    assert params["gru"]["model"]["dropout"] == 0.2


def test_shared_sequence_group_mirrors_the_trainer_defaults():
    """The group, its overrides and the trainer share one model; base keeps its defaults.

    Except: on the default data, early stopping ranks a sample of 2,000
    validation users per epoch (the trainer's default ranks all), and patience,
    not a 12-epoch cosine decay, ends training (epochs 100, constant rate).
    """
    defaults = SequenceTrainingParams()
    no_change = SequenceTrainingOverrides()
    assert SequenceTrainingParams().with_overrides(no_change) == defaults
    assert set(SequenceTrainingParams.model_fields) == set(vars(defaults))
    assert set(SequenceTrainingOverrides.model_fields) == set(vars(defaults))
    base = SequenceTrainingParams.model_validate(_params()["sequence_training"])
    assert base.with_overrides(no_change) == defaults.model_copy(
        update={"max_validation_users": 2000, "epochs": 100, "decay_epochs": None}
    )


def test_overrides_change_only_what_they_set_and_null_switches_decay_off():
    merged = SequenceTrainingParams(epochs=12).with_overrides(
        SequenceTrainingOverrides(epochs=3, decay_epochs=None)
    )
    assert (merged.epochs, merged.decay_epochs, merged.n_negatives) == (3, None, 256)


@pytest.mark.parametrize(
    ("model", "values", "key"),
    [
        (SequenceTrainingParams, {"epoch": 3}, "epoch"),
        (SequenceTrainingParams, {"n_negatives": 0}, "n_negatives"),
        (SequenceTrainingParams, {"loss": "hinge"}, "loss"),
        (SequenceTrainingParams, {"monitor": "auc"}, "monitor"),
        (SequenceTrainingOverrides, {"epochs": None}, "epochs"),
        (SequenceModelParams, {"architecture": "sasrec", "head": 2}, "head"),
        (SequenceModelParams, {"architecture": "gru4rec", "dropout": 1.0}, "dropout"),
        (SequenceModelParams, {"architecture": "bert4rec"}, "architecture"),
    ],
)
def test_bad_sequence_parameters_name_the_key(model, values, key):
    with pytest.raises(ValidationError, match=key):
        model.model_validate(values)


def test_bad_sequence_parameter_fails_the_session_before_any_node_runs():
    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"sequence_training": {"n_negatives": 0}}
    ) as session:
        with pytest.raises(Exception, match="sequence_training") as info:
            session.run(pipeline_names=["modelling"], node_names=["sasrec.train_model"])
    assert "n_negatives" in str(info.value)


# --- protocol ----------------------------------------------------------------------


def test_training_sequences_follow_the_split_order_with_ties():
    """Train history + validation item + test item is each user's split order."""
    rng = np.random.default_rng(3)
    n_users, per_user = 6, 7
    frame = pd.DataFrame(
        {
            "user_id": "u",
            "item_id": "i",
            USER_IDX: np.repeat(np.arange(n_users), per_user).astype(np.int32),
            ITEM_IDX: rng.integers(0, 50, n_users * per_user).astype(np.int32),
            "rating": 5.0,
            # Few distinct stamps: many ties, broken by input row order.
            TIMESTAMP: rng.integers(0, 3, n_users * per_user),
        }
    ).sample(frac=1.0, random_state=1)
    train, val, test = split_leave_last_two(frame)
    histories = extend_histories(
        build_histories(train, n_users), val[USER_IDX].to_numpy(), val[ITEM_IDX]
    )
    for user in range(n_users):
        rows = frame[frame[USER_IDX] == user]
        expected = rows[ITEM_IDX].to_numpy()[
            np.argsort(rows[TIMESTAMP].to_numpy(), kind="stable")
        ]
        test_item = test.loc[test[USER_IDX] == user, ITEM_IDX].item()
        assert [*histories.user_items(user), test_item] == expected.tolist()


class _NextIdModel:
    """Stand-in next-item model: the next item is always ``last item + 1``."""

    name = "next_id"

    def __init__(self, n_items: int, max_len: int) -> None:
        self.inputs = [SimpleNamespace(shape=(None, max_len))]
        self.outputs = [SimpleNamespace(shape=(None, n_items))]
        self.n_items = n_items

    def predict_on_batch(self, ids: np.ndarray) -> np.ndarray:
        scores = np.zeros((ids.shape[0], self.n_items), dtype=np.float32)
        scores[np.arange(ids.shape[0]), ids[:, -1] % self.n_items] = 1.0
        return scores


def _consecutive_splits(n_users: int, n_items: int, length: int) -> dict:
    """Every user reads consecutive items: the next one is always the last + 1."""
    starts = np.arange(n_users) * 3 % (n_items - length)
    users = np.repeat(np.arange(n_users), length)
    items = (starts[:, None] + np.arange(length)).ravel()
    frame = pd.DataFrame(
        {
            "user_id": "u",
            "item_id": "i",
            USER_IDX: users.astype(np.int32),
            ITEM_IDX: items.astype(np.int32),
            "rating": 5.0,
            TIMESTAMP: np.tile(np.arange(length), n_users),
        }
    )
    train, val, test = split_leave_last_two(frame)
    candidates = (test[ITEM_IDX].to_numpy()[:, None] + np.arange(5, 10)) % n_items
    return {
        "train_interactions": train,
        "val_interactions": val,
        "test_interactions": test,
        "test_candidates": pd.DataFrame(
            {
                USER_IDX: np.repeat(test[USER_IDX].to_numpy(), 5),
                ITEM_IDX: candidates.ravel(),
            }
        ),
        "user_mapping": pd.DataFrame({USER_IDX: np.arange(n_users)}),
        "item_mapping": pd.DataFrame({ITEM_IDX: np.arange(n_items)}),
    }


def test_evaluation_reads_train_at_validation_and_train_plus_validation_at_test():
    """A model that always predicts ``last + 1`` is perfect only with the right history.

    Reading train only at test would predict the (removed) validation item;
    reading train + validation at validation would predict the test item.
    """
    splits = _consecutive_splits(n_users=20, n_items=40, length=6)
    summary = dict.fromkeys(SUMMARY_KEYS, 1)
    entry = evaluate_sequence_model(
        _NextIdModel(40, 4),
        summary,
        **splits,
        evaluation=EvaluationParams(ks=(1, 10)),
    )
    assert entry["full"]["hr@1"] == 1.0 and entry["sampled"]["hr@1"] == 1.0
    assert entry["validation"]["hr@1"] == 1.0
    assert entry["accuracy"] is None and entry["log_loss"] is None
    assert "logits" in entry["note"] and entry["protocol_note"] == PROTOCOL_NOTE
    assert {key: entry[key] for key in SUMMARY_KEYS} == summary
    assert {"coverage@10", "novelty@10", "eval_seconds"} <= set(entry)


def test_evaluation_rejects_a_model_of_another_catalogue():
    splits = _consecutive_splits(n_users=20, n_items=40, length=6)
    with pytest.raises(ValueError, match="item_mapping has 40"):
        evaluate_sequence_model(
            _NextIdModel(39, 4),
            dict.fromkeys(SUMMARY_KEYS, 1),
            **splits,
            evaluation=EvaluationParams(),
        )


def test_learning_curves_plot_both_families_without_claiming_bce():
    ncf = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "loss": [np.nan, 0.5, 0.4],
            "val_ndcg@10": [0.01, 0.05, 0.06],
            "selected": [False, False, True],
        }
    )
    sequence = pd.DataFrame(
        {
            "epoch": [1, 2],
            "loss": [4.0, 3.0],
            "val_ndcg@10": [0.07, 0.08],
            "best": [False, True],
            "selected": [False, True],
        }
    )
    figure = plot_learning_curves(gmf=ncf, sasrec=sequence)
    loss_axes = figure.axes[0]
    title = loss_axes.get_title()
    assert "BCE" not in title and "own objective" in title
    assert [line.get_label() for line in loss_axes.get_lines()] == ["gmf", "sasrec"]


# --- one tiny Kedro run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def kedro_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after ``kedro run --pipeline modelling --tags sasrec,gru``.

    The planted splits are saved through the copy's own catalog, the tiny
    settings go to its ``conf/local``.
    """
    project = make_project_copy(tmp_path_factory.mktemp("sequence_project"))
    local = {
        "sequence_training": TINY_TRAINING,
        **{
            name: {"model": model, "training_overrides": {}}
            for name, model in TINY_MODELS.items()
        },
    }
    (project / "conf" / "local" / "parameters.yml").write_text(yaml.safe_dump(local))
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog
        for name, frame in planted_splits().items():
            catalog.save(name, frame)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["modelling"], tags=list(SEQUENCE))
    return project


def _saved(project: Path, dataset: str, suffix: str) -> list[Path]:
    folder = (
        project
        / "data"
        / "default"
        / ("06_models" if suffix == "keras" else "08_reporting")
    )
    return sorted(folder.glob(f"{dataset}.{suffix}/*/{dataset}.{suffix}"))


@pytest.mark.slow
def test_kedro_run_saves_versioned_models_and_histories(kedro_run):
    for name in SEQUENCE:
        assert len(_saved(kedro_run, f"{name}_model", "keras")) == 1
        (history_file,) = _saved(kedro_run, f"{name}_training_history", "csv")
        history = pd.read_csv(history_file)
        assert history["epoch"].tolist() == [1, 2]
        assert history["selected"].sum() == 1
        assert {"loss", "val_ndcg@10", "elapsed_seconds"} <= set(history.columns)


#: Run in a fresh interpreter: the project's catalog, as a user's session has it.
#: For each model, saves its scores of fixed inputs and prints its validation
#: NDCG@10 (train history, train items masked).
_RELOAD = """
import json, sys
import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
project, out, ids = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]), "int32")
bootstrap_project(project)
with KedroSession.create(project_path=project) as session:
    catalog = session.load_context().catalog
    models = {name: catalog.load(f"{name}_model") for name in sys.argv[4:]}
    frames = [catalog.load(n) for n in ("train_interactions", "val_interactions")]
    n_users, n_items = len(catalog.load("user_mapping")), len(catalog.load("item_mapping"))
from ncf_recommender.training.sequence import sequence_validation, validate
_, validation = sequence_validation(*frames, n_users, n_items)
ndcg = {}
for name, model in models.items():
    np.save(f"{out}/{name}.npy", model.predict_on_batch(ids))
    ndcg[name] = validate(model, validation)["ndcg@10"]
print(json.dumps(ndcg))
"""


@pytest.mark.slow
def test_saved_models_reload_through_the_catalog_in_a_fresh_process(
    kedro_run, tmp_path
):
    """Safe-mode reloads in a new interpreter score as the trained models did."""
    ids = [[0, 0, 0, 0, 1, 2, 3, 4], [0, 0, 0, 0, 0, 0, 0, 7]]
    fresh = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(kedro_run), str(tmp_path)]
        + [json.dumps(ids), *SEQUENCE],
        cwd=kedro_run,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    validation = json.loads(fresh.stdout.strip().splitlines()[-1])
    bootstrap_project(kedro_run)
    with KedroSession.create(project_path=kedro_run) as session:
        catalog = session.load_context().catalog
        models = {name: catalog.load(f"{name}_model") for name in SEQUENCE}
    for name, model in models.items():
        (history_file,) = _saved(kedro_run, f"{name}_training_history", "csv")
        history = pd.read_csv(history_file)
        kept = history.loc[history["selected"]].iloc[0]
        # The epoch the trainer kept is the model that was saved.
        assert validation[name] == pytest.approx(kept["val_ndcg@10"], abs=1e-6)
        np.testing.assert_array_equal(
            np.load(tmp_path / f"{name}.npy"),
            model.predict_on_batch(np.array(ids, "int32")),
        )
