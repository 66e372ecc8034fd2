"""The model registry is the one list the pipelines, the catalog and serving read."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.models.registry import MODELS, build_model, get_model, model_names
from ncf_recommender.models.specs import GMFParams, SASRecParams
from ncf_recommender.pipelines.modelling import pipeline as modelling
from ncf_recommender.pipelines.modelling.params import ModelParams, SequenceModelParams
from ncf_recommender.serving._registry import model_types
from tests.catalog_entries import ResolvedCatalog

PROJECT = Path(__file__).resolve().parents[2]


def test_every_registered_model_is_trained_catalogued_and_servable():
    catalog = ResolvedCatalog(
        EnvironmentConfigLoader(
            conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="base"
        )["catalog"]
    )
    served = model_types()
    pipeline = modelling.create_pipeline(tuple(MODELS))
    for name, entry in MODELS.items():
        assert f"{name}.train_model" in {node.name for node in pipeline.nodes}
        assert catalog[f"{name}_model"]["filepath"].endswith(f"{name}_model.keras")
        assert catalog[f"{name}_training_history"]["versioned"] is True
        assert served[name].dataset == entry.dataset == f"{name}_model"
        assert served[name].uses_history is entry.uses_history
    assert model_names("ncf") + model_names("sequence") == tuple(MODELS)


def test_the_architecture_unions_are_the_registry_specs():
    assert isinstance(
        ModelParams.model_validate({"architecture": "gmf"}).root, GMFParams
    )
    spec = SequenceModelParams.model_validate({"architecture": "sasrec"}).root
    assert isinstance(spec, SASRecParams)
    with pytest.raises(ValueError, match="unknown model 'bert4rec'"):
        get_model("bert4rec")


def test_build_model_dispatches_on_the_validated_spec():
    model = build_model(
        GMFParams(architecture="gmf", embedding_dim=4), n_users=3, n_items=5
    )
    assert model.name == "gmf" and model.count_params() == 3 * 4 + 5 * 4 + 4 + 1
    with pytest.raises(ValueError, match="no registered model builds"):
        build_model(object(), n_users=3, n_items=5)
