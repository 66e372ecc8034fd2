"""Figure builders for the reporting plots (plain matplotlib, no Kedro import).

Every builder answers one question with one :class:`~matplotlib.figure.Figure`
drawn on the non-interactive Agg canvas. Figures are built through the
object-oriented API (never ``pyplot``), so building many of them keeps no
global state and leaks no open figures; the caller saves them (in the project,
``matplotlib.MatplotlibDataset`` does).

Data plots read ``raw_ratings`` (the source as read) and ``interactions`` (after
cleaning and the k-core filter) and show both, so the effect of cleaning is
visible; model plots read per-K metric curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ncf_recommender.constants import ITEM_ID, RATING, TIMESTAMP, USER_ID

#: Size of every figure, in inches.
FIGSIZE = (8.0, 5.0)
#: Label of the data as read, and after cleaning + k-core, in every data plot.
RAW_LABEL = "raw_ratings (as read)"
CLEAN_LABEL = "interactions (cleaned, k-core)"
#: Metrics drawn in the model comparison chart, per ranking scope.
COMPARISON_METRICS = {
    "full": ("hr@10", "ndcg@10", "mrr"),
    "sampled": ("hr@10", "ndcg@10"),
}

TimeBin = Literal["day", "week", "month", "quarter", "year"]
_PERIODS: dict[str, str] = {
    "day": "D",
    "week": "W",
    "month": "M",
    "quarter": "Q",
    "year": "Y",
}

#: Titles of the per-K metrics, keyed by the curve key in ``ranking_metrics``.
METRIC_NAMES: dict[str, str] = {"hr": "HR@K (hit rate)", "ndcg": "NDCG@K"}


def new_figure() -> tuple[Figure, Axes]:
    """A figure of :data:`FIGSIZE` on an Agg canvas, with one set of axes.

    Returns:
        The figure and its axes.
    """
    figure = Figure(figsize=FIGSIZE, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def side_by_side(columns: int) -> tuple[Figure, list[Axes]]:
    """A figure on an Agg canvas with ``columns`` side-by-side axes.

    Args:
        columns: Number of panels.

    Returns:
        The figure and its axes, left to right.
    """
    figure = Figure(figsize=(5.0 * columns, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise ValueError(
            f"'{name}' lacks column(s) {absent}; it has {list(frame.columns)}"
        )


def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}"


def rank_frequency(ids: pd.Series) -> np.ndarray:
    """Interactions per id, most active first (missing ids are ignored).

    Args:
        ids: One id per interaction.

    Returns:
        The counts, sorted in decreasing order (index 0 is rank 1).
    """
    _codes, uniques = pd.factorize(ids.dropna())
    counts = np.bincount(_codes, minlength=len(uniques))
    return np.sort(counts)[::-1]


def _long_tail(
    raw: pd.DataFrame,
    interactions: pd.DataFrame,
    column: str,
    entity: str,
    minimum: int | None,
) -> Figure:
    _require_columns(raw, [column], "raw_ratings")
    _require_columns(interactions, [column], "interactions")
    figure, axes = new_figure()
    for frame, label in ((raw, RAW_LABEL), (interactions, CLEAN_LABEL)):
        counts = rank_frequency(frame[column])
        if counts.size:
            ranks = np.arange(1, counts.size + 1)
            axes.plot(
                ranks,
                counts,
                drawstyle="steps-post",
                label=f"{label}: {counts.size:,} {entity}s",
            )
    if minimum is not None and minimum > 1:
        axes.axhline(
            minimum, color="grey", linestyle=":", label=f"k-core minimum ({minimum})"
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(f"{entity} rank (1 = most interactions; log scale)")
    axes.set_ylabel(f"interactions per {entity} (count; log scale)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend()
    return figure


def user_activity_figure(
    raw: pd.DataFrame, interactions: pd.DataFrame, minimum: int | None = None
) -> Figure:
    """How unequal is user activity? Rank-frequency of interactions per user, log-log.

    Args:
        raw: ``raw_ratings`` (needs ``user_id``).
        interactions: ``interactions`` (needs ``user_id``).
        minimum: The k-core's minimum interactions per user, drawn as a line.

    Returns:
        The figure.

    Raises:
        ValueError: If a frame lacks ``user_id``.
    """
    figure = _long_tail(raw, interactions, USER_ID, "user", minimum)
    figure.axes[0].set_title("User activity long tail: interactions per user, by rank")
    return figure


def item_popularity_figure(
    raw: pd.DataFrame, interactions: pd.DataFrame, minimum: int | None = None
) -> Figure:
    """How concentrated is item popularity? Rank-frequency per item, log-log.

    Args:
        raw: ``raw_ratings`` (needs ``item_id``).
        interactions: ``interactions`` (needs ``item_id``).
        minimum: The k-core's minimum interactions per item, drawn as a line.

    Returns:
        The figure.

    Raises:
        ValueError: If a frame lacks ``item_id``.
    """
    figure = _long_tail(raw, interactions, ITEM_ID, "item", minimum)
    figure.axes[0].set_title(
        "Item popularity long tail: interactions per item, by rank"
    )
    return figure


def interactions_per_period(
    timestamps: pd.Series, time_bin: TimeBin = "month"
) -> pd.Series:
    """Number of interactions in each calendar period (missing timestamps ignored).

    Args:
        timestamps: Unix seconds.
        time_bin: Length of a period.

    Returns:
        Counts indexed by the period's start (a ``DatetimeIndex``), every period
        between the first and the last present (zero where none).

    Raises:
        ValueError: If ``time_bin`` is not one of :data:`TimeBin`.
    """
    if time_bin not in _PERIODS:
        raise ValueError(f"time_bin must be one of {list(_PERIODS)}, got {time_bin!r}")
    seconds = pd.to_numeric(timestamps, errors="coerce").dropna().astype("int64")
    if seconds.empty:
        return pd.Series(dtype="int64", index=pd.DatetimeIndex([]))
    periods = pd.to_datetime(seconds, unit="s").dt.to_period(_PERIODS[time_bin])
    counts = periods.value_counts().sort_index()
    full = pd.period_range(
        counts.index.min(), counts.index.max(), freq=counts.index.freq
    )
    counts = counts.reindex(full, fill_value=0)
    return pd.Series(
        counts.to_numpy(), index=full.to_timestamp(how="start"), dtype="int64"
    )


def interactions_over_time_figure(
    raw: pd.DataFrame, interactions: pd.DataFrame, time_bin: TimeBin = "month"
) -> Figure:
    """When did the interactions happen? Interactions per period, raw and cleaned.

    Args:
        raw: ``raw_ratings`` (needs ``timestamp``, unix seconds).
        interactions: ``interactions`` (needs ``timestamp``).
        time_bin: Length of a period.

    Returns:
        The figure.

    Raises:
        ValueError: If a frame lacks ``timestamp`` or ``time_bin`` is unknown.
    """
    _require_columns(raw, [TIMESTAMP], "raw_ratings")
    _require_columns(interactions, [TIMESTAMP], "interactions")
    figure, axes = new_figure()
    for frame, label in ((raw, RAW_LABEL), (interactions, CLEAN_LABEL)):
        counts = interactions_per_period(frame[TIMESTAMP], time_bin)
        axes.plot(counts.index, counts.to_numpy(), drawstyle="steps-post", label=label)
    axes.set_title(f"Interactions over time (per {time_bin})")
    axes.set_xlabel(f"{time_bin} (UTC, start of period)")
    axes.set_ylabel(f"interactions per {time_bin} (count)")
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure


def rating_shares(ratings: pd.Series) -> pd.Series:
    """Share of each rating value among the present ratings, in percent.

    Args:
        ratings: Rating values (non-numeric or missing ones are ignored).

    Returns:
        Percent per distinct value, indexed by the value in increasing order.
    """
    values = pd.to_numeric(ratings, errors="coerce").dropna()
    if values.empty:
        return pd.Series(dtype="float64")
    return values.value_counts(normalize=True).sort_index() * 100.0


def rating_distribution_figure(raw: pd.DataFrame, interactions: pd.DataFrame) -> Figure:
    """Which star ratings do people give? Share of each rating, raw and cleaned.

    Args:
        raw: ``raw_ratings`` (needs ``rating``); out-of-range values show up.
        interactions: ``interactions`` (needs ``rating``).

    Returns:
        The figure.

    Raises:
        ValueError: If a frame lacks ``rating``.
    """
    _require_columns(raw, [RATING], "raw_ratings")
    _require_columns(interactions, [RATING], "interactions")
    shares = pd.DataFrame(
        {
            RAW_LABEL: rating_shares(raw[RATING]),
            CLEAN_LABEL: rating_shares(interactions[RATING]),
        }
    ).fillna(0.0)
    figure, axes = new_figure()
    positions = np.arange(len(shares))
    width = 0.4
    for offset, (label, values) in zip(
        (-width / 2, width / 2), shares.items(), strict=True
    ):
        bars = axes.bar(positions + offset, values.to_numpy(), width, label=label)
        axes.bar_label(bars, fmt="%.1f", fontsize="small", padding=2)
    axes.set_xticks(positions, [f"{value:g}" for value in shares.index])
    axes.set_title("Star rating distribution")
    axes.set_xlabel("rating (stars)")
    axes.set_ylabel("share of ratings (%)")
    axes.legend()
    return figure


def cleaning_steps(report: Mapping[str, Any]) -> pd.Series:
    """Rows removed by each cleaning step, in pipeline order, from ``cleaning_report``.

    Args:
        report: The ``cleaning_report`` JSON (``rows_dropped`` per reason,
            ``duplicates_collapsed``, optional ``rows_below_implicit_threshold``,
            ``kcore.rows_dropped``).

    Returns:
        Rows removed, indexed by a readable step name.

    Raises:
        KeyError: If a required key is absent; the message names it.
    """
    for key in ("rows_in", "rows_out", "rows_dropped", "duplicates_collapsed", "kcore"):
        if key not in report:
            raise KeyError(
                f"cleaning_report lacks key '{key}'; it has {sorted(report)}"
            )
    if "rows_dropped" not in report["kcore"]:
        raise KeyError(
            f"cleaning_report lacks key 'kcore.rows_dropped'; kcore has {sorted(report['kcore'])}"
        )
    steps = {
        reason.replace("_", " "): int(n) for reason, n in report["rows_dropped"].items()
    }
    steps["duplicate (user, item) collapsed"] = int(report["duplicates_collapsed"])
    if "rows_below_implicit_threshold" in report:
        steps["below implicit threshold"] = int(report["rows_below_implicit_threshold"])
    kcore = report["kcore"]
    steps[f"k-core filter ({kcore.get('rounds', '?')} rounds)"] = int(
        kcore["rows_dropped"]
    )
    return pd.Series(steps, dtype="int64")


def cleaning_figure(report: Mapping[str, Any]) -> Figure:
    """What did cleaning drop? Rows removed per step, with their share of the rows read.

    Args:
        report: The ``cleaning_report`` JSON.

    Returns:
        The figure.

    Raises:
        KeyError: If a required key of the report is absent.
    """
    steps = cleaning_steps(report)
    rows_in, rows_out = int(report["rows_in"]), int(report["rows_out"])
    figure, axes = new_figure()
    positions = np.arange(len(steps))[::-1]  # first step at the top
    bars = axes.barh(positions, steps.to_numpy(), color="tab:red")
    share = steps.to_numpy() / max(rows_in, 1) * 100.0
    axes.bar_label(
        bars,
        labels=[f"{n:,} ({p:.2f} %)" for n, p in zip(steps, share, strict=True)],
        padding=3,
    )
    axes.set_yticks(positions, list(steps.index))
    axes.set_xlim(0, max(int(steps.max()), 1) * 1.45)
    axes.xaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_title(f"What cleaning removed: {rows_in:,} rows read, {rows_out:,} kept")
    axes.set_xlabel("rows removed (count; % of rows read)")
    axes.set_ylabel("cleaning step (in pipeline order)")
    return figure


def metric_curves(
    ranking_metrics: Mapping[str, Any], metric: str, scope: str = "full"
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per-K curves of one metric, per model, from the ``ranking_metrics`` JSON.

    A model's curve is read from ``entry[scope]["curve"][metric]`` (a list whose
    i-th value is the metric at K = i + 1).

    Args:
        ranking_metrics: ``{model: {scope: {"curve": {"hr": [...], "ndcg": [...]}}}}``.
        metric: ``"hr"`` or ``"ndcg"``.
        scope: ``"full"`` or ``"sampled"`` ranking.

    Returns:
        The curves by model name (in the report's order), and the names of the
        models whose entry has no such curve.

    Raises:
        ValueError: If a curve is empty or holds a value outside [0, 1]; the
            message names the model.
    """
    curves: dict[str, np.ndarray] = {}
    missing: list[str] = []
    for model, entry in ranking_metrics.items():
        values = (
            entry.get(scope, {}).get("curve", {}).get(metric)
            if isinstance(entry, Mapping)
            else None
        )
        if values is None:
            missing.append(model)
            continue
        curve = np.asarray(values, dtype=np.float64)
        if (
            curve.ndim != 1
            or curve.size == 0
            or not np.all((curve >= 0) & (curve <= 1))
        ):
            raise ValueError(
                f"ranking_metrics['{model}']['{scope}']['curve']['{metric}'] must be a "
                f"non-empty list of values in [0, 1], got {values!r}"
            )
        curves[model] = curve
    return curves, missing


