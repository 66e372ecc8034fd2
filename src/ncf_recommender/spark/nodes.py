"""``data_processing`` and the stored evaluation negatives on PySpark DataFrames.

Every node mirrors one node of the pandas path
(:mod:`ncf_recommender.pipelines.data_processing.nodes`, and the candidate nodes
of ``feature_engineering``) and returns the same tables and the same cleaning
report; the comparison tests (``tests/spark``) hold them equal on the same input.

Spark has no row order, but the protocol breaks timestamp ties by source row
order (in the split, and when duplicates are collapsed to the latest). So the
reader attaches an explicit, order-preserving row number
(:data:`SOURCE_ROW`): ``monotonically_increasing_id()`` straight on the file
scan (increasing in file order; gaps between partitions do not matter, only
the order), or ``0..n-1`` for an in-memory pandas source. It travels with every
row up to the split, which sorts by ``(timestamp, source_row)``.

Cleaning rules mirrored from the pandas path (same reason names, same order,
first reason that applies wins, same report keys): the reader's rejections
(``wrong_field_count``, ``trailing_separator``, ``malformed_json``) and header
lines head ``rows_dropped``; ``rows_in`` counts every data row of the file,
rejected and header lines included; ids are stripped (Unicode whitespace),
blank or absent ids are missing; rating and timestamp are stripped text parsed
as finite decimal numbers, blank/absent is *missing*, anything else that does
not parse (``inf``, ``NA`` ...) is *unparsable*; a timestamp in
``[MS_THRESHOLD, MAX_TIMESTAMP_MS)`` is milliseconds and floored to seconds
whatever ``source.timestamp_unit`` says (counted in
``timestamps_in_other_unit``), then rounded half-to-even to int64; the rating
must lie in ``source.rating_range`` (or is ``source.implicit_rating`` when
``source.columns.rating`` is null); a negative timestamp or one of 5138 AD and
later is ``timestamp_out_of_range``; duplicate (user, item) pairs keep the
latest timestamp, the later source row on equal timestamps, and
``exact_duplicates`` counts the collapsed rows that repeat another in every
column.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from pyspark.sql import types as T  # noqa: N812

from ncf_recommender.constants import (
    INTERACTION_COLUMNS,
    ITEM_ID,
    ITEM_IDX,
    RATING,
    RAW_COLUMNS,
    TIMESTAMP,
    USER_ID,
    USER_IDX,
)
from ncf_recommender.pipelines.data_processing.nodes import (
    _NAME_PATTERN,
    _NOT_NAMES,
    _NUMBER_PATTERN,
    MAX_TIMESTAMP_MS,
    MIN_INTERACTIONS_FOR_HOLDOUT,
    MS_THRESHOLD,
    READER_REASONS,
    SchemaError,
    _check_truncation,
)
from ncf_recommender.pipelines.data_processing.params import (
    CleaningParams,
    KCoreParams,
    SourceParams,
)
from ncf_recommender.pipelines.feature_engineering.params import NegativeSamplingParams
from ncf_recommender.readers import MAX_EXAMPLE_CHARS, MAX_EXAMPLES, reader_report
from ncf_recommender.spark.params import SparkCandidatesParams
from ncf_recommender.spark.readers import READER_REASON, READER_TEXT, SOURCE_ROW
from ncf_recommender.training.sampling import sample_eval_candidates

logger = logging.getLogger(__name__)

# The pandas path's number pattern (Spark's own cast would also take "5d").
_NUMBER = _NUMBER_PATTERN
_NAME = _NAME_PATTERN
# Reasons for which a row is dropped, ordered like the pandas path's; the
# first that applies is counted (the reader's reasons head the report).
_REASONS = (
    "missing_user_id",
    "missing_item_id",
    "missing_or_unparsable_rating",
    "missing_or_unparsable_timestamp",
    "rating_out_of_range",
    "timestamp_out_of_range",
)
_SLOT = "slot"
_BUCKET = "bucket"
_HEADER = "_header_line"


def _with_source_row(source: DataFrame | pd.DataFrame, columns: dict) -> DataFrame:
    """The mapped source columns, renamed to their targets, as text, plus :data:`SOURCE_ROW`.

    A frame from :class:`~ncf_recommender.spark.readers.SparkDelimitedRatingsDataset`
    keeps its row numbers and its :data:`READER_REASON` column.

    Args:
        source: Spark or pandas source frame.
        columns: Target name → source column (name, or position in a Spark
            frame read without a header).
    """
    if isinstance(source, pd.DataFrame):
        frame = pd.DataFrame(
            {target: source[column].astype("str") for target, column in columns.items()}
        ).assign(**{SOURCE_ROW: np.arange(len(source), dtype=np.int64)})
        schema = T.StructType(
            [T.StructField(target, T.StringType()) for target in columns]
            + [T.StructField(SOURCE_ROW, T.LongType(), nullable=False)]
        )
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        return spark.createDataFrame(frame, schema=schema).withColumn(
            READER_REASON, F.lit(None).cast("string")
        )
    selected = [
        source[column].cast("string").alias(target)
        for target, column in columns.items()
    ]
    if READER_REASON in source.columns:
        return source.select(*selected, SOURCE_ROW, READER_REASON)
    # Straight on the scan: increasing in file order, partition by partition.
    return source.select(
        *selected,
        F.monotonically_increasing_id().alias(SOURCE_ROW),
        F.lit(None).cast("string").alias(READER_REASON),
    )


def _strip(column: Column) -> Column:
    """Text without surrounding (Unicode) whitespace, as Python's ``str.strip``."""
    return F.regexp_replace(column, r"(?U)^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$", "")


