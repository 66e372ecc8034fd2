"""Unit and property tests of the data_processing nodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ncf_recommender.pipelines.data_processing.nodes import (
    SchemaError,
    TruncatedDataError,
    apply_implicit_threshold,
    clean_ratings,
    encode_ids,
    filter_k_core,
    split_leave_last_two,
    validate_schema,
)
from ncf_recommender.pipelines.data_processing.params import (
    CleaningParams,
    KCoreParams,
    SourceParams,
)

SOURCE = SourceParams(
    columns={
        "user_id": "user",
        "item_id": "item",
        "rating": "rating",
        "timestamp": "timestamp",
    }
)


def _source(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])


def _clean(rows: list[tuple], **params) -> tuple[pd.DataFrame, dict]:
    source = SourceParams(**{**SOURCE.model_dump(), **params})
    raw, report = validate_schema(_source(rows), source)
    return clean_ratings(raw, report, source)


def _interactions(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).assign(
        rating=5.0
    )
    interactions, _, _ = encode_ids(
        ratings[["user_id", "item_id", "rating", "timestamp"]]
    )
    return interactions


class TestValidateSchema:
    def test_renames_and_parses(self):
        raw, report = validate_schema(_source([("u1", "i1", "5.0", "86400")]), SOURCE)
        assert list(raw.columns) == ["user_id", "item_id", "rating", "timestamp"]
        assert raw.loc[0, "rating"] == 5.0 and raw.loc[0, "timestamp"] == 86400
        assert report["rows_in"] == 1

    def test_missing_column_names_it(self):
        with pytest.raises(SchemaError, match=r"'timestamp' \(for timestamp\)"):
            validate_schema(
                _source([("u", "i", 5.0, 1)]).drop(columns="timestamp"), SOURCE
            )

    def test_milliseconds_become_seconds(self):
        params = SOURCE.model_copy(update={"timestamp_unit": "ms"})
        raw, _ = validate_schema(_source([("u", "i", 5.0, 1_400_000_000_999)]), params)
        assert raw.loc[0, "timestamp"] == 1_400_000_000

    def test_positional_columns_for_headerless_files(self):
        frame = pd.DataFrame([["u", "i", 4.0, 10]])
        params = SourceParams(
            columns={"user_id": 0, "item_id": 1, "rating": 2, "timestamp": 3}
        )
        raw, _ = validate_schema(frame, params)
        assert raw.loc[0, "user_id"] == "u" and raw.loc[0, "rating"] == 4.0

    def test_counts_missing_and_unparsable(self):
        rows = [
            ("u", "i", "abc", 1),
            ("u", "i", None, 1),
            ("u", "i", 5, "x"),
            ("", "i", 5, 1),
        ]
        _, report = validate_schema(_source(rows), SOURCE)
        assert report["unparsable"] == {"rating": 1, "timestamp": 1}
        assert report["missing"]["rating"] == 1 and report["missing"]["user_id"] == 1

    def test_params_reject_unknown_key(self):
        with pytest.raises(ValueError, match="colums"):
            SourceParams(colums={})


class TestCleanRatings:
    def test_each_kind_of_bad_row_is_dropped_and_counted(self):
        rows = [
            ("u1", "i1", 5.0, 10),
            (None, "i1", 5.0, 10),
            ("u1", None, 5.0, 10),
            ("u1", "i2", "abc", 10),
            ("u1", "i3", 4.0, "not a time"),
            ("u1", "i4", 6.0, 10),
            ("u1", "i5", 0.0, 10),
            ("u1", "i6", None, 10),
        ]
        cleaned, report = _clean(rows)
        assert cleaned["item_id"].tolist() == ["i1"]
        assert report["rows_dropped"] == {
            "wrong_field_count": 0,
            "trailing_separator": 0,
            "malformed_json": 0,
            "header_line": 0,
            "missing_user_id": 1,
            "missing_item_id": 1,
            "missing_or_unparsable_rating": 2,
            "missing_or_unparsable_timestamp": 1,
            "rating_out_of_range": 2,
            "timestamp_out_of_range": 0,
        }
        assert report["rows_in"] == len(rows)
        assert report["rows_after_cleaning"] + sum(
            report["rows_dropped"].values()
        ) == len(rows)

    def test_duplicates_collapse_to_latest(self):
        rows = [
            ("u", "i", 1.0, 30),
            ("u", "i", 2.0, 10),
            ("u", "j", 3.0, 5),
            ("u", "i", 4.0, 30),
        ]
        cleaned, report = _clean(rows)
        assert report["duplicates_collapsed"] == 2
        # latest timestamp wins; on a tie the later source row wins; source order kept
        assert cleaned[["item_id", "rating"]].values.tolist() == [
            ["j", 3.0],
            ["i", 4.0],
        ]

    def test_empty_input(self):
        cleaned, report = _clean([])
        assert cleaned.empty and report["rows_after_cleaning"] == 0

    def test_does_not_mutate_input(self):
        raw, report = validate_schema(_source([("u", "i", 9.0, 1)]), SOURCE)
        before = raw.copy()
        clean_ratings(raw, report, SOURCE)
        pd.testing.assert_frame_equal(raw, before)

    def test_implicit_threshold(self):
        cleaned, report = _clean([("u", "a", 5.0, 1), ("u", "b", 2.0, 2)])
        kept, report = apply_implicit_threshold(
            cleaned, report, CleaningParams(implicit_threshold=4)
        )
        assert (
            kept["item_id"].tolist() == ["a"]
            and report["rows_below_implicit_threshold"] == 1
        )


class TestKCore:
    def test_needs_several_rounds(self):
        # u3 has 1 interaction -> dropped; then item c falls to 1 -> dropped; then u2 falls to 1.
        rows = [
            ("u1", "a", 1),
            ("u1", "b", 2),
            ("u2", "a", 1),
            ("u2", "b", 2),
            ("u2", "c", 3),
            ("u3", "c", 1),
            ("u4", "a", 1),
            ("u4", "b", 2),
        ]
        ratings = pd.DataFrame(
            rows, columns=["user_id", "item_id", "timestamp"]
        ).assign(rating=5.0)
        filtered, report = filter_k_core(
            ratings, {}, KCoreParams(min_user_interactions=2, min_item_interactions=2)
        )
        assert sorted(filtered["user_id"].unique()) == ["u1", "u2", "u4"]
        assert "c" not in set(filtered["item_id"])
        assert report["kcore"]["rounds"] == 2
        assert report["rows_out"] == 6 and report["kcore"]["rows_dropped"] == 2

    def test_result_is_a_k_core(self):
        rng = np.random.default_rng(0)
        ratings = (
            pd.DataFrame(
                {
                    "user_id": rng.integers(0, 300, 3000).astype(str),
                    "item_id": rng.zipf(1.5, 3000).astype(str),
                }
            )
            .drop_duplicates()
            .assign(rating=5.0, timestamp=1)
        )
        filtered, _ = filter_k_core(ratings, {}, KCoreParams())
        assert filtered.groupby("user_id").size().min() >= 5
        assert filtered.groupby("item_id").size().min() >= 5

    def test_empty(self):
        empty = pd.DataFrame(
            {"user_id": [], "item_id": [], "rating": [], "timestamp": []}
        )
        filtered, report = filter_k_core(empty, {}, KCoreParams())
        assert filtered.empty and report["rows_out"] == 0


class TestEncodeIds:
    def test_contiguous_and_mapped(self):
        interactions = _interactions([("b", "y", 1), ("a", "x", 2), ("b", "x", 3)])
        assert interactions["user_idx"].dtype == np.int32
        assert interactions["user_idx"].tolist() == [1, 0, 1]
        assert interactions["item_idx"].tolist() == [1, 0, 0]

    def test_mapping_round_trip(self):
        rows = [("b", "y", 1), ("a", "x", 2), ("b", "x", 3)]
        ratings = pd.DataFrame(
            rows, columns=["user_id", "item_id", "timestamp"]
        ).assign(rating=5.0)
        interactions, users, items = encode_ids(ratings)
        back = interactions.merge(users, on="user_idx", suffixes=("", "_mapped"))
        assert (back["user_id"] == back["user_id_mapped"]).all()
        assert items["item_idx"].tolist() == list(range(len(items)))


class TestSplit:
    def test_ties_keep_input_order(self):
        rows = [("u", "a", 5), ("u", "b", 5), ("u", "c", 5), ("u", "d", 1)]
        train, val, test = split_leave_last_two(_interactions(rows))
        assert train["item_id"].tolist() == ["d", "a"]
        assert val["item_id"].tolist() == ["b"] and test["item_id"].tolist() == ["c"]

    def test_short_users_stay_in_train(self):
        rows = [("one", "a", 1), ("two", "a", 1), ("two", "b", 2)]
        train, val, test = split_leave_last_two(_interactions(rows))
        assert len(train) == 3 and val.empty and test.empty

    def test_missing_column(self):
        with pytest.raises(SchemaError, match="timestamp"):
            split_leave_last_two(
                _interactions([("u", "a", 1)]).drop(columns="timestamp")
            )


@st.composite
def _interaction_frames(draw):
    n = draw(st.integers(0, 60))
    users = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    stamps = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    rows = [
        (f"u{u}", f"i{k}", t)
        for k, (u, t) in enumerate(zip(users, stamps, strict=True))
    ]
    return _interactions(rows) if rows else _interactions([("u", "i", 0)]).iloc[:0]


@settings(max_examples=200, deadline=None)
@given(_interaction_frames())
def test_split_properties(interactions):
    train, val, test = split_leave_last_two(interactions)
    # a partition of the interactions
    parts = pd.concat([train, val, test])
    key = ["user_idx", "item_idx"]
    assert len(parts) == len(interactions)
    assert not parts.duplicated(key).any()
    assert set(map(tuple, parts[key].values)) == set(
        map(tuple, interactions[key].values)
    )
    # at most one val and one test row per user, only for users with >= 3 rows
    assert (
        not val["user_idx"].duplicated().any()
        and not test["user_idx"].duplicated().any()
    )
    counts = interactions.groupby("user_idx").size()
    assert (
        set(test["user_idx"]) == set(counts[counts >= 3].index) == set(val["user_idx"])
    )
    # no held-out timestamp earlier than any of the user's train timestamps
    latest_train = train.groupby("user_idx")["timestamp"].max()
    for held in (val, test):
        merged = held.set_index("user_idx")["timestamp"]
        assert (merged >= latest_train.reindex(merged.index)).all()
    assert (
        test.set_index("user_idx")["timestamp"]
        >= val.set_index("user_idx")["timestamp"]
    ).all()


class TestSourceParams:
    def test_rating_range_is_checked_and_named(self):
        with pytest.raises(ValueError, match=r"source\.rating_range"):
            SourceParams(rating_range=(5.0, 1.0))

    def test_the_old_cleaning_keys_say_where_the_scale_went(self):
        with pytest.raises(
            ValueError, match=r"cleaning\.min_rating.*source\.rating_range"
        ):
            CleaningParams(min_rating=0.5, max_rating=5.0)

    def test_only_rating_may_be_absent(self):
        with pytest.raises(ValueError, match=r"source\.columns\.timestamp is null"):
            SourceParams(
                columns={"user_id": 0, "item_id": 1, "rating": 2, "timestamp": None}
            )

    def test_implicit_rating_must_be_on_the_scale(self):
        with pytest.raises(ValueError, match="implicit_rating"):
            SourceParams(
                columns={"user_id": 0, "item_id": 1, "rating": None, "timestamp": 2},
                implicit_rating=0.0,
            )


class TestSourceQuirks:
    def test_half_stars_follow_the_rating_range(self):
        rows = [("u", "a", 0.5, 1), ("u", "b", 5.0, 2)]
        _, amazon = _clean(rows)
        kept, latest = _clean(rows, rating_range=(0.5, 5.0))
        assert amazon["rows_dropped"]["rating_out_of_range"] == 1
        assert latest["rows_dropped"]["rating_out_of_range"] == 0
        assert kept["rating"].tolist() == [0.5, 5.0]

    def test_timestamps_in_the_other_unit_are_converted_and_counted(self):
        rows = [("u", "a", 5, 1_400_000_000), ("u", "b", 5, 1_400_000_000_999)]
        seconds, report_s = _clean(rows)
        millis, report_ms = _clean(rows, timestamp_unit="ms")
        assert (
            seconds["timestamp"].tolist()
            == millis["timestamp"].tolist()
            == [
                1_400_000_000,
                1_400_000_000,
            ]
        )
        assert report_s["timestamps_in_other_unit"] == 1
        assert report_ms["timestamps_in_other_unit"] == 1

    def test_impossible_timestamps_are_dropped(self):
        rows = [("u", "a", 5, -1), ("u", "b", 5, 10**15), ("u", "c", 5, "1e40")]
        cleaned, report = _clean(rows)
        assert cleaned.empty
        assert report["rows_dropped"]["timestamp_out_of_range"] == 2
        assert report["rows_dropped"]["missing_or_unparsable_timestamp"] == 1

    def test_header_lines_are_counted_not_parsed(self):
        rows = [
            ("user", "asin", "rating", "unix_time"),
            ("u", "i", 5, 1),
            ("u", "j", "nan", "inf"),  # numbers that are not finite: not a header
        ]
        cleaned, report = _clean(rows)
        assert report["rows_in"] == 3 and len(cleaned) == 1
        assert report["rows_dropped"]["header_line"] == 1
        assert report["rows_dropped"]["missing_or_unparsable_rating"] == 1

    def test_a_file_without_ratings_gets_the_implicit_rating(self):
        frame = pd.DataFrame({"u": ["1", "2"], "i": ["9", "9"], "t": ["5", "6"]})
        params = SourceParams(
            columns={"user_id": "u", "item_id": "i", "rating": None, "timestamp": "t"}
        )
        raw, _ = validate_schema(frame, params)
        assert raw["rating"].tolist() == [1.0, 1.0]

    def test_a_truncated_source_stops_unless_allowed(self):
        source = _source([("u", "i", 5.0, 1)])
        source.attrs["reader_report"] = {
            "file": "data/01_raw/cut.json.gz",
            "format": "json_lines",
            "rows_read": 1,
            "rows_rejected": {},
            "examples": [],
            "truncation": {
                "compressed_bytes": 100,
                "decompressed_bytes": 300,
                "complete_records": 1,
                "incomplete_tail_bytes": 20,
            },
        }
        with pytest.raises(TruncatedDataError, match=r"cut\.json\.gz is truncated"):
            validate_schema(source, SOURCE)
        _, report = validate_schema(
            source, SOURCE.model_copy(update={"allow_truncated": True})
        )
        assert report["truncation"]["complete_records"] == 1
