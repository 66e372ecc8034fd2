"""Progress of long steps: a live bar on a terminal, plain log lines elsewhere.

Every step that can take more than a few seconds at Electronics scale (k-core
rounds, negative sampling, training epochs, full-ranking evaluation, batch
Top-N) reports through :func:`progress`:

* on a terminal, a ``rich.progress`` bar (rich ships with Kedro) with the count,
  the rate in the step's unit per second and the time remaining;
* otherwise (CI, a redirected log file), INFO log lines at most every
  ``LOG_EVERY_SECONDS`` and one at the end, each with the count, rate and time
  remaining, so a log file shows the same facts without control characters.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

logger = logging.getLogger(__name__)

#: Seconds between two log lines when output is not a terminal.
LOG_EVERY_SECONDS = 15.0
#: Steps shorter than this leave no final log line (e.g. a per-epoch validation
#: of a small sample), so the log keeps to the steps that take time.
LOG_MIN_SECONDS = 2.0


def _is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def _eta(done: float, total: float | None, seconds: float) -> str:
    """``"ETA 12 s"`` from the rate so far, or ``""`` when unknown."""
    if not total or done <= 0 or seconds <= 0:
        return ""
    return f", ETA {(total - done) * seconds / done:.0f} s"


@contextmanager
def progress(
    description: str,
    total: float | None,
    *,
    unit: str = "items",
    stream: IO[str] | None = None,
) -> Iterator[Callable[[float], None]]:
    """Report the progress of one step.

    Args:
        description: What is done (e.g. ``"gmf epoch 3/100"``).
        total: Units of work in all, or ``None`` when unknown.
        unit: Name of a unit, used in the rate (``"examples"``, ``"users"``).
        stream: Where a terminal bar is drawn; ``None``: ``sys.stderr``.

    Yields:
        ``advance(n)``: call it with the units just completed.
    """
    stream = sys.stderr if stream is None else stream
    start = time.perf_counter()
    done = 0.0
    if _is_terminal(stream):
        from rich.console import Console  # noqa: PLC0415 (only on a terminal)
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream, force_terminal=True),
            transient=False,
        )
        with bar:
            task = bar.add_task(description, total=total, rate="")

            def advance(n: float) -> None:
                nonlocal done
                done += n
                seconds = time.perf_counter() - start
                rate = f"{done / seconds:,.0f} {unit}/s" if seconds > 0 else ""
                bar.update(task, advance=n, rate=rate)

            yield advance
        return
    last = start

    def advance(n: float) -> None:
        nonlocal done, last
        done += n
        now = time.perf_counter()
        if now - last >= LOG_EVERY_SECONDS:
            last = now
            _log_line(description, done, total, unit, now - start)

    yield advance
    seconds = time.perf_counter() - start
    if seconds >= LOG_MIN_SECONDS or last > start:
        _log_line(description, done, total, unit, seconds, final=True)


def _log_line(  # noqa: PLR0917 (private)
    description: str,
    done: float,
    total: float | None,
    unit: str,
    seconds: float,
    final: bool = False,
) -> None:
    """One plain progress line."""
    rate = done / seconds if seconds > 0 else 0.0
    count = f"{done:,.0f}/{total:,.0f}" if total else f"{done:,.0f}"
    logger.info(
        "%s: %s %s%s, %.1f s, %s %s/s%s",
        description,
        count,
        unit,
        f" ({100 * done / total:.0f}%)" if total and not final else "",
        seconds,
        f"{rate:,.0f}",
        unit,
        "" if final else _eta(done, total, seconds),
    )