def _parse_number(column: str) -> tuple[Column, Column, Column]:
    """Parsed finite double, 'missing' flag and 'unparsable' flag of a text column."""
    text = _strip(F.col(column))
    missing = text.isNull() | (text == "")
    value = F.when(~missing & text.rlike(_NUMBER), text.try_cast("double"))
    finite = value.isNotNull() & ~F.isnan(value) & (F.abs(value) != float("inf"))
    return F.when(finite, value), missing, ~missing & ~finite


def _looks_like_name(column: str) -> Column:
    text = _strip(F.col(column))
    return F.coalesce(
        text.rlike(_NAME) & ~F.lower(text).isin(list(_NOT_NAMES)), F.lit(False)
    )


def _header_line(params: SourceParams, candidates: Column) -> Column:
    """Which rows are header lines (pandas ``_header_lines``, on the candidates)."""
    repeats = F.lit(True)
    for target, column in params.columns.items():
        if column is not None:
            repeats &= F.coalesce(_strip(F.col(target)) == str(column), F.lit(False))
    if params.columns[RATING] is not None:
        repeats |= _looks_like_name(TIMESTAMP) & _looks_like_name(RATING)
    return candidates & repeats


def _reader_report(source: DataFrame | pd.DataFrame, params: SourceParams) -> dict:
    """The reader's file, format, truncation (pandas sources) and rejections."""
    if isinstance(source, pd.DataFrame):
        report = reader_report(source)
        _check_truncation(report, params)
        return report
    if READER_REASON not in source.columns:
        return {
            "file": None,
            "format": None,
            "rows_rejected": {},
            "examples": [],
            "truncation": None,
        }
    about = source.schema[READER_REASON].metadata.get("reader", {})
    return {  # the rejections are counted with the other counts, in one pass
        "file": about.get("file"),
        "format": about.get("format"),
        "rows_rejected": None,
        "examples": [],
        "truncation": None,
    }


def _examples(frame: DataFrame) -> list[dict[str, Any]]:
    """The first rejected rows in file order, quoted as the pandas readers do."""
    rejected = frame.where(F.col(READER_REASON).isNotNull())
    return [
        {
            "reason": row[READER_REASON],
            "line": None,  # as pyarrow's invalid-row handler: no line numbers
            "text": row[READER_TEXT][:MAX_EXAMPLE_CHARS],
        }
        for row in rejected.orderBy(SOURCE_ROW).limit(MAX_EXAMPLES).collect()
    ]


