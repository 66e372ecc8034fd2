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