def metric_at_k_figure(
    curves: Mapping[str, np.ndarray],
    metric: str,
    scope: str = "full",
    baselines: Sequence[str] = (),
) -> Figure:
    """How does a ranking metric grow with the list length K, per model?

    Args:
        curves: Metric at K = 1, 2, ... per model (see :func:`metric_curves`).
        metric: ``"hr"`` or ``"ndcg"`` (key of :data:`METRIC_NAMES`).
        scope: ``"full"`` or ``"sampled"`` ranking, for the title.
        baselines: Model names drawn dashed, as reference points.

    Returns:
        The figure (with a note instead of lines when there is no curve).

    Raises:
        ValueError: If ``metric`` is unknown.
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {list(METRIC_NAMES)}, got {metric!r}")
    name = METRIC_NAMES[metric]
    figure, axes = new_figure()
    ranking = (
        "full ranking, train and validation items removed"
        if scope == "full"
        else ("each test item among its 99 sampled negatives")
    )
    max_k = max((len(curve) for curve in curves.values()), default=0)
    ks_shown = f", K = 1 ... {max_k}" if max_k else ""
    axes.set_title(f"{name} on test users{ks_shown}\n({ranking})")
    for model, curve in curves.items():
        ks = np.arange(1, len(curve) + 1)
        style = "--" if model in baselines else "-"
        axes.plot(ks, curve, style, marker="o", markersize=3, label=model)
    if curves:
        axes.legend(title="model (dashed: baseline)")
    else:
        axes.text(
            0.5,
            0.5,
            f"no model has per-K values\n(expected: ranking_metrics[<model>]['{scope}']['curve'])",
            ha="center",
            transform=axes.transAxes,
        )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("K (length of the recommendation list, items)")
    unit = (
        "share of test users with the item in the top K"
        if metric == "hr"
        else "mean over test users, 0-1"
    )
    axes.set_ylabel(f"{name.split(' ')[0]} ({unit})")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    return figure


def learning_curves_figure(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """How did each model's loss and validation NDCG@10 evolve per epoch?

    Args:
        histories: The ``<model>_training_history`` frames, by model name.

    The loss panel shows each model's own training objective (BCE for the NCF
    family, softmax cross-entropy for the sequence models) on a log scale:
    compare its shape per model, not its level across models.

    Returns:
        Two panels (training loss, validation NDCG@10), one line per model and
        the selected epoch marked.

    Raises:
        ValueError: If a history lacks a column.
    """
    figure, (loss_axes, ndcg_axes) = side_by_side(2)
    for name, history in histories.items():
        missing = {"epoch", "loss", "val_ndcg@10", "selected"} - set(history.columns)
        if missing:
            raise ValueError(f"{name}_training_history lacks columns {sorted(missing)}")
        trained = history[history["epoch"] > 0]
        (line,) = loss_axes.plot(
            trained["epoch"], trained["loss"], marker=".", label=name
        )
        ndcg_axes.plot(
            history["epoch"],
            history["val_ndcg@10"],
            marker=".",
            color=line.get_color(),
            label=name,
        )
        chosen = history[history["selected"].astype(bool)]
        ndcg_axes.scatter(
            chosen["epoch"],
            chosen["val_ndcg@10"],
            s=120,
            facecolors="none",
            edgecolors=line.get_color(),
            zorder=3,
        )
    # NCF models minimise BCE (+ L2), sequence models a (sampled) softmax
    # cross-entropy: the values are not comparable across families, hence the
    # log scale (both visible) and the title.
    loss_axes.set(
        title="Training loss (each model's own objective)",
        xlabel="epoch",
        ylabel="loss (log scale)",
        yscale="log",
    )
    ndcg_axes.set(
        title="Validation NDCG@10 (circle: kept epoch)",
        xlabel="epoch (0 = before training; full ranking, train items removed)",
        ylabel="NDCG@10",
    )
    for axes in (loss_axes, ndcg_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def model_comparison_figure(ranking_metrics: Mapping[str, Mapping[str, Any]]) -> Figure:
    """How do the models and baselines compare on full and sampled test metrics?

    Args:
        ranking_metrics: The combined report.

    Returns:
        Two panels of grouped bars (full ranking; 1 + 99 sampled), one group
        per metric and one bar per model.
    """
    figure, panels = side_by_side(2)
    names = list(ranking_metrics)
    width = 0.8 / max(len(names), 1)
    for axes, (scope, metrics) in zip(panels, COMPARISON_METRICS.items(), strict=True):
        positions = np.arange(len(metrics))
        for index, name in enumerate(names):
            block = ranking_metrics[name].get(scope, {})
            values = [float(block.get(metric, np.nan)) for metric in metrics]
            bars = axes.bar(positions + index * width, values, width, label=name)
            axes.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
        axes.set_xticks(positions + width * (len(names) - 1) / 2, metrics)
        axes.set(title=f"Test, {scope} ranking", ylabel="value")
        axes.margins(y=0.15)
        axes.grid(axis="y", alpha=0.3)
    panels[0].legend()
    return figure


def cold_warm_figure(
    groups: Mapping[str, Mapping[str, Mapping[str, float] | None]], title: str = ""
) -> Figure:
    """How does each model rank known (warm) and new (cold) test items?

    Args:
        groups: Per model, ``{"warm": {...}, "cold": {...}}`` metrics with
            ``ndcg@10`` and ``ndcg@10_se`` (as
            :func:`~ncf_recommender.evaluation.cold_start.metrics_by_group`
            gives them; a ``None`` group is drawn empty).
        title: What the figure shows (data set, seeds).

    Returns:
        One panel: per model, a warm and a cold bar of NDCG@10 with one
        standard error.
    """
    figure, axes = new_figure()
    names = list(groups)
    positions = np.arange(len(names))
    for offset, group in ((-0.2, "warm"), (0.2, "cold")):
        blocks = [groups[name].get(group) or {} for name in names]
        values = [float(block.get("ndcg@10", np.nan)) for block in blocks]
        errors = [float(block.get("ndcg@10_se", 0.0)) for block in blocks]
        bars = axes.bar(
            positions + offset,
            values,
            0.4,
            yerr=errors,
            capsize=3,
            label=f"{group} items",
        )
        axes.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    axes.set_xticks(positions, names, rotation=20, ha="right")
    axes.set(title=title or "Warm and cold test items", ylabel="full-ranking NDCG@10")
    axes.margins(y=0.15)
    axes.grid(axis="y", alpha=0.3)
    axes.legend()
    return figure