def spark_validate_schema(
    source: DataFrame | pd.DataFrame, params: SourceParams
) -> tuple[DataFrame, DataFrame, dict]:
    """Spark twin of ``validate_schema``: select, rename and parse the source columns.

    Header lines are recognised and removed, rows the reader rejected are
    counted (from :data:`READER_REASON` of the Spark reader, or from
    ``attrs["reader_report"]`` of a pandas frame), timestamps are converted by
    magnitude (milliseconds from ``MS_THRESHOLD``) and counted when their unit
    is not ``params.timestamp_unit``, exactly as the pandas node does.

    Args:
        source: The source as a Spark DataFrame (read by
            :class:`~ncf_recommender.spark.readers.SparkDelimitedRatingsDataset`
            or ``spark.SparkDataset``, every column as text), or a pandas frame
            (the pandas readers, the embedded generator), which is handed to
            Spark with its row numbers and its reader report.
        params: Column mapping, timestamp unit and rating scale of the source.

    Returns:
        The parsed rows with :data:`SOURCE_ROW` (for the next steps),
        ``raw_ratings`` (``user_id``, ``item_id``, ``rating``, ``timestamp``, in
        source order) and the parse report of the pandas path.

    Raises:
        SchemaError: If a mapped column is absent from the source.
        TruncatedDataError: If a pandas reader found the file cut short and
            ``params.allow_truncated`` is false.
    """
    reader = _reader_report(source, params)
    source_columns = [
        column
        for column in source.columns
        if column not in {SOURCE_ROW, READER_REASON, READER_TEXT}
        or isinstance(source, pd.DataFrame)
    ]
    mapped: dict[str, str | int] = {}
    absent: dict[str, str | int] = {}
    for target, column in params.columns.items():
        if column is None:
            continue
        if column in source_columns:
            mapped[target] = column
        elif isinstance(column, int) and isinstance(source, DataFrame):
            if 0 <= column < len(source_columns):
                mapped[target] = source_columns[column]
            else:
                absent[target] = column
        else:
            absent[target] = column
    if absent:
        raise SchemaError(
            f"Source '{params.name}' lacks column(s) "
            + ", ".join(
                f"{column!r} (for {target})" for target, column in absent.items()
            )
            + f"; it has {source_columns}. Fix 'source.columns' in the parameters "
            "of this environment."
        )
    frame = _with_source_row(source, mapped)
    has_rating = params.columns[RATING] is not None
    stamp, stamp_missing, stamp_bad = _parse_number(TIMESTAMP)
    if has_rating:
        rating, rating_missing, rating_bad = _parse_number(RATING)
        candidates = stamp_bad & rating_bad
    else:
        rating = F.lit(float(params.implicit_rating))
        rating_missing = rating_bad = F.lit(False)
        candidates = stamp_bad
    ids = {target: _strip(F.col(target)) for target in (USER_ID, ITEM_ID)}
    read = F.col(READER_REASON).isNull()
    parsed = frame.select(
        *[F.when(text != "", text).alias(target) for target, text in ids.items()],
        rating.alias(RATING),
        stamp.alias("_stamp"),
        F.col(SOURCE_ROW),
        F.col(READER_REASON),
        rating_missing.alias("_rating_missing"),
        rating_bad.alias("_rating_bad"),
        stamp_missing.alias("_stamp_missing"),
        stamp_bad.alias("_stamp_bad"),
        (read & _header_line(params, candidates)).alias(_HEADER),
    )
    stamp = F.col("_stamp")
    in_ms = (stamp >= MS_THRESHOLD) & (stamp < MAX_TIMESTAMP_MS)
    in_seconds = (stamp >= 0) & (stamp < MS_THRESHOLD)
    in_other_unit = in_ms if params.timestamp_unit == "s" else in_seconds
    seconds = F.bround(
        F.when(in_ms, F.floor(stamp / 1000.0).cast("double")).otherwise(stamp), 0
    )
    too_big = F.coalesce(F.abs(seconds) >= 2.0**62, F.lit(False))
    flagged = parsed.select(
        "*",
        F.when(~too_big, seconds).cast("long").alias(TIMESTAMP),
        too_big.alias("_too_big"),
        F.coalesce(in_other_unit, F.lit(False)).alias("_other_unit"),
        (read & ~F.col(_HEADER)).alias("_data"),
    )
    is_data = F.col("_data")
    counts = flagged.agg(
        F.count_if(is_data & F.col(USER_ID).isNull()).alias(USER_ID),
        F.count_if(is_data & F.col(ITEM_ID).isNull()).alias(ITEM_ID),
        F.count_if(is_data & F.col("_rating_missing")).alias(RATING),
        F.count_if(is_data & F.col("_stamp_missing")).alias(TIMESTAMP),
        F.count_if(is_data & F.col("_rating_bad")).alias("rating_bad"),
        F.count_if(is_data & (F.col("_stamp_bad") | F.col("_too_big"))).alias(
            "timestamp_bad"
        ),
        F.count_if(is_data & F.col("_other_unit")).alias("other_unit"),
        F.count_if(F.col(_HEADER)).alias("headers"),
        F.count(F.lit(1)).alias("rows"),
        *[
            F.count_if(F.col(READER_REASON) == reason).alias(f"_r_{reason}")
            for reason in READER_REASONS
        ],
    ).first()
    if reader["rows_rejected"] is None:  # the Spark reader: counted just now
        reader["rows_rejected"] = {
            reason: int(counts[f"_r_{reason}"])
            for reason in sorted(READER_REASONS)
            if counts[f"_r_{reason}"]
        }
        if reader["rows_rejected"]:
            reader["examples"] = _examples(source)
        rows_in = int(counts["rows"])
    else:  # a pandas reader's frame holds only what it did not reject
        rows_in = int(counts["rows"]) + sum(reader["rows_rejected"].values())
    data = flagged.where(is_data)
    rejected = {reason: 0 for reason in READER_REASONS}
    rejected.update(reader["rows_rejected"])
    rejected["header_line"] += int(counts["headers"])
    report = {
        "source": params.name,
        "file": reader["file"],
        "format": reader["format"],
        "rows_in": rows_in,
        "rows_rejected_before_parsing": rejected,
        "rejected_examples": reader["examples"],
        "missing": {name: int(counts[name]) for name in RAW_COLUMNS},
        "unparsable": {
            RATING: int(counts["rating_bad"]),
            TIMESTAMP: int(counts["timestamp_bad"]),
        },
        "timestamp_unit": params.timestamp_unit,
        "timestamps_in_other_unit": int(counts["other_unit"]),
        "rating_range": list(params.rating_range),
        "truncation": reader["truncation"],
    }
    with_row = data.select(*RAW_COLUMNS, SOURCE_ROW)
    return with_row, with_row.select(*RAW_COLUMNS), report


