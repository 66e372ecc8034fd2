"""The metadata readers on the real formats, bad lines and cut downloads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from ncf_recommender.metadata.readers import (
    ItemMetadataDataset,
    parse_metadata_lines,
    parse_price,
)
from ncf_recommender.readers import TruncatedSourceError
from tests.conftest import PROJECT_ROOT

AMAZON = PROJECT_ROOT.parent / "shared" / "datasets" / "amazon"
META_2023 = AMAZON / "formats" / "meta_Electronics_2023_sample500.jsonl"
GROCERY_META = AMAZON / "grocery-2014-5core" / "item_meta.tsv"
needs_shared = pytest.mark.skipif(
    not META_2023.exists(), reason=f"real Amazon samples not found under {AMAZON}"
)

LINE_2014 = (
    "{'asin': '0132793040', 'title': 'Kelby Training DVD: Mastering Blend Modes &amp; "
    "Layers', 'price': 14.99, 'imUrl': 'http://x/y.jpg', 'related': {'also_bought': "
    "['B00KBIYRAE', 'B00D4GFNIW'], 'also_viewed': ['B00FKPGSXS'], 'bought_together': "
    "['B00D4GFNIW']}, 'salesRank': {'Electronics': 3416}, 'categories': "
    "[['Electronics', 'Computers & Accessories', 'Cables & Accessories'], "
    "['Electronics', 'Camera & Photo']], 'brand': 'Kelby'}"
)


def _parse(lines: list[str], fmt: str):
    return parse_metadata_lines([("\n".join(lines) + "\n").encode()], fmt)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, (12.5, False)),
        ("$1,234.56", (1234.56, False)),
        ("$10.99 - $15.99", (10.99, False)),
        (" 7 ", (7.0, False)),
        (None, (None, False)),
        ("", (None, False)),
        (float("nan"), (None, False)),
        ("Currently unavailable", (None, True)),
        (-3.0, (None, True)),
        (True, (None, True)),
        (".a-box-inner{background-color:#fff;}", (None, True)),
    ],
)
def test_prices_are_read_as_shops_write_them(value, expected):
    assert parse_price(value) == expected


def test_a_2014_line_is_a_python_literal_with_paths_and_related_lists():
    frame, rejected, invalid, _ = _parse([LINE_2014], "amazon-2014")
    assert not rejected and not invalid
    row = frame.iloc[0]
    assert row["item_id"] == "0132793040"  # leading zero kept: ids are text
    assert row["title"] == "Kelby Training DVD: Mastering Blend Modes & Layers"
    assert row["brand"] == "Kelby" and row["price"] == 14.99
    # names of every path, main path first, each name once
    assert row["categories"] == [
        "Electronics",
        "Computers & Accessories",
        "Cables & Accessories",
        "Camera & Photo",
    ]
    assert row["complements"] == ["B00D4GFNIW", "B00KBIYRAE"]  # bought together first
    assert row["substitutes"] == ["B00FKPGSXS"]


def test_a_2014_line_with_code_is_rejected_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    evil = f"{{'asin': __import__('pathlib').Path('{marker}').touch()}}"
    frame, rejected, _, examples = _parse([evil, LINE_2014], "amazon-2014")
    assert not marker.exists()
    assert rejected == {"unparsable_line": 1} and len(frame) == 1
    assert examples[0]["reason"] == "unparsable_line" and examples[0]["line"] == 1


def test_bad_lines_are_counted_by_reason_and_the_rest_kept():
    good = {"asin": "A1", "title": "t", "price": "$3.50", "category": ["Electronics"]}
    lines = [
        json.dumps(good),
        json.dumps({**good, "title": "again"}),  # repeated id: first kept
        json.dumps({"title": "no id"}),
        json.dumps({**good, "asin": "A2", "price": "call us"}),
        '{"asin": "A3", "title": ',  # cut short
        "[1, 2]",  # JSON, but not an object
        "",
    ]
    frame, rejected, invalid, examples = _parse(lines, "amazon-2018")
    assert frame["item_id"].tolist() == ["A1", "A2"]
    assert frame["title"].tolist() == ["t", "t"]
    assert frame["price"].iloc[0] == 3.5 and np.isnan(frame["price"].iloc[1])
    assert rejected == {"duplicate_id": 1, "missing_id": 1, "unparsable_line": 2}
    assert invalid == {"price_not_number": 1}
    assert {e["reason"] for e in examples} == {
        "duplicate_id",
        "missing_id",
        "unparsable_line",
        "price_not_number",
    }


@needs_shared
def test_the_real_2023_sample():
    frame = ItemMetadataDataset(filepath=str(META_2023), format="amazon-2023").load()
    report = frame.attrs["reader_report"]
    assert len(frame) == 500 and frame["item_id"].is_unique
    assert report["rows_rejected"] == {
        "unparsable_line": 0,
        "missing_id": 0,
        "duplicate_id": 0,
    }
    raw = [json.loads(line) for line in META_2023.read_text().splitlines()]
    assert int(frame["price"].isna().sum()) == sum(r["price"] is None for r in raw)
    first = frame.iloc[0]
    assert first["item_id"] == raw[0]["parent_asin"]
    assert first["brand"] == raw[0]["store"]
    assert first["categories"] == raw[0]["categories"]


@needs_shared
def test_the_real_grocery_item_table():
    frame = ItemMetadataDataset(filepath=str(GROCERY_META), format="grocery-tsv").load()
    assert len(frame) == 8713 and frame["item_id"].is_unique
    first = frame.iloc[0]
    assert first["item_id"] == "1" and first["categories"] == ["category 0"]
    assert first["complements"][:3] == ["6285", "194", "6427"]
    assert first["substitutes"][-1] == "6191"


def test_a_cut_gzip_is_refused_or_kept_to_its_last_complete_record(tmp_path):
    lines = [
        json.dumps({"parent_asin": f"B{i:05d}", "title": "x" * 200}) for i in range(400)
    ]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = tmp_path / "meta.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(TruncatedSourceError, match="meta.jsonl.gz is truncated"):
        ItemMetadataDataset(filepath=str(cut), format="amazon-2023").load()
    frame = ItemMetadataDataset(
        filepath=str(cut), format="amazon-2023", allow_truncated=True
    ).load()
    report = frame.attrs["reader_report"]
    assert 0 < len(frame) < 400
    assert frame["item_id"].tolist() == [f"B{i:05d}" for i in range(len(frame))]
    # the unfinished record is the cut, not a bad line
    assert report["rows_rejected"]["unparsable_line"] == 0
    assert report["truncation"]["complete_records"] == len(frame)
    assert report["truncation"]["incomplete_tail_bytes"] > 0


def test_unknown_format_and_missing_file_are_named(tmp_path):
    with pytest.raises(DatasetError, match="unknown format 'amazon-2020'"):
        ItemMetadataDataset(filepath="x", format="amazon-2020")
    missing = Path(tmp_path) / "meta_Electronics.json.gz"
    with pytest.raises(DatasetError, match="meta_Electronics.json.gz does not exist"):
        ItemMetadataDataset(filepath=str(missing), format="amazon-2014").load()
