"""The source readers on small files written by the tests: each kind of bad line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from kedro.io import DatasetError

from ncf_recommender.readers import (
    READER_REPORT_ATTR,
    DelimitedRatingsDataset,
    JSONLinesRatingsDataset,
    TruncatedSourceError,
    reader_report,
)

NAMES = ["user", "item", "rating", "timestamp"]
FIELDS = ["reviewerID", "asin", "overall", "unixReviewTime"]


def _csv(path: Path, text: str, **kwargs) -> DelimitedRatingsDataset:
    path.write_bytes(text.encode())
    return DelimitedRatingsDataset(
        filepath=str(path), header=False, column_names=NAMES, **kwargs
    )


def _cut_gzip(path: Path, lines: list[bytes], keep_fraction: float) -> None:
    """Write ``lines`` gzipped, then cut the file like an interrupted download."""
    whole = gzip.compress(b"".join(lines))
    path.write_bytes(whole[: int(len(whole) * keep_fraction)])


class TestDelimited:
    def test_values_come_as_text_and_empty_fields_stay_empty(self, tmp_path):
        frame = _csv(
            tmp_path / "r.csv",
            "u1,0132793040,5.0,1365811200\nAYYYYYYYYYYYYY,0972683275,4,\n",
        ).load()
        assert frame.values.tolist() == [
            ["u1", "0132793040", "5.0", "1365811200"],
            ["AYYYYYYYYYYYYY", "0972683275", "4", ""],
        ]
        assert reader_report(frame)["rows_rejected"] == {}

    def test_wrong_field_counts_are_skipped_and_counted(self, tmp_path):
        frame = _csv(
            tmp_path / "r.csv",
            "u1,i1,5,10\nu2,i2,4\nu3,i3,3,30,extra\nonly-one-field\nu4,i4,2,40\n",
        ).load()
        assert frame["user"].tolist() == ["u1", "u4"]
        report = reader_report(frame)
        assert report["rows_rejected"] == {"wrong_field_count": 3}
        assert report["rows_read"] == 2
        assert report["examples"][0] == {
            "reason": "wrong_field_count",
            "line": None,
            "text": "u2,i2,4",
        }

    def test_a_stray_trailing_separator_is_its_own_reason(self, tmp_path):
        frame = _csv(tmp_path / "r.csv", "u1,i1,5,10\nu2,i2,4,20,\n").load()
        assert frame["user"].tolist() == ["u1"]
        assert reader_report(frame)["rows_rejected"] == {"trailing_separator": 1}

    def test_a_separator_ending_every_line_is_part_of_the_format(self, tmp_path):
        frame = _csv(tmp_path / "r.csv", "u1,i1,5,10,\nu2,i2,4,20,\n").load()
        assert list(frame.columns) == NAMES
        assert frame["timestamp"].tolist() == ["10", "20"]
        assert reader_report(frame)["rows_rejected"] == {}

    def test_crlf_and_blank_lines(self, tmp_path):
        frame = _csv(tmp_path / "r.csv", "u1,i1,5,10\r\n\r\nu2,i2,4,20\r\n").load()
        assert frame["timestamp"].tolist() == ["10", "20"]
        assert reader_report(frame)["rows_rejected"] == {}

    def test_a_header_line_in_a_headerless_file_is_passed_on(self, tmp_path):
        # validate_schema recognises it; the reader has no way to tell.
        frame = _csv(tmp_path / "r.csv", "user,asin,rating,unix_time\nu,i,5,1\n").load()
        assert frame["rating"].tolist() == ["rating", "5"]

    def test_header_file_keeps_requested_columns(self, tmp_path):
        path = tmp_path / "i.tsv"
        path.write_text("user_id\titem_id\ttime\n1\t2\t965779200\n")
        frame = DelimitedRatingsDataset(
            filepath=str(path), sep="\t", columns=["user_id", "time"]
        ).load()
        assert frame.to_dict("list") == {"user_id": ["1"], "time": ["965779200"]}

    def test_a_byte_order_mark_is_not_part_of_the_first_name(self, tmp_path):
        path = tmp_path / "i.tsv"
        path.write_bytes("\ufeffuser_id\titem_id\ttime\n1\t2\t3\n".encode())
        frame = DelimitedRatingsDataset(filepath=str(path), sep="\t").load()
        assert list(frame.columns) == ["user_id", "item_id", "time"]

    def test_unknown_column_names_the_columns_there(self, tmp_path):
        path = tmp_path / "i.tsv"
        path.write_text("user_id\titem_id\ttime\n1\t2\t3\n")
        with pytest.raises(DatasetError, match=r"no column\(s\) \['rating'\].*time"):
            DelimitedRatingsDataset(
                filepath=str(path), sep="\t", columns=["user_id", "rating"]
            ).load()

    def test_header_and_column_names_are_exclusive(self, tmp_path):
        with pytest.raises(DatasetError, match="column_names"):
            DelimitedRatingsDataset(filepath="x.csv", header=True, column_names=NAMES)

    def test_gzipped_and_truncated(self, tmp_path):
        lines = [f"u{n},i{n},5,{1000 + n}\n".encode() for n in range(20000)]
        path = tmp_path / "r.csv.gz"
        _cut_gzip(path, lines, 0.5)
        dataset = DelimitedRatingsDataset(
            filepath=str(path), header=False, column_names=NAMES
        )
        with pytest.raises(TruncatedSourceError, match=r"r\.csv\.gz is truncated"):
            dataset.load()
        frame = DelimitedRatingsDataset(
            filepath=str(path), header=False, column_names=NAMES, allow_truncated=True
        ).load()
        truncation = reader_report(frame)["truncation"]
        assert 0 < len(frame) < len(lines)
        assert truncation["complete_records"] == len(frame)
        assert frame["user"].tolist() == [f"u{n}" for n in range(len(frame))]

    def test_read_only(self, tmp_path):
        dataset = _csv(tmp_path / "r.csv", "u,i,5,1\n")
        assert dataset.exists()
        with pytest.raises(DatasetError, match="read-only"):
            dataset.save(dataset.load())


def _jsonl(path: Path, lines: list[str], newline: str = "\n") -> Path:
    data = "".join(line + newline for line in lines).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _review(user="u", item="i", rating=5.0, stamp=1365811200, **extra) -> str:
    record = {"reviewerID": user, "asin": item, "overall": rating}
    if stamp is not None:
        record["unixReviewTime"] = stamp
    return json.dumps({**record, "reviewText": "fine", "helpful": [0, 1], **extra})


class TestJSONLines:
    def _load(self, path: Path, **kwargs):
        return JSONLinesRatingsDataset(
            filepath=str(path), fields=FIELDS, **kwargs
        ).load()

    @pytest.mark.parametrize("name", ["r.json", "r.json.gz"])
    def test_fields_come_as_text(self, tmp_path, name):
        frame = self._load(_jsonl(tmp_path / name, [_review(), _review("v", rating=4)]))
        assert frame.values.tolist() == [
            ["u", "i", "5", "1365811200"],
            ["v", "i", "4", "1365811200"],
        ]
        assert frame.attrs[READER_REPORT_ATTR]["rows_rejected"] == {}

    def test_malformed_lines_are_skipped_and_counted(self, tmp_path):
        lines = [
            _review("a"),
            '{"reviewerID": "b", "asin": ',  # cut mid-record
            "reviewerID,asin,overall,unixReviewTime",  # a CSV header
            "[1, 2]",  # JSON but not an object
            "",
            _review("c"),
        ]
        frame = self._load(_jsonl(tmp_path / "r.json", lines))
        assert frame["reviewerID"].tolist() == ["a", "c"]
        report = reader_report(frame)
        assert report["rows_rejected"] == {"malformed_json": 3}
        assert [example["line"] for example in report["examples"]] == [2, 3, 4]

    def test_odd_values_are_kept_as_text_for_the_parser(self, tmp_path):
        lines = [
            _review("a", rating="abc"),
            _review("b", stamp=1365811200.0),
            _review("c", stamp=None),
            _review(12345, rating=None),
            _review("d", rating=True),
        ]
        frame = self._load(_jsonl(tmp_path / "r.json", lines))
        assert frame.astype(object).where(frame.notna(), None).to_dict("list") == {
            "reviewerID": ["a", "b", "c", "12345", "d"],
            "asin": ["i"] * 5,
            "overall": ["abc", "5.0", "5.0", None, "True"],
            "unixReviewTime": [
                "1365811200",
                "1365811200.0",
                None,
                "1365811200",
                "1365811200",
            ],
        }

    def test_crlf(self, tmp_path):
        frame = self._load(
            _jsonl(tmp_path / "r.json", [_review(), _review("v")], "\r\n")
        )
        assert frame["reviewerID"].tolist() == ["u", "v"]

    def test_last_line_without_newline(self, tmp_path):
        path = tmp_path / "r.json"
        path.write_text(_review("a") + "\n" + _review("b"))
        assert self._load(path)["reviewerID"].tolist() == ["a", "b"]

    def test_a_misspelt_field_names_the_keys_there(self, tmp_path):
        path = _jsonl(tmp_path / "r.json", [_review()])
        with pytest.raises(DatasetError, match=r"\['asinn'\].*'asin'"):
            JSONLinesRatingsDataset(
                filepath=str(path), fields=["reviewerID", "asinn"]
            ).load()

    def test_truncated_gzip_errors_by_default(self, tmp_path):
        lines = [(_review(f"u{n}") + "\n").encode() for n in range(5000)]
        path = tmp_path / "r.json.gz"
        _cut_gzip(path, lines, 0.6)
        with pytest.raises(TruncatedSourceError) as info:
            self._load(path)
        message = str(info.value)
        assert str(path) in message and "complete records" in message
        assert f"compressed byte {path.stat().st_size:,}" in message

    def test_truncated_gzip_keeps_complete_records_when_allowed(self, tmp_path):
        lines = [(_review(f"u{n}") + "\n").encode() for n in range(5000)]
        path = tmp_path / "r.json.gz"
        _cut_gzip(path, lines, 0.6)
        frame = self._load(path, allow_truncated=True)
        truncation = reader_report(frame)["truncation"]
        assert 0 < len(frame) < 5000
        assert frame["reviewerID"].tolist() == [f"u{n}" for n in range(len(frame))]
        assert truncation["complete_records"] == len(frame)
        assert truncation["compressed_bytes"] == path.stat().st_size
        assert truncation["incomplete_tail_bytes"] > 0

    def test_a_complete_gzip_of_several_members(self, tmp_path):
        path = tmp_path / "r.json.gz"
        path.write_bytes(
            gzip.compress((_review("a") + "\n").encode())
            + gzip.compress((_review("b") + "\n").encode())
        )
        frame = self._load(path)
        assert frame["reviewerID"].tolist() == ["a", "b"]
        assert reader_report(frame)["truncation"] is None

    def test_corrupt_gzip_names_the_file(self, tmp_path):
        path = tmp_path / "r.json.gz"
        whole = bytearray(gzip.compress(("\n".join([_review()] * 200)).encode()))
        whole[30:40] = b"\xff" * 10
        path.write_bytes(bytes(whole))
        with pytest.raises(DatasetError, match=r"r\.json\.gz"):
            self._load(path)