def spark_clean_ratings(
    raw_ratings: DataFrame, parse_report: dict[str, Any], params: SourceParams
) -> tuple[DataFrame, dict]:
    """Spark twin of ``clean_ratings``: drop unusable rows, collapse duplicates.

    Args:
        raw_ratings: Output of :func:`spark_validate_schema`.
        parse_report: Its parse report, extended into the cleaning report.
        params: The source's rating scale (``rating_range``).

    Returns:
        The cleaned ratings (with :data:`SOURCE_ROW`) and the report so far.
    """
    low, high = params.rating_range
    stamp = F.col(TIMESTAMP)
    conditions = {
        "missing_user_id": F.col(USER_ID).isNull(),
        "missing_item_id": F.col(ITEM_ID).isNull(),
        "missing_or_unparsable_rating": F.col(RATING).isNull() | F.isnan(RATING),
        "missing_or_unparsable_timestamp": stamp.isNull(),
        "rating_out_of_range": ~F.col(RATING).between(low, high),
        "timestamp_out_of_range": (stamp < 0) | (stamp >= MS_THRESHOLD),
    }
    reason = F.lit(None).cast("string")
    for name in reversed(_REASONS):  # the first reason that applies wins
        reason = F.when(
            F.coalesce(conditions[name], F.lit(False)), F.lit(name)
        ).otherwise(reason)
    tagged = raw_ratings.withColumn("_reason", reason).cache()
    by_reason = {
        row["_reason"]: int(row["count"])
        for row in tagged.groupBy("_reason").count().collect()
    }
    valid = tagged.where(F.col("_reason").isNull()).drop("_reason")
    n_distinct = valid.select(*RAW_COLUMNS).distinct().count()
    latest = Window.partitionBy(USER_ID, ITEM_ID).orderBy(
        F.col(TIMESTAMP).desc(), F.col(SOURCE_ROW).desc()
    )
    cleaned = (
        valid.withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .drop("_rank")
        .localCheckpoint()
    )
    n_valid = by_reason.get(None, 0)
    n_cleaned = cleaned.count()
    tagged.unpersist()
    dropped = dict(parse_report.get("rows_rejected_before_parsing", {}))
    dropped.update({name: by_reason.get(name, 0) for name in _REASONS})
    report = {
        **{
            key: value
            for key, value in parse_report.items()
            if key != "rows_rejected_before_parsing"  # now part of rows_dropped
        },
        "rows_dropped": dropped,
        "duplicates_collapsed": n_valid - n_cleaned,
        "exact_duplicates": n_valid - n_distinct,
        "rows_after_cleaning": n_cleaned,
    }
    logger.info(
        "Cleaning (Spark) kept %d of %d rows (dropped %s, %d duplicates collapsed)",
        n_cleaned,
        report["rows_in"],
        {name: count for name, count in dropped.items() if count},
        report["duplicates_collapsed"],
    )
    if report.get("truncation"):
        logger.warning(
            "The source was cut short; only its complete records were used: %s",
            report["truncation"],
        )
    return cleaned, report


