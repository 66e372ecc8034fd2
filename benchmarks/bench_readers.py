"""Benchmark: the source readers at Amazon Electronics 2014 scale, against pandas.

Writes generated ratings in the 2014 ``ratings_Electronics.csv`` format (header-less,
7,824,482 rows by default) and as JSON lines (gzipped, 2018 review fields, a fraction
of the CSV's rows), then times in the same process:

- ``pandas.read_csv(engine="pyarrow")`` (the former catalog entry) against
  :class:`~ncf_recommender.readers.DelimitedRatingsDataset`, and the
  ``validate_schema`` + ``clean_ratings`` nodes on the reader's text columns;
- ``pandas.read_json(lines=True)`` (the former 2018 entry) against
  :class:`~ncf_recommender.readers.JSONLinesRatingsDataset`, on a clean file and on
  one with malformed lines (which sends the blocks holding them to the line-by-line
  fallback).

    .venv/bin/python benchmarks/bench_readers.py [--rows 7824482] [--json-rows 1000000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from ncf_recommender.data.generator import generate_ratings
from ncf_recommender.pipelines.data_processing.nodes import (
    clean_ratings,
    validate_schema,
)
from ncf_recommender.pipelines.data_processing.params import SourceParams
from ncf_recommender.readers import DelimitedRatingsDataset, JSONLinesRatingsDataset

NAMES = ["user", "item", "rating", "timestamp"]
FIELDS = ["reviewerID", "asin", "overall", "unixReviewTime"]


def _timed(label: str, func):
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    print(f"{label:<58} {seconds:7.2f} s")
    return result, seconds


def _write_json(ratings: pd.DataFrame, path: Path, bad_every: int | None) -> None:
    with gzip.open(path, "wt", compresslevel=1) as handle:
        for number, (user, item, rating, stamp) in enumerate(
            ratings.itertuples(index=False)
        ):
            if bad_every and number % bad_every == 0:
                handle.write('{"reviewerID": "broken\n')
                continue
            record = {
                "reviewerID": user,
                "asin": item,
                "reviewerName": "x",
                "helpful": [0, 0],
                "reviewText": "fine " * 40,
                "overall": float(rating),
                "summary": "ok",
                "unixReviewTime": int(stamp),
            }
            handle.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7_824_482)
    parser.add_argument("--json-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    ratings, _ = _timed(
        f"generate {args.rows:,} ratings",
        lambda: generate_ratings(n_ratings=args.rows, seed=42),
    )
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "ratings_Electronics.csv"
        ratings.to_csv(csv, header=False, index=False)
        print(f"CSV: {csv.stat().st_size / 1e6:,.0f} MB")
        _, pandas_s = _timed(
            "pandas.read_csv(engine='pyarrow') (former entry)",
            lambda: pd.read_csv(
                csv,
                header=None,
                names=NAMES,
                dtype={"user": str, "item": str},
                engine="pyarrow",
            ),
        )
        dataset = DelimitedRatingsDataset(
            filepath=str(csv), header=False, column_names=NAMES
        )
        source, reader_s = _timed("DelimitedRatingsDataset.load", dataset.load)
        params = SourceParams(
            columns={
                "user_id": "user",
                "item_id": "item",
                "rating": "rating",
                "timestamp": "timestamp",
            }
        )
        (raw, report), parse_s = _timed(
            "validate_schema", lambda: validate_schema(source, params)
        )
        (cleaned, _), clean_s = _timed(
            "clean_ratings", lambda: clean_ratings(raw, report, params)
        )
        print(
            f"reader / pandas: {reader_s / pandas_s:.2f}x; reader + validate + clean: "
            f"{reader_s + parse_s + clean_s:.1f} s for {len(cleaned):,} rows kept"
        )

        sample = ratings.iloc[: args.json_rows]
        clean = Path(folder) / "reviews_clean.json.gz"
        _write_json(sample, clean, None)
        _, pandas_s = _timed(
            "pandas.read_json(lines=True), clean (former entry)",
            lambda: pd.read_json(clean, lines=True, dtype=False),
        )
        frame, reader_s = _timed(
            "JSONLinesRatingsDataset.load, clean",
            JSONLinesRatingsDataset(filepath=str(clean), fields=FIELDS).load,
        )
        print(f"  {len(frame):,} records; reader / pandas: {reader_s / pandas_s:.2f}x")
        dirty = Path(folder) / "reviews_dirty.json.gz"
        _write_json(sample, dirty, 10_000)
        frame, dirty_s = _timed(
            "JSONLinesRatingsDataset.load, 1 malformed line in 10,000",
            JSONLinesRatingsDataset(filepath=str(dirty), fields=FIELDS).load,
        )
        print(
            f"  {len(frame):,} records, rejected "
            f"{frame.attrs['reader_report']['rows_rejected']}; dirty / clean: "
            f"{dirty_s / reader_s:.2f}x"
        )


if __name__ == "__main__":
    main()
