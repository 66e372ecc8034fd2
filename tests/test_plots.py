"""Figure builders of ncf_recommender.plots, on tiny hand-made frames."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ncf_recommender import plots

DAY = 86_400
JAN_2014 = 1_388_534_400  # 2014-01-01 00:00 UTC


@pytest.fixture
def raw() -> pd.DataFrame:
    """Five users, dirty rows (missing ids, out-of-range rating) included."""
    return pd.DataFrame(
        {
            "user_id": pd.array(
                ["a", "a", "a", "b", "b", "c", None, "d"], dtype="string"
            ),
            "item_id": pd.array(
                ["x", "y", "z", "x", "y", "x", "y", None], dtype="string"
            ),
            "rating": [5.0, 4.0, 5.0, 1.0, 5.0, 7.0, 3.0, 2.0],
            "timestamp": pd.array(
                [
                    JAN_2014,
                    JAN_2014 + DAY,
                    JAN_2014 + 70 * DAY,
                    JAN_2014,
                    JAN_2014,
                    None,
                    0,
                    0,
                ],
                dtype="Int64",
            ),
        }
    )


@pytest.fixture
def interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b"],
            "item_id": ["x", "y", "z", "x", "y"],
            "user_idx": np.array([0, 0, 0, 1, 1], dtype=np.int32),
            "item_idx": np.array([0, 1, 2, 0, 1], dtype=np.int32),
            "rating": [5.0, 4.0, 5.0, 1.0, 5.0],
            "timestamp": [
                JAN_2014,
                JAN_2014 + DAY,
                JAN_2014 + 70 * DAY,
                JAN_2014,
                JAN_2014,
            ],
        }
    )


@pytest.fixture
def cleaning_report() -> dict:
    return {
        "rows_in": 100,
        "missing": {"user_id": 1, "item_id": 1, "rating": 0, "timestamp": 0},
        "unparsable": {"rating": 2, "timestamp": 0},
        "rows_dropped": {
            "missing_user_id": 1,
            "missing_item_id": 1,
            "missing_or_unparsable_rating": 2,
            "missing_or_unparsable_timestamp": 0,
            "rating_out_of_range": 3,
        },
        "duplicates_collapsed": 4,
        "rows_below_implicit_threshold": 0,
        "kcore": {
            "rounds": 2,
            "rows_dropped": 39,
            "users_dropped": 5,
            "items_dropped": 6,
        },
        "rows_out": 50,
        "users_out": 5,
        "items_out": 4,
    }


def _curve_metrics() -> dict:
    ks = np.arange(1, 21)
    return {
        "neumf": {
            "full": {
                "hr@10": 0.5,
                "curve": {"hr": list(ks / 20), "ndcg": list(ks / 40)},
            }
        },
        "most_popular": {
            "full": {"curve": {"hr": list(ks / 30), "ndcg": list(ks / 60)}}
        },
        "als": {"full": {"hr@10": 0.3}, "sampled": {"curve": {"hr": [0.5] * 20}}},
    }


def _lines(figure: Figure) -> dict[str, np.ndarray]:
    axes = figure.axes[0]
    return {line.get_label(): np.asarray(line.get_ydata()) for line in axes.get_lines()}


def _assert_readable(figure: Figure) -> None:
    axes = figure.axes[0]
    assert axes.get_title() and axes.get_xlabel() and axes.get_ylabel()


def test_rank_frequency_sorts_counts_and_ignores_missing_ids(raw):
    np.testing.assert_array_equal(plots.rank_frequency(raw["user_id"]), [3, 2, 1, 1])
    np.testing.assert_array_equal(plots.rank_frequency(raw["item_id"]), [3, 3, 1])


def test_interactions_per_period_fills_empty_months_with_zero(interactions):
    counts = plots.interactions_per_period(interactions["timestamp"], "month")
    assert list(counts.index.strftime("%Y-%m")) == ["2014-01", "2014-02", "2014-03"]
    assert counts.tolist() == [4, 0, 1]


def test_interactions_per_period_ignores_missing_and_rejects_unknown_bin(raw):
    assert plots.interactions_per_period(raw["timestamp"], "year").sum() == 7
    with pytest.raises(ValueError, match="time_bin.*'hour'"):
        plots.interactions_per_period(raw["timestamp"], "hour")


def test_rating_shares_are_percent_per_value(interactions):
    shares = plots.rating_shares(interactions["rating"])
    assert shares.to_dict() == pytest.approx({1.0: 20.0, 4.0: 20.0, 5.0: 60.0})


def test_long_tail_figures_plot_both_frames_log_log(raw, interactions):
    figure = plots.user_activity_figure(raw, interactions, minimum=5)
    _assert_readable(figure)
    axes = figure.axes[0]
    assert axes.get_xscale() == axes.get_yscale() == "log"
    lines = _lines(figure)
    raw_line = next(
        y for label, y in lines.items() if label.startswith(plots.RAW_LABEL)
    )
    clean_line = next(
        y for label, y in lines.items() if label.startswith(plots.CLEAN_LABEL)
    )
    np.testing.assert_array_equal(raw_line, [3, 2, 1, 1])
    np.testing.assert_array_equal(clean_line, [3, 2])
    assert any("k-core minimum (5)" in label for label in lines)
    items = plots.item_popularity_figure(raw, interactions)
    assert "item" in items.axes[0].get_title().lower()
    assert not any("minimum" in label for label in _lines(items))


def test_interactions_over_time_figure(raw, interactions):
    figure = plots.interactions_over_time_figure(raw, interactions, "month")
    _assert_readable(figure)
    assert "month" in figure.axes[0].get_ylabel()
    assert _lines(figure)[plots.CLEAN_LABEL].tolist() == [4, 0, 1]


def test_rating_distribution_figure_shows_out_of_range_raw_values(raw, interactions):
    figure = plots.rating_distribution_figure(raw, interactions)
    _assert_readable(figure)
    ticks = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert ticks == ["1", "2", "3", "4", "5", "7"]
    assert "%" in figure.axes[0].get_ylabel()


def test_cleaning_steps_in_pipeline_order(cleaning_report):
    steps = plots.cleaning_steps(cleaning_report)
    assert steps.tolist() == [1, 1, 2, 0, 3, 4, 0, 39]
    assert steps.index[-1] == "k-core filter (2 rounds)"
    assert steps.sum() == cleaning_report["rows_in"] - cleaning_report["rows_out"]


@pytest.mark.parametrize("key", ["rows_dropped", "duplicates_collapsed", "kcore"])
def test_cleaning_steps_names_a_missing_key(cleaning_report, key):
    del cleaning_report[key]
    with pytest.raises(KeyError, match=key):
        plots.cleaning_steps(cleaning_report)


def test_cleaning_figure_labels_counts_and_shares(cleaning_report):
    figure = plots.cleaning_figure(cleaning_report)
    _assert_readable(figure)
    axes = figure.axes[0]
    assert "100 rows read, 50 kept" in axes.get_title()
    labels = [text.get_text() for text in axes.texts]
    assert "39 (39.00 %)" in labels


def test_metric_curves_reads_the_scope_and_lists_models_without_one():
    curves, missing = plots.metric_curves(_curve_metrics(), "hr", "full")
    assert list(curves) == ["neumf", "most_popular"] and missing == ["als"]
    np.testing.assert_allclose(curves["neumf"], np.arange(1, 21) / 20)
    sampled, missing = plots.metric_curves(_curve_metrics(), "hr", "sampled")
    assert list(sampled) == ["als"] and missing == ["neumf", "most_popular"]


def test_metric_curves_rejects_values_outside_unit_interval():
    metrics = {"gmf": {"full": {"curve": {"ndcg": [0.1, 1.5]}}}}
    with pytest.raises(ValueError, match=r"ranking_metrics\['gmf'\]"):
        plots.metric_curves(metrics, "ndcg")


def test_metric_at_k_figure_one_line_per_model_baselines_dashed():
    curves, _ = plots.metric_curves(_curve_metrics(), "ndcg")
    figure = plots.metric_at_k_figure(
        curves, "ndcg", "full", baselines=["most_popular"]
    )
    _assert_readable(figure)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) == {"neumf", "most_popular"}
    assert lines["most_popular"].get_linestyle() == "--"
    assert lines["neumf"].get_linestyle() == "-"
    np.testing.assert_array_equal(lines["neumf"].get_xdata(), np.arange(1, 21))
    assert "K = 1 ... 20" in figure.axes[0].get_title()
    with pytest.raises(ValueError, match="metric"):
        plots.metric_at_k_figure(curves, "mrr")


def test_metric_at_k_figure_without_curves_says_so():
    figure = plots.metric_at_k_figure({}, "hr")
    assert not figure.axes[0].get_lines()
    assert any("no model" in text.get_text() for text in figure.axes[0].texts)
    assert "K = 1" not in figure.axes[0].get_title()


def test_missing_column_is_named(raw, interactions):
    with pytest.raises(ValueError, match="'interactions' lacks column.*timestamp"):
        plots.interactions_over_time_figure(raw, interactions.drop(columns="timestamp"))


def test_figures_save_as_png(tmp_path, raw, interactions):
    path = tmp_path / "users.png"
    plots.user_activity_figure(raw, interactions).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_imports_neither_kedro_nor_pyplot():
    code = (
        "import sys, ncf_recommender.plots; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'kedro' "
        "or m == 'matplotlib.pyplot'); print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cold_warm_figure_draws_a_warm_and_a_cold_bar_per_model():
    groups = {
        "content_knn": {
            "warm": {"ndcg@10": 0.03, "ndcg@10_se": 0.002},
            "cold": {"ndcg@10": 0.033, "ndcg@10_se": 0.005},
        },
        "sasrec": {"warm": {"ndcg@10": 0.13, "ndcg@10_se": 0.004}, "cold": None},
    }
    figure = plots.cold_warm_figure(groups, "default")
    axes = figure.axes[0]
    heights = [patch.get_height() for patch in axes.patches]
    assert heights[:2] == [0.03, 0.13] and heights[2] == 0.033
    assert np.isnan(heights[3])  # no cold group: an empty bar, not a zero
    assert [t.get_text() for t in axes.get_xticklabels()] == ["content_knn", "sasrec"]