def spark_apply_implicit_threshold(
    ratings: DataFrame, report: dict[str, Any], params: CleaningParams
) -> tuple[DataFrame, dict]:
    """Spark twin of ``apply_implicit_threshold``.

    Returns:
        The kept ratings and the report with ``rows_below_implicit_threshold``.
    """
    if params.implicit_threshold is None:
        return ratings, {
            **report,
            "implicit_threshold": None,
            "rows_below_implicit_threshold": 0,
        }
    kept = ratings.where(F.col(RATING) >= params.implicit_threshold).localCheckpoint()
    below = report["rows_after_cleaning"] - kept.count()
    return kept, {
        **report,
        "implicit_threshold": params.implicit_threshold,
        "rows_below_implicit_threshold": int(below),
    }


def _distinct(frame: DataFrame, column: str) -> int:
    return int(frame.select(column).distinct().count())


def spark_filter_k_core(
    ratings: DataFrame, report: dict[str, Any], params: KCoreParams
) -> tuple[DataFrame, dict]:
    """Spark twin of ``filter_k_core``: iterative k-core until stable.

    Each round counts users and items on the rows kept so far and drops, at
    once, every row whose user or item is below its minimum, exactly as the
    pandas rounds do; each round is checkpointed so the plan stays short.

    Returns:
        The filtered ratings and the final cleaning report (k-core rounds and
        what they removed, rows/users/items out).

    Raises:
        RuntimeError: If the filter is not stable after ``max_rounds`` rounds.
    """
    current = ratings
    n_rows = current.count()
    rows_in, users_in, items_in = (
        n_rows,
        _distinct(current, USER_ID),
        _distinct(current, ITEM_ID),
    )
    rounds = 0
    while True:
        by_user = Window.partitionBy(USER_ID)
        by_item = Window.partitionBy(ITEM_ID)
        kept = (
            current.withColumn("_u", F.count(F.lit(1)).over(by_user))
            .withColumn("_i", F.count(F.lit(1)).over(by_item))
            .where(
                (F.col("_u") >= params.min_user_interactions)
                & (F.col("_i") >= params.min_item_interactions)
            )
            .drop("_u", "_i")
            .localCheckpoint()
        )
        n_kept = kept.count()
        if n_kept == n_rows:
            break
        rounds += 1
        if rounds > params.max_rounds:
            raise RuntimeError(
                f"k-core filter not stable after kcore.max_rounds={params.max_rounds} rounds"
            )
        current, n_rows = kept, n_kept
    users_out, items_out = _distinct(current, USER_ID), _distinct(current, ITEM_ID)
    final = {
        **report,
        "kcore": {
            "min_user_interactions": params.min_user_interactions,
            "min_item_interactions": params.min_item_interactions,
            "rounds": rounds,
            "rows_dropped": rows_in - n_rows,
            "users_dropped": users_in - users_out,
            "items_dropped": items_in - items_out,
        },
        "rows_out": n_rows,
        "users_out": users_out,
        "items_out": items_out,
    }
    if n_rows == 0:
        logger.warning(
            "No interactions survive cleaning and the k-core filter: %s", final
        )
    logger.info(
        "k-core (Spark, %d, %d) took %d round(s): %d rows, %d users, %d items remain",
        params.min_user_interactions,
        params.min_item_interactions,
        rounds,
        n_rows,
        users_out,
        items_out,
    )
    return current, final


