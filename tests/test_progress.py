"""Progress: a bar on a terminal, plain log lines in a file."""

from __future__ import annotations

import io
import logging

from ncf_recommender import progress as progress_module
from ncf_recommender.progress import progress


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO) -> None:
    with progress("scoring users", 300, unit="users", stream=stream) as advance:
        for _ in range(3):
            advance(100)


def test_a_terminal_gets_a_bar_with_count_and_rate(caplog):
    stream = FakeTerminal()
    with caplog.at_level(logging.INFO, logger="ncf_recommender.progress"):
        _run(stream)
    drawn = stream.getvalue()
    assert "scoring users" in drawn and "300/300" in drawn and "users/s" in drawn
    assert "\x1b[" in drawn  # terminal control sequences: a live bar
    assert not caplog.records  # no duplicate log lines on a terminal


def test_a_file_gets_plain_log_lines_and_no_bar(caplog, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0.0)
    monkeypatch.setattr(progress_module, "LOG_MIN_SECONDS", 0.0)
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="ncf_recommender.progress"):
        _run(stream)
    assert stream.getvalue() == ""
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 4  # three updates and the final line
    assert lines[0].startswith("scoring users: 100/300 users (33%)")
    assert "users/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("scoring users: 300/300 users,")
    assert all("\x1b[" not in line for line in lines)


def test_a_short_step_in_a_file_leaves_no_line(caplog):
    with caplog.at_level(logging.INFO, logger="ncf_recommender.progress"):
        _run(io.StringIO())
    assert not caplog.records


def _long_steps(tmp_path) -> None:
    """Reading a gzip file, cleaning, the k-core filter and evaluation negatives."""
    import gzip  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from ncf_recommender.pipelines.data_processing.nodes import (  # noqa: PLC0415
        clean_ratings,
        filter_k_core,
    )
    from ncf_recommender.pipelines.data_processing.params import (  # noqa: PLC0415
        KCoreParams,
        SourceParams,
    )
    from ncf_recommender.readers import DelimitedRatingsDataset  # noqa: PLC0415
    from ncf_recommender.training.sampling import sample_eval_candidates  # noqa: PLC0415

    path = tmp_path / "ratings.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("user,item\nu1,i1\nu2,i2\n")
    assert len(DelimitedRatingsDataset(filepath=str(path)).load()) == 2
    rng = np.random.default_rng(0)
    users = rng.integers(0, 40, 600)
    items = rng.integers(0, 30, 600)
    raw = pd.DataFrame(
        {
            "user_id": pd.array(users.astype(str), dtype="string"),
            "item_id": pd.array(items.astype(str), dtype="string"),
            "rating": 5.0,
            "timestamp": np.arange(600, dtype=np.int64),
        }
    )
    cleaned, report = clean_ratings(raw, {"rows_in": 600}, SourceParams())
    filter_k_core(cleaned, report, KCoreParams(min_user_interactions=3))
    sample_eval_candidates(users, items, np.arange(40), 30, n_negatives=5, seed=1)


STEPS = (
    "reading ratings.csv.gz",
    "cleaning ratings",
    "k-core filter",
    "evaluation negatives",
)


def test_long_steps_draw_bars_on_a_terminal(tmp_path, monkeypatch, caplog):
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with caplog.at_level(logging.INFO, logger="ncf_recommender.progress"):
        _long_steps(tmp_path)
    drawn = terminal.getvalue()
    for step in STEPS:
        assert step in drawn, step
    assert "rows/s" in drawn and "MB/s" in drawn
    # no plain progress lines beside the bars (other loggers may log as usual)
    assert not [r for r in caplog.records if r.name == "ncf_recommender.progress"]


def test_long_steps_log_plain_lines_in_a_file(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(progress_module, "LOG_MIN_SECONDS", 0.0)
    log_file = io.StringIO()
    monkeypatch.setattr("sys.stderr", log_file)
    with caplog.at_level(logging.INFO, logger="ncf_recommender.progress"):
        _long_steps(tmp_path)
    assert log_file.getvalue() == ""  # no bar
    lines = [record.getMessage() for record in caplog.records]
    for step in STEPS:
        assert any(line.startswith(step) for line in lines), step
    assert all("\x1b[" not in line for line in lines)
