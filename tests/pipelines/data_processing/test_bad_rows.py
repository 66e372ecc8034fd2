"""Every environment's reader against every kind of bad row, through its own config.

One list of cases (a good row, an empty field, a non-numeric value, a wrong number of
fields, a header line, a trailing separator, a timestamp in the other unit, a duplicate,
...) is written in each source format, with LF and with CRLF line endings; the catalog
entry and ``source`` parameters of the environment read it, and the cleaning report
must count each bad row under its reason.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from kedro.io import DataCatalog

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.data_processing.nodes import (
    READER_REASONS,
    clean_ratings,
    validate_schema,
)
from ncf_recommender.pipelines.data_processing.params import SourceParams

CONF = Path(__file__).resolve().parents[3] / "conf"
T = 1365811200  # 2013-05-13, seconds

CLEAN_REASONS = (
    "missing_user_id",
    "missing_item_id",
    "missing_or_unparsable_rating",
    "missing_or_unparsable_timestamp",
    "rating_out_of_range",
    "timestamp_out_of_range",
)


@dataclass(frozen=True)
class Format:
    env: str
    file: str
    kind: str  # csv | jsonl
    sep: str = ","
    header: tuple[str, ...] | None = None  # None: a header-less file
    fields: tuple[str, ...] = ()  # JSON keys, in user, item, rating, time order
    unit: str = "s"
    has_rating: bool = True
    half_stars: bool = False


FORMATS = [
    Format("amazon-2014", "ratings_Electronics.csv", "csv"),
    Format("movielens-udata", "u.data", "csv", sep="\t"),
    Format(
        "movielens",
        "ml-100k.inter",
        "csv",
        sep="\t",
        header=("user_id:token", "item_id:token", "rating:float", "timestamp:float"),
    ),
    Format(
        "movielens-latest",
        "ratings.csv",
        "csv",
        header=("userId", "movieId", "rating", "timestamp"),
        half_stars=True,
    ),
    Format(
        "amazon-grocery",
        "interactions.tsv",
        "csv",
        sep="\t",
        header=("user_id", "item_id", "time"),
        has_rating=False,
    ),
    Format(
        "amazon-2018",
        "Electronics_5.json.gz",
        "jsonl",
        fields=("reviewerID", "asin", "overall", "unixReviewTime"),
    ),
    Format(
        "amazon-2014-reviews",
        "reviews_Electronics_5.json.gz",
        "jsonl",
        fields=("reviewerID", "asin", "overall", "unixReviewTime"),
    ),
    Format(
        "amazon-2023",
        "Electronics.jsonl",
        "jsonl",
        fields=("user_id", "parent_asin", "rating", "timestamp"),
        unit="ms",
    ),
]

# (user, item, rating, timestamp in seconds); timestamps are written in the format's
# unit unless a case says otherwise.
GOOD = [("A1", "I1", 5, T), ("A1", "I2", 4, T + 86400), ("A2", "I1", 3, T + 5)]


def _stamp(fmt: Format, seconds: int | str) -> int | str:
    if isinstance(seconds, str) or fmt.unit == "s":
        return seconds
    return seconds * 1000


def _line(fmt: Format, user, item, rating, stamp) -> str:
    """One row in the format; ``stamp`` is written as given."""
    if fmt.kind == "jsonl":
        values = (user, item, rating, stamp)
        return json.dumps(
            {key: value for key, value in zip(fmt.fields, values, strict=True)}
            | {"summary": "ok", "helpful": [0, 0]}
        )
    values = (user, item, rating, stamp) if fmt.has_rating else (user, item, stamp)
    return fmt.sep.join(str(value) for value in values)


def _cases(fmt: Format) -> tuple[list[str], Counter, int, list[tuple]]:
    """Lines of the file, expected reasons, timestamps in the other unit, kept rows."""
    lines = [_line(fmt, u, i, r, _stamp(fmt, t)) for u, i, r, t in GOOD]
    kept = list(GOOD)
    reasons: Counter = Counter()

    def add(line: str, reason: str | None) -> None:
        lines.append(line)
        if reason:
            reasons[reason] += 1

    add(_line(fmt, "A3", "I1", 4, ""), "missing_or_unparsable_timestamp")
    add(_line(fmt, "", "I2", 4, _stamp(fmt, T)), "missing_user_id")
    add(_line(fmt, "A3", "", 4, _stamp(fmt, T)), "missing_item_id")
    add(_line(fmt, "A3", "I4", 4, "yesterday"), "missing_or_unparsable_timestamp")
    add(_line(fmt, "A3", "I5", 4, _stamp(fmt, -86400)), "timestamp_out_of_range")
    if fmt.has_rating:
        add(
            _line(fmt, "A3", "I3", "abc", _stamp(fmt, T)),
            "missing_or_unparsable_rating",
        )
        add(_line(fmt, "A3", "I6", 7, _stamp(fmt, T)), "rating_out_of_range")
        half = _line(fmt, "A4", "I1", 0.5, _stamp(fmt, T))
        add(half, None if fmt.half_stars else "rating_out_of_range")
        if fmt.half_stars:
            kept.append(("A4", "I1", 0.5, T))
    # the other unit: milliseconds in a seconds file, seconds in a milliseconds file
    other = T * 1000 if fmt.unit == "s" else T
    add(_line(fmt, "A5", "I2", 2, other), None)
    kept.append(("A5", "I2", 2 if fmt.has_rating else 1, T))
    # an exact duplicate of the first good row
    add(lines[0], None)
    if fmt.kind == "jsonl":
        add('{"reviewerID": "A6", "asin": ', "malformed_json")  # cut mid-record
        add("user,asin,rating,unix_time", "malformed_json")  # a CSV header line
    else:
        short = fmt.sep.join(["A6", "I1"] + (["4"] if fmt.has_rating else []))
        add(short, "wrong_field_count")
        add(_line(fmt, "A6", "I2", 4, T) + fmt.sep, "trailing_separator")
        names = fmt.header or ("user", "asin", "rating", "unix_time")
        add(fmt.sep.join(names), "header_line")  # a header (again) inside the file
    if not fmt.has_rating:
        kept = [(u, i, 1, t) for u, i, _, t in kept]
    return lines, reasons, 1, kept


def _write(fmt: Format, path: Path, lines: list[str], newline: str) -> None:
    text = ""
    if fmt.header is not None:
        text += fmt.sep.join(fmt.header) + newline
    text += "".join(line + newline for line in lines)
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def _load_and_clean(env: str, path: Path):
    loader = EnvironmentConfigLoader(
        conf_source=str(CONF), base_env="base", default_run_env=env, env=env
    )
    entry = dict(loader["catalog"]["source_ratings"])
    assert Path(entry["filepath"]).name == path.name, "the test writes the env's file"
    entry["filepath"] = str(path)
    source = DataCatalog.from_config({"source_ratings": entry}).load("source_ratings")
    params = SourceParams(**loader["parameters"]["source"])
    raw, parse_report = validate_schema(source, params)
    return clean_ratings(raw, parse_report, params)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("fmt", FORMATS, ids=[fmt.env for fmt in FORMATS])
def test_each_bad_row_is_counted_under_its_reason(tmp_path, fmt, newline):
    lines, reasons, other_unit, kept = _cases(fmt)
    path = tmp_path / fmt.file
    _write(fmt, path, lines, newline)
    cleaned, report = _load_and_clean(fmt.env, path)

    expected = {reason: reasons[reason] for reason in READER_REASONS + CLEAN_REASONS}
    assert report["rows_dropped"] == expected
    assert report["duplicates_collapsed"] == report["exact_duplicates"] == 1
    assert report["timestamps_in_other_unit"] == other_unit
    assert report["rows_in"] == len(lines)
    assert report["rows_in"] == (
        sum(report["rows_dropped"].values())
        + report["duplicates_collapsed"]
        + report["rows_after_cleaning"]
    )
    rows = sorted(
        zip(
            cleaned["user_id"],
            cleaned["item_id"],
            cleaned["rating"],
            cleaned["timestamp"],
            strict=True,
        )
    )
    assert rows == sorted(kept)