def _mapping(ratings: DataFrame, id_column: str, idx_column: str) -> DataFrame:
    """Contiguous int32 indices in sorted (binary UTF-8 = code point) id order."""
    # One ordered window over the distinct ids: global and exact.
    order = Window.orderBy(id_column)
    return (
        ratings.select(id_column)
        .distinct()
        .withColumn(idx_column, (F.row_number().over(order) - 1).cast("int"))
    )


def spark_encode_ids(
    ratings: DataFrame,
) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    """Spark twin of ``encode_ids``: users and items indexed in sorted id order.

    Returns:
        ``interactions`` (the catalog columns, in source row order),
        ``user_mapping``, ``item_mapping`` (ordered by index) and the
        interactions with :data:`SOURCE_ROW` for the split.
    """
    user_mapping = _mapping(ratings, USER_ID, USER_IDX).localCheckpoint()
    item_mapping = _mapping(ratings, ITEM_ID, ITEM_IDX).localCheckpoint()
    interactions = (
        ratings.join(F.broadcast(item_mapping), ITEM_ID)
        .join(user_mapping, USER_ID)
        .select(
            *[F.col(column) for column in INTERACTION_COLUMNS],
            F.col(SOURCE_ROW),
        )
        .withColumn(RATING, F.col(RATING).cast("double"))
        .orderBy(SOURCE_ROW)
        .localCheckpoint()
    )
    return (
        interactions.select(*INTERACTION_COLUMNS),
        user_mapping.orderBy(USER_IDX),
        item_mapping.orderBy(ITEM_IDX),
        interactions,
    )


