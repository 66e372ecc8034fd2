"""The Spark engine gives the pandas path's answers on the same input.

Both paths run node by node on the same source: the embedded generator (with
injected dirt) and a tricky CSV file in the Amazon 2014 format read through the
``amazon-2014`` environment's own catalog entries (pandas ``CSVDataset`` and
Spark ``SparkDataset``). Nothing here hard-codes a count: every expectation is
what the pandas path produces, so a change of the pandas cleaning rules shows up
as a difference to mirror in :mod:`ncf_recommender.spark.nodes`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import AbstractDataset

from ncf_recommender.constants import (
    INTERACTION_COLUMNS,
    ITEM_IDX,
    RAW_COLUMNS,
    USER_IDX,
)
from ncf_recommender.data.generator import generate_ratings, write_ratings_csv
from ncf_recommender.pipelines.data_processing import nodes as pandas_nodes
from ncf_recommender.pipelines.data_processing.params import (
    CleaningParams,
    KCoreParams,
    SourceParams,
)
from ncf_recommender.pipelines.feature_engineering import nodes as fe_nodes
from ncf_recommender.pipelines.feature_engineering.params import NegativeSamplingParams
from ncf_recommender.spark import nodes as spark_nodes
from ncf_recommender.spark.params import SparkCandidatesParams

PROJECT = Path(__file__).resolve().parents[2]
GENERATOR_SOURCE = SourceParams(
    name="generator",
    columns={
        "user_id": "user",
        "item_id": "item",
        "rating": "rating",
        "timestamp": "timestamp",
    },
)
SAMPLING = NegativeSamplingParams()
TABLES = ("train", "val", "test")


def _pandas_path(
    source: pd.DataFrame, source_params: SourceParams, kcore: KCoreParams
) -> dict:
    cleaning = CleaningParams()
    raw, report = pandas_nodes.validate_schema(source, source_params)
    cleaned, report = pandas_nodes.clean_ratings(raw, report, source_params)
    kept, report = pandas_nodes.apply_implicit_threshold(cleaned, report, cleaning)
    filtered, report = pandas_nodes.filter_k_core(kept, report, kcore)
    interactions, users, items = pandas_nodes.encode_ids(filtered)
    splits = pandas_nodes.split_leave_last_two(interactions)
    return {
        "report": report,
        "cleaned": cleaned,
        "filtered": filtered,
        "interactions": interactions,
        "user_mapping": users,
        "item_mapping": items,
        **dict(zip(TABLES, splits, strict=True)),
        "val_candidates": _or_error(fe_nodes.sample_val_candidates, *splits, items),
        "test_candidates": _or_error(fe_nodes.sample_test_candidates, *splits, items),
    }


def _or_error(draw, *args):
    """The candidates, or the message of the ValueError the node raises."""
    try:
        return draw(*args, SAMPLING)
    except ValueError as exc:
        return str(exc)


def _spark_path(
    source, source_params: SourceParams, kcore: KCoreParams, buckets: int = 1
) -> dict:
    cleaning = CleaningParams()
    parsed, _, report = spark_nodes.spark_validate_schema(source, source_params)
    cleaned, report = spark_nodes.spark_clean_ratings(parsed, report, source_params)
    kept, report = spark_nodes.spark_apply_implicit_threshold(cleaned, report, cleaning)
    filtered, report = spark_nodes.spark_filter_k_core(kept, report, kcore)
    interactions, users, items, with_row = spark_nodes.spark_encode_ids(filtered)
    splits = spark_nodes.spark_split_leave_last_two(with_row)
    buckets_params = SparkCandidatesParams(buckets=buckets)

    def candidates(draw):
        try:
            return draw(
                *splits,
                item_mapping=items,
                params=SAMPLING,
                spark_params=buckets_params,
            ).toPandas()
        except ValueError as exc:
            return str(exc)

    def ordered(frame):
        return frame.orderBy(spark_nodes.SOURCE_ROW).drop(spark_nodes.SOURCE_ROW)

    return {
        "report": report,
        "cleaned": ordered(cleaned).toPandas(),
        "filtered": ordered(filtered).toPandas(),
        "interactions": interactions.toPandas(),
        "user_mapping": users.toPandas(),
        "item_mapping": items.toPandas(),
        **{name: split.toPandas() for name, split in zip(TABLES, splits, strict=True)},
        "val_candidates": candidates(spark_nodes.spark_sample_val_candidates),
        "test_candidates": candidates(spark_nodes.spark_sample_test_candidates),
    }


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({c: "str" for c in frame.columns if frame[c].dtype == object})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_same_rows(pandas_frame: pd.DataFrame, spark_frame: pd.DataFrame) -> None:
    """Same columns and the same rows (after sorting), values compared exactly."""
    assert list(spark_frame.columns) == list(pandas_frame.columns)
    pd.testing.assert_frame_equal(
        _sorted(spark_frame), _sorted(pandas_frame), check_dtype=False
    )


def _assert_equivalent(expected: dict, got: dict) -> None:
    assert got["report"] == expected["report"]
    for name in ("cleaned", "filtered"):
        _assert_same_rows(expected[name][list(RAW_COLUMNS)], got[name])
    for name in ("interactions", *TABLES):
        _assert_same_rows(expected[name], got[name])
    for name in ("user_mapping", "item_mapping"):  # in index order, value for value
        pd.testing.assert_frame_equal(
            got[name].astype({got[name].columns[0]: "str"}),
            expected[name].astype({expected[name].columns[0]: "str"}),
            check_dtype=False,
        )
    # Splits in the pandas order (user, then time, ties in source order).
    for name in TABLES:
        np.testing.assert_array_equal(
            got[name]["item_idx"].to_numpy(), expected[name]["item_idx"].to_numpy()
        )
    # buckets=1: the protocol's draw itself, value for value and in order.
    for name in ("val_candidates", "test_candidates"):
        if isinstance(expected[name], str):  # the pandas node raised: so must Spark
            assert got[name] == expected[name]
        else:
            pd.testing.assert_frame_equal(got[name], expected[name], check_dtype=False)


@pytest.fixture(scope="module")
def dirty_generated() -> pd.DataFrame:
    """The embedded generator at a small size, with 3 % injected dirt."""
    return generate_ratings(n_ratings=60_000, seed=7, dirt=0.03)


@pytest.mark.slow
def test_generator_source_matches_pandas(spark, dirty_generated):
    expected = _pandas_path(dirty_generated, GENERATOR_SOURCE, KCoreParams())
    got = _spark_path(dirty_generated, GENERATOR_SOURCE, KCoreParams())
    assert sum(expected["report"]["rows_dropped"].values()) > 0
    assert expected["report"]["duplicates_collapsed"] > 0
    assert expected["report"]["kcore"]["rounds"] > 1
    _assert_equivalent(expected, got)


def _amazon_2014_entries() -> tuple[dict, dict, SourceParams]:
    catalog = yaml.safe_load((PROJECT / "conf/amazon-2014/catalog.yml").read_text())
    params = yaml.safe_load((PROJECT / "conf/amazon-2014/parameters.yml").read_text())
    return (
        catalog["source_ratings"],
        catalog["spark_source_ratings"],
        SourceParams.model_validate(params["source"]),
    )


def _tricky_csv(path: Path) -> Path:
    """A ratings file in the 2014 format with ties, duplicates and bad rows.

    Bad rows of every kind the pandas reader and cleaning count: wrong field
    counts, a trailing separator, header lines, CRLF line ends, blank lines,
    quoted fields, millisecond and out-of-range timestamps, exact duplicates.
    """
    base = generate_ratings(n_ratings=40_000, seed=3)
    write_ratings_csv(base, path)
    lines = path.read_text().splitlines()
    first = base.iloc[0]
    popular = base["item"].value_counts().index[:8].tolist()
    user, item, stamp = first["user"], first["item"], int(first["timestamp"])
    other = base["user"].iloc[-1]
    tricky = [
        f"{user},{item},5.0,{stamp}",  # exact duplicate
        f"{user},{item},1.0,{stamp}",  # same timestamp: the later row wins
        f"{user},{item},2.0,{stamp - 86400}",  # older: loses
        f",{item},5.0,{stamp}",  # missing user
        f"   ,{item},5.0,{stamp}",  # blank user
        f"{user},,5.0,{stamp}",  # missing item
        f"  {user}  ,{popular[0]},4.0,{stamp}",  # padded id: the same user
        f"{user},{popular[1]},,{stamp}",  # missing rating
        f"{user},{popular[2]},NA,{stamp}",  # not a number
        f"{user},{popular[3]},abc,{stamp}",  # unparsable rating
        f"{user},{popular[4]},5d,{stamp}",  # unparsable for pandas
        f"{user},{popular[5]},6.0,{stamp}",  # out of range
        f"{user},{popular[5]},0,{stamp}",  # out of range
        f"{user},{popular[6]},inf,{stamp}",  # not finite: unparsable
        f"{user},{popular[6]}, 4 ,{stamp}",  # padded rating
        f"{user},{popular[7]},3.0,yesterday",  # unparsable timestamp
        f"{user},{popular[7]},3.0,",  # missing timestamp
        f"{user},{popular[7]},3.0,1400000000.5",  # rounds half to even
        f"{user},{popular[4]},3.0,1400000001.5",
        f"{user},{popular[3]},4.0",  # too few fields
        f"{user},{popular[3]},4.0,{stamp},extra",  # too many fields
        f"{user},{popular[2]},4.0,{stamp},",  # trailing separator
        f"{user},{popular[2]},4.0,{stamp},,",  # two: a wrong field count
        "   ",  # blank-looking: one field
        "",  # blank line: skipped
        "user,item,rating,timestamp",  # the columns' names inside the file
        "reviewerID,asin,overall,unixReviewTime",  # another header line
        f"{other},{popular[1]},4.0,{stamp * 1000 + 999}",  # milliseconds
        f"{other},{popular[2]},4.0,{(stamp + 7) * 1000}",  # milliseconds, same pair
        f"{other},{popular[3]},4.0,-5",  # negative: out of range
        f"{other},{popular[4]},4.0,100000000000000",  # 1e14 ms: out of range
        f"{other},{popular[5]},4.0,1e30",  # beyond int64: unparsable
        f"{other},{popular[6]},4.0,99999999999",  # just below ms: out of range
        f'"{other}",{popular[7]},4.0,{stamp}',  # quoted id
        f'"{other},x",{popular[7]},4.0,{stamp}',  # quoted separator
        f"{other},{popular[0]},4.0,{stamp}",  # exact duplicates, three times
        f"{other},{popular[0]},4.0,{stamp}",
        f"{other},{popular[0]},4.0,{stamp}",
    ]
    # Users whose whole history shares one timestamp: the split follows file order.
    for k in range(12):
        tricky += [f"TIEUSER{k:02d},{it},4.0,1300000000" for it in popular[k % 3 :]]
    step = max(1, len(lines) // len(tricky))
    for offset, line in enumerate(tricky):
        lines.insert(offset * step + step // 2 + offset, line)
    # CRLF on every third line, LF elsewhere
    text = "".join(
        line + ("\r\n" if number % 3 == 0 else "\n")
        for number, line in enumerate(lines)
    )
    path.write_bytes(text.encode())
    return path


@pytest.mark.slow
def test_tricky_csv_through_the_amazon_2014_readers_matches_pandas(spark, tmp_path):
    path = _tricky_csv(tmp_path / "ratings_Electronics.csv")
    pandas_entry, spark_entry, source_params = _amazon_2014_entries()
    pandas_source = AbstractDataset.from_config(
        "source_ratings", {**pandas_entry, "filepath": str(path)}
    ).load()
    spark_source = AbstractDataset.from_config(
        "spark_source_ratings", {**spark_entry, "filepath": str(path)}
    ).load()
    expected = _pandas_path(pandas_source, source_params, KCoreParams())
    got = _spark_path(spark_source, source_params, KCoreParams())
    report = expected["report"]
    # the file exercises every kind of bad row (counts are the pandas path's)
    assert report["unparsable"]["rating"] > 0 and report["missing"]["user_id"] > 0
    assert report["unparsable"]["timestamp"] > 0
    assert report["duplicates_collapsed"] > 0 and report["exact_duplicates"] > 0
    assert report["timestamps_in_other_unit"] > 0
    for reason in (
        "wrong_field_count",
        "trailing_separator",
        "header_line",
        "timestamp_out_of_range",
        "rating_out_of_range",
    ):
        assert report["rows_dropped"][reason] > 0, reason
    assert report["rejected_examples"]
    test = expected["test"]
    assert test["user_id"].str.startswith("TIEUSER").sum() == 12
    _assert_equivalent(expected, got)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_spark_reader_counts_rejections_like_the_pandas_reader(spark, tmp_path, suffix):
    """Small file, every reader rule: the Spark reader's frame and report = pandas'."""
    path = tmp_path / f"small{suffix}"
    content = (
        b"\xef\xbb\xbfu1,i1,5.0,1400000000,\r\n"  # BOM; a trailing separator on every line
        b"u2,i2,4.0,1400000001,\n"
        b"u3,i3,4.0,1400000002\n"  # lacks it: a wrong field count
        b"u4,i4,4.0,1400000003,,\n"  # one more: a trailing separator
        b"\n"
        b'"u,5",i5,3.0,1400000004,\r\n'
        b"user,item,rating,timestamp,\n"
    )
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    entry = {
        "sep": ",",
        "header": False,
        "column_names": ["user", "item", "rating", "timestamp"],
        "filepath": str(path),
    }
    pandas_source = AbstractDataset.from_config(
        "p", {"type": "ncf_recommender.readers.DelimitedRatingsDataset", **entry}
    ).load()
    spark_source = AbstractDataset.from_config(
        "s",
        {"type": "ncf_recommender.spark.readers.SparkDelimitedRatingsDataset", **entry},
    ).load()
    params = SourceParams(
        columns={
            "user_id": "user",
            "item_id": "item",
            "rating": "rating",
            "timestamp": "timestamp",
        }
    )
    _, raw, spark_report = spark_nodes.spark_validate_schema(spark_source, params)
    expected_raw, expected_report = pandas_nodes.validate_schema(pandas_source, params)
    assert expected_report["rows_rejected_before_parsing"]["wrong_field_count"] == 1
    assert spark_report == expected_report
    _assert_same_rows(expected_raw, raw.toPandas())


@pytest.mark.slow
def test_bucketed_candidates_follow_the_protocol_rule(spark, dirty_generated):
    """buckets > 1: other values than the pandas draw, but the same rule, reproducibly."""
    expected = _pandas_path(dirty_generated, GENERATOR_SOURCE, KCoreParams())
    got = _spark_path(dirty_generated, GENERATOR_SOURCE, KCoreParams(), buckets=3)
    again = _spark_path(dirty_generated, GENERATOR_SOURCE, KCoreParams(), buckets=3)
    n_items = len(expected["item_mapping"])
    known = pd.concat([expected[name] for name in TABLES])
    known_pairs = set(zip(known[USER_IDX], known[ITEM_IDX], strict=True))
    for name, held_out in (("val_candidates", "val"), ("test_candidates", "test")):
        drawn = got[name]
        pd.testing.assert_frame_equal(drawn, again[name])
        assert not drawn.equals(expected[name])
        per_user = drawn.groupby(USER_IDX)[ITEM_IDX]
        assert sorted(per_user.groups) == sorted(expected[held_out][USER_IDX].unique())
        assert (per_user.size() == SAMPLING.eval_negatives).all()
        assert (per_user.nunique() == SAMPLING.eval_negatives).all()
        assert drawn[ITEM_IDX].between(0, n_items - 1).all()
        pairs = zip(drawn[USER_IDX], drawn[ITEM_IDX], strict=True)
        assert not any(pair in known_pairs for pair in pairs)
    assert list(got["interactions"].columns) == list(INTERACTION_COLUMNS)


REAL_HEAD = Path("/work/shared/datasets/amazon/ratings_Electronics_head50k.csv")


@pytest.mark.slow
@pytest.mark.skipif(not REAL_HEAD.exists(), reason="shared real Amazon data not here")
@pytest.mark.parametrize(
    "kcore",
    [KCoreParams(), KCoreParams(min_user_interactions=1, min_item_interactions=1)],
    ids=["5-core: nothing survives", "no k-core"],
)
def test_real_2014_head_matches_pandas(spark, kcore):
    """The first 50,698 real lines of ratings_Electronics.csv (ASINs with leading zeros)."""
    pandas_entry, spark_entry, source_params = _amazon_2014_entries()
    pandas_source = AbstractDataset.from_config(
        "source_ratings", {**pandas_entry, "filepath": str(REAL_HEAD)}
    ).load()
    spark_source = AbstractDataset.from_config(
        "spark_source_ratings", {**spark_entry, "filepath": str(REAL_HEAD)}
    ).load()
    expected = _pandas_path(pandas_source, source_params, kcore)
    got = _spark_path(spark_source, source_params, kcore)
    assert expected["report"]["rows_in"] == 50_698
    _assert_equivalent(expected, got)


def _env_source(env: str) -> tuple[dict, SourceParams]:
    catalog = yaml.safe_load((PROJECT / f"conf/{env}/catalog.yml").read_text())
    params = yaml.safe_load((PROJECT / f"conf/{env}/parameters.yml").read_text())
    return catalog["source_ratings"], SourceParams.model_validate(params["source"])


def _cut_json_lines(path: Path) -> Path:
    """Reviews in JSON lines, gzipped and cut short, with malformed lines."""
    base = generate_ratings(n_ratings=6_000, seed=5)
    records = [
        json.dumps(
            {
                "reviewerID": user,
                "asin": item,
                "overall": float(rating),
                # every fourth review in milliseconds
                "unixReviewTime": int(stamp) * (1000 if number % 4 == 0 else 1),
            }
        )
        for number, (user, item, rating, stamp) in enumerate(
            base[["user", "item", "rating", "timestamp"]].itertuples(index=False)
        )
    ]
    records[10:10] = ["{not json", "[1, 2]", ""]
    records[50:50] = [records[49], json.dumps({"reviewerID": "x", "asin": "y"})]
    data = gzip.compress(("\n".join(records) + "\n").encode())
    path.write_bytes(data[: len(data) - 200])  # a download cut short
    return path


@pytest.mark.slow
def test_pandas_reader_report_reaches_the_spark_report(spark, tmp_path):
    """A format without a Spark reader: the pandas frame, its rejections and cut, in Spark."""
    entry, source_params = _env_source("amazon-2014-reviews")
    path = _cut_json_lines(tmp_path / "reviews.json.gz")
    source = AbstractDataset.from_config(
        "source_ratings",
        {**entry, "filepath": str(path), "allow_truncated": True},
    ).load()
    for validate in (pandas_nodes.validate_schema, spark_nodes.spark_validate_schema):
        with pytest.raises(pandas_nodes.TruncatedDataError, match="reviews.json.gz"):
            validate(source, source_params)
    accepted = source_params.model_copy(update={"allow_truncated": True})
    kcore = KCoreParams(min_user_interactions=2, min_item_interactions=2)
    expected = _pandas_path(source, accepted, kcore)
    got = _spark_path(source, accepted, kcore)
    report = expected["report"]
    assert report["rows_dropped"]["malformed_json"] > 0
    assert report["truncation"] is not None
    assert report["timestamps_in_other_unit"] > 0
    assert report["exact_duplicates"] > 0
    _assert_equivalent(expected, got)


GROCERY = Path("/work/shared/datasets/amazon/grocery-2014-5core/interactions.tsv")


@pytest.mark.slow
@pytest.mark.skipif(not GROCERY.exists(), reason="shared real Amazon data not here")
@pytest.mark.parametrize("reader", ["pandas frame", "Spark reader"])
def test_real_grocery_without_ratings_matches_pandas(spark, reader):
    """Real TSV with a header and no rating column (implicit rating), both handovers."""
    entry, source_params = _env_source("amazon-grocery")
    assert source_params.columns["rating"] is None
    pandas_source = AbstractDataset.from_config(
        "source_ratings", {**entry, "filepath": str(GROCERY)}
    ).load()
    spark_entry = (
        {**entry, "type": "ncf_recommender.spark.readers.SparkDelimitedRatingsDataset"}
        if reader == "Spark reader"
        else entry
    )
    spark_source = AbstractDataset.from_config(
        "spark_source_ratings",
        {k: v for k, v in spark_entry.items() if k != "metadata"}
        | {"filepath": str(GROCERY)},
    ).load()
    kcore = KCoreParams(min_user_interactions=1, min_item_interactions=1)
    expected = _pandas_path(pandas_source, source_params, kcore)
    got = _spark_path(spark_source, source_params, kcore)
    assert expected["report"]["rows_in"] == 121_892
    _assert_equivalent(expected, got)
