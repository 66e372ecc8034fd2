"""Nodes of the reporting pipeline: figures out, warnings for models without curves."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from pydantic import ValidationError

from ncf_recommender.pipelines.reporting import nodes

JAN_2014 = 1_388_534_400


@pytest.fixture
def interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b", "c"],
            "item_id": ["x", "y", "x", "y", "x"],
            "user_idx": np.array([0, 0, 1, 1, 2], dtype=np.int32),
            "item_idx": np.array([0, 1, 0, 1, 0], dtype=np.int32),
            "rating": [5.0, 4.0, 3.0, 5.0, 1.0],
            "timestamp": JAN_2014 + np.arange(5) * 40 * 86_400,
        }
    )


def test_long_tail_nodes_draw_the_kcore_minimum_from_the_report(interactions):
    report = {"kcore": {"min_user_interactions": 2, "min_item_interactions": 3}}
    users = nodes.plot_user_activity(interactions, interactions, report)
    items = nodes.plot_item_popularity(interactions, interactions, report)
    assert any("minimum (2)" in line.get_label() for line in users.axes[0].get_lines())
    assert any("minimum (3)" in line.get_label() for line in items.axes[0].get_lines())


def test_time_node_uses_the_configured_period(interactions):
    figure = nodes.plot_interactions_over_time(
        interactions, interactions, nodes.ReportingParams(time_bin="quarter")
    )
    assert "quarter" in figure.axes[0].get_title()
    assert figure.axes[0].get_lines()[0].get_ydata().sum() == len(interactions)


def test_params_reject_an_unknown_period_naming_the_key():
    with pytest.raises(ValidationError, match="time_bin"):
        nodes.ReportingParams(time_bin="hour")
    with pytest.raises(ValidationError, match="colour"):
        nodes.ReportingParams(colour="red")


def test_metric_nodes_skip_models_without_curves_with_a_warning(caplog):
    metrics = {
        "gmf": {
            "full": {"hr@10": 0.4, "curve": {"hr": [0.1, 0.2], "ndcg": [0.1, 0.15]}}
        },
        "als": {"full": {"hr@10": 0.3}},
    }
    params = nodes.ReportingParams()
    with caplog.at_level(logging.WARNING, logger=nodes.__name__):
        hr = nodes.plot_hit_rate_at_k(metrics, params)
        ndcg = nodes.plot_ndcg_at_k(metrics, params)
    assert isinstance(hr, Figure) and isinstance(ndcg, Figure)
    assert [line.get_label() for line in hr.axes[0].get_lines()] == ["gmf"]
    np.testing.assert_allclose(ndcg.axes[0].get_lines()[0].get_ydata(), [0.1, 0.15])
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all("['als']" in message for message in warned)