def spark_split_leave_last_two(
    interactions: DataFrame,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Spark twin of ``split_leave_last_two``.

    Per user, order by ``(timestamp, source_row)`` (the pandas stable sort):
    last → test, second-to-last → validation, the rest → train; users with
    fewer than three interactions stay in train only.

    Returns:
        ``train_interactions``, ``val_interactions``, ``test_interactions``
        (catalog columns), each ordered by user then time then source row.
    """
    per_user = Window.partitionBy(USER_IDX)
    ordered = Window.partitionBy(USER_IDX).orderBy(TIMESTAMP, SOURCE_ROW)
    ranked = (
        interactions.withColumn("_n", F.count(F.lit(1)).over(per_user))
        .withColumn("_from_end", F.col("_n") - F.row_number().over(ordered))
        .withColumn("_held", F.col("_n") >= MIN_INTERACTIONS_FOR_HOLDOUT)
        .localCheckpoint()
    )
    test = F.col("_held") & (F.col("_from_end") == 0)
    val = F.col("_held") & (F.col("_from_end") == 1)

    def part(condition: Column) -> DataFrame:
        return (
            ranked.where(condition)
            .orderBy(USER_IDX, TIMESTAMP, SOURCE_ROW)
            .select(*INTERACTION_COLUMNS)
        )

    return part(~(test | val)), part(val), part(test)


def _bucket_seed(eval_seed: int, bucket: int, buckets: int) -> int:
    if buckets == 1:
        return eval_seed
    return int(np.random.SeedSequence([eval_seed, bucket]).generate_state(1)[0])


def _spark_candidates(  # noqa: PLR0917 (private, one caller per split)
    train: DataFrame,
    val: DataFrame,
    test: DataFrame,
    held_out: DataFrame,
    item_mapping: DataFrame,
    params: NegativeSamplingParams,
    spark_params: SparkCandidatesParams,
) -> DataFrame:
    """Stored negatives for the users of ``held_out``, drawn bucket by bucket."""
    n_items = int(item_mapping.count())
    n_negatives, eval_seed = params.eval_negatives, params.eval_seed
    if n_items < 1:  # raise the shared sampler's error, as the pandas node does
        empty = np.empty(0, dtype=np.int64)
        sample_eval_candidates(empty, empty, empty, n_items, n_negatives, eval_seed)
    buckets = spark_params.buckets
    eval_users = held_out.select(USER_IDX).distinct()
    known = (
        train.select(USER_IDX, ITEM_IDX)
        .unionAll(val.select(USER_IDX, ITEM_IDX))
        .unionAll(test.select(USER_IDX, ITEM_IDX))
        .join(eval_users, USER_IDX, "left_semi")
        .withColumn(_BUCKET, F.pmod(F.col(USER_IDX), F.lit(buckets)))
    )

    def draw(frame: pd.DataFrame) -> pd.DataFrame:
        bucket = int(frame[_BUCKET].iloc[0])
        users, local = np.unique(frame[USER_IDX].to_numpy(), return_inverse=True)
        # Users renumbered 0..m-1 in ascending order: the draw only depends on
        # each user's items and on the users' order, not on the index values.
        negatives = sample_eval_candidates(
            local,
            frame[ITEM_IDX].to_numpy(),
            np.arange(len(users)),
            n_items,
            n_negatives=n_negatives,
            seed=_bucket_seed(eval_seed, bucket, buckets),
        )
        return pd.DataFrame(
            {
                USER_IDX: np.repeat(users.astype(np.int32), n_negatives),
                _SLOT: np.tile(np.arange(n_negatives, dtype=np.int32), len(users)),
                ITEM_IDX: negatives.reshape(-1),
            }
        )

    schema = f"{USER_IDX} int, {_SLOT} int, {ITEM_IDX} int"
    return (
        known.groupBy(_BUCKET)
        .applyInPandas(draw, schema=schema)
        .orderBy(USER_IDX, _SLOT)
        .select(USER_IDX, ITEM_IDX)
    )


def spark_sample_val_candidates(  # noqa: PLR0917 (node inputs, pandas order)
    train_interactions: DataFrame,
    val_interactions: DataFrame,
    test_interactions: DataFrame,
    item_mapping: DataFrame,
    params: NegativeSamplingParams,
    spark_params: SparkCandidatesParams,
) -> DataFrame:
    """Spark twin of ``sample_val_candidates``.

    Args:
        train_interactions: Training split.
        val_interactions: Validation split; its users get candidates.
        test_interactions: Test split (its items are excluded too).
        item_mapping: Its length is the catalogue size.
        params: The shared ``negative_sampling`` parameters (``eval_negatives``,
            ``eval_seed``).
        spark_params: How many buckets (tasks) draw; 1 reproduces the pandas
            draw exactly (see :class:`SparkCandidatesParams`).

    Returns:
        ``val_candidates``: ``user_idx``, ``item_idx`` (int32), users
        ascending, ``eval_negatives`` rows each.
    """
    return _spark_candidates(
        train_interactions,
        val_interactions,
        test_interactions,
        val_interactions,
        item_mapping,
        params,
        spark_params,
    )


def spark_sample_test_candidates(  # noqa: PLR0917 (node inputs, pandas order)
    train_interactions: DataFrame,
    val_interactions: DataFrame,
    test_interactions: DataFrame,
    item_mapping: DataFrame,
    params: NegativeSamplingParams,
    spark_params: SparkCandidatesParams,
) -> DataFrame:
    """Spark twin of ``sample_test_candidates`` (see :func:`spark_sample_val_candidates`).

    Args:
        train_interactions: Training split.
        val_interactions: Validation split (its items are excluded too).
        test_interactions: Test split; its users get candidates.
        item_mapping: Its length is the catalogue size.
        params: The shared ``negative_sampling`` parameters.
        spark_params: How many buckets (tasks) draw.

    Returns:
        ``test_candidates``, laid out as ``val_candidates``.
    """
    return _spark_candidates(
        train_interactions,
        val_interactions,
        test_interactions,
        test_interactions,
        item_mapping,
        params,
        spark_params,
    )
