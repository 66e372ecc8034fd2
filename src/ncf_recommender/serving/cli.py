"""``ncf-recommend USER_ID [--top-n N] [--model NAME] [--history ITEM ...]``: a Top-N table.

Loads the model from the Kedro project in the working directory (or
``--project`` / ``$NCF_PROJECT_PATH``) through :func:`recommend_items` and
prints a readable table, or JSON with ``--json``. ``--history`` (sequence
models ``sasrec`` and ``gru`` only) adds item ids, oldest first, after the
user's catalogued history, or serves an unknown user from them alone. Exit
status 0 on success, 1 for an unknown user when cold start is disabled, 2 for
bad arguments (including a history given to an NCF model or holding no known
item for an unknown user).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence

from ncf_recommender.serving import (
    Recommendation,
    UnknownUserError,
    model_types,
    recommend_items,
)
from ncf_recommender.serving._settings import AUTO

#: Longest title shown in the table (the JSON output has it whole).
TITLE_WIDTH = 60


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (>= 1), got {value}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="ncf-recommend",
        description="Top-N product recommendations for one user (original user id).",
    )
    parser.add_argument("user_id", help="original user id, e.g. a reviewer id")
    parser.add_argument(
        "--top-n", type=_positive_int, default=10, help="items (default 10)"
    )
    parser.add_argument(
        "--model",
        choices=[*sorted(model_types()), AUTO],
        default=None,
        help="model to use (default: the recommendation.model parameter)",
    )
    parser.add_argument(
        "--version", default=None, help="model version timestamp to pin"
    )
    parser.add_argument(
        "--history",
        nargs="+",
        default=None,
        metavar="ITEM_ID",
        help="sequence models: item ids, oldest first, read as the newest events",
    )
    parser.add_argument(
        "--project",
        default=None,
        help="Kedro project root (default: $NCF_PROJECT_PATH or .)",
    )
    parser.add_argument("--env", default=None, help="Kedro configuration environment")
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of a table"
    )
    return parser


def _describe(title: str | None, category: str | None) -> str:
    """``title (category)`` shortened for a table row; ``-`` where unknown."""
    text = title or "-"
    if len(text) > TITLE_WIDTH:
        text = text[: TITLE_WIDTH - 3] + "..."
    return f"{text} ({category or '-'})"


def format_table(recommendation: Recommendation) -> str:
    """A readable table of one recommendation.

    Args:
        recommendation: The recommendation.

    Returns:
        The table, ending with a newline.
    """
    items = recommendation.recommendations
    if not recommendation.cold_start:
        cold = "no"
    elif recommendation.history_used:
        cold = "yes, from the supplied history"
    else:
        cold = "yes, most popular items"
    header = (
        f"Top {len(items)} for user {recommendation.user_id} "
        f"(model {recommendation.model}, version {recommendation.model_version}, "
        f"cold start: {cold})"
    )
    width = max([len("item_id"), *(len(item.item_id) for item in items)])
    described = any(item.title or item.category for item in items)
    lines = [
        header,
        f"{'rank':>4}  {'item_id':<{width}}  score"
        + ("   title (category)" if described else ""),
    ]
    lines += [
        f"{item.rank:>4}  {item.item_id:<{width}}  {item.score:.4f}"
        + (f"  {_describe(item.title, item.category)}" if described else "")
        for item in items
    ]
    if recommendation.history_used:
        lines.append(f"after {recommendation.history_used} supplied history item(s)")
    if recommendation.ignored_items:
        ignored = ", ".join(recommendation.ignored_items)
        lines.append(f"ignored unknown history item(s): {ignored}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ncf-recommend``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    try:
        # Kedro logs to stdout while loading; keep stdout for the answer alone.
        with contextlib.redirect_stdout(sys.stderr):
            recommendation = recommend_items(
                args.user_id,
                args.top_n,
                model=args.model,
                version=args.version,
                history=args.history,
                project_path=args.project,
                env=args.env,
            )
    except UnknownUserError as error:
        sys.stderr.write(f"ncf-recommend: {error}\n")
        return 1
    except ValueError as error:
        sys.stderr.write(f"ncf-recommend: {error}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(recommendation.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(format_table(recommendation))
    return 0
