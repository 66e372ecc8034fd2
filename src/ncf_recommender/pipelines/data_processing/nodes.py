"""Nodes of the ``data_processing`` pipeline.

validate schema → clean → (optional) implicit threshold → iterative k-core filter
→ encode ids → leave-last-two split, exactly as the evaluation protocol states.
Every node is pure: it returns new frames and never mutates its inputs. Row order
is preserved from the source throughout, because the split breaks timestamp ties
by the source's row order.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
from ncf_recommender.pipelines.data_processing.params import (
    CleaningParams,
    KCoreParams,
    MinimumDataParams,
    SourceParams,
)
from ncf_recommender.progress import progress
from ncf_recommender.readers import reader_report, truncation_message

logger = logging.getLogger(__name__)

#: A held-out (validation and test) row needs at least this many interactions.
MIN_INTERACTIONS_FOR_HOLDOUT = 3


class SchemaError(ValueError):
    """The source data lacks a column the pipeline needs."""


class InsufficientDataError(ValueError):
    """Too little data is left after cleaning and the k-core filter to train on."""


class TruncatedDataError(ValueError):
    """The source file was cut short and ``source.allow_truncated`` is false."""


#: A timestamp at or above this (1e11: 5138 AD in seconds, 1973-03-03 in ms) is
#: in milliseconds; below it, in seconds. Real review data (1995 on) is never near it.
MS_THRESHOLD = 10**11
#: A timestamp at or above this (1e14 ms: 5138 AD) is out of range in either unit.
MAX_TIMESTAMP_MS = 10**14
#: Reasons for which a row is rejected before its values are parsed: by the
#: reader (see ``ncf_recommender.readers``) or as a header line.
READER_REASONS = (
    "wrong_field_count",
    "trailing_separator",
    "malformed_json",
    "header_line",
)
#: Texts that parse as (non-finite) numbers or stand for "no value": never names.
_NOT_NAMES = frozenset(
    {"nan", "inf", "+inf", "-inf", "infinity", "null", "none", "na", "n/a"}
)
_NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_ :.\-]*$"


def _parse_ids(values: pd.Series) -> pd.Series:
    """Ids as (Arrow-backed) strings without surrounding blanks, NaN where absent."""
    ids = values.astype("str").str.strip()
    return ids.where(ids.ne(""))


def _parse_numeric(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse ``values`` as finite numbers (vectorised by pyarrow for text).

    Returns:
        The parsed float series (NaN where absent, unparsable or not finite), the
        mask of missing values and the mask of present but unparsable values.
    """
    if pd.api.types.is_numeric_dtype(values):
        parsed = values.astype("float64")
        missing = parsed.isna()
        infinite = ~missing & ~np.isfinite(parsed)
        return parsed.where(~infinite), missing, infinite
    text = pc.utf8_trim_whitespace(
        pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    )
    missing = pc.fill_null(pc.equal(text, ""), True)
    text = pc.if_else(missing, pa.scalar(None, text.type), text)
    try:
        numbers = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:  # some text is not a number: parse only what looks like one
        numeric = pc.fill_null(pc.match_substring_regex(text, _NUMBER_PATTERN), False)
        numbers = pc.cast(
            pc.if_else(numeric, text, pa.scalar(None, text.type)), pa.float64()
        )
    parsed = pd.Series(
        numbers.to_numpy(zero_copy_only=False), index=values.index, dtype="float64"
    )
    parsed = parsed.where(np.isfinite(parsed))
    missing = pd.Series(missing.to_numpy(zero_copy_only=False), index=values.index)
    return parsed, missing, parsed.isna() & ~missing


def _looks_like_name(values: pd.Series) -> pd.Series:
    """Whether each value is a column name such as ``rating`` or ``unix_time``."""
    text = values.astype("str").str.strip()
    return text.str.match(_NAME_PATTERN).fillna(False).astype(bool) & ~(
        text.str.lower().isin(_NOT_NAMES)
    )


def _header_lines(rows: pd.DataFrame, params: SourceParams) -> pd.Series:
    """Which of ``rows`` (whose timestamp, and rating, did not parse) are headers.

    A header line repeats the file's column names, or (header-less files) has a
    name such as ``rating`` and ``unix_time`` where the rating and the timestamp
    should be. A file without ratings has only the first test: a lone word in
    the timestamp field is more likely a bad value than a header.
    """
    mapped = [column for column in params.columns.values() if column is not None]
    repeats = pd.Series(True, index=rows.index)
    for column in mapped:
        repeats &= rows[column].astype("str").str.strip().eq(str(column))
    if params.columns[RATING] is None:
        return repeats
    return repeats | (
        _looks_like_name(rows[params.columns[TIMESTAMP]])
        & _looks_like_name(rows[params.columns[RATING]])
    )


def _check_truncation(reader: dict[str, Any], params: SourceParams) -> None:
    truncation = reader["truncation"]
    if truncation is None or params.allow_truncated:
        return
    raise TruncatedDataError(
        truncation_message(str(reader["file"]), truncation)
        + ". Download it again, or accept the "
        f"{truncation['complete_records']:,} complete records (the cut is then "
        "reported in the cleaning report) with source.allow_truncated: true in this "
        "environment's parameters or --params source.allow_truncated=true."
    )


def validate_schema(
    source: pd.DataFrame, params: SourceParams
) -> tuple[pd.DataFrame, dict]:
    """Select and rename the source columns into the ``raw_ratings`` schema.

    Values are parsed (ids to strings, rating to float, timestamp to unix
    seconds) but no data row is dropped here: absent or unparsable values become
    NA and are counted, so the cleaning step can drop them with a reason. Header
    lines (a rating and a timestamp that are both names, such as a header line in
    a header-less file or repeated inside a file) are removed and counted. Rows
    the reader rejected (``source.attrs["reader_report"]``) are counted too.

    Timestamps: a value in ``[MS_THRESHOLD, MAX_TIMESTAMP_MS)`` is milliseconds
    and is converted (floored) to seconds; below ``MS_THRESHOLD`` it is seconds.
    Rows whose unit is not ``params.timestamp_unit`` are counted as
    ``timestamps_in_other_unit``; values outside both ranges are kept for the
    cleaning step to drop as ``timestamp_out_of_range``.

    Args:
        source: The source file as read by its reader.
        params: Column mapping, timestamp unit and truncation rule of the source.

    Returns:
        ``raw_ratings`` (columns ``user_id``, ``item_id``, ``rating``,
        ``timestamp``) and a parse report (rows in, rows rejected before parsing
        per reason, missing and unparsable values per column, timestamps in the
        other unit, the file's truncation if any).

    Raises:
        SchemaError: If a mapped column is absent from the source; the message
            names it and lists the columns that are there.
        TruncatedDataError: If the reader found the file cut short and
            ``params.allow_truncated`` is false; the message names the file and
            where its stream broke.
    """
    reader = reader_report(source)
    _check_truncation(reader, params)
    absent = {
        target: column
        for target, column in params.columns.items()
        if column is not None and column not in source.columns
    }
    if absent:
        raise SchemaError(
            f"Source '{params.name}' lacks column(s) "
            + ", ".join(
                f"{column!r} (for {target})" for target, column in absent.items()
            )
            + f"; it has {list(source.columns)}. Fix 'source.columns' in the parameters "
            "of this environment."
        )
    has_rating = params.columns[RATING] is not None
    stamp, stamp_missing, stamp_bad = _parse_numeric(source[params.columns[TIMESTAMP]])
    if has_rating:
        rating, rating_missing, rating_bad = _parse_numeric(
            source[params.columns[RATING]]
        )
        candidates = stamp_bad & rating_bad
    else:
        rating = pd.Series(params.implicit_rating, index=source.index, dtype="float64")
        rating_missing = rating_bad = pd.Series(False, index=source.index)
        candidates = stamp_bad
    header = pd.Series(False, index=source.index)
    if candidates.any():
        header.loc[candidates] = _header_lines(
            source.loc[candidates], params
        ).to_numpy()
    data = ~header.to_numpy()
    user = _parse_ids(source[params.columns[USER_ID]])[data]
    item = _parse_ids(source[params.columns[ITEM_ID]])[data]
    rating, stamp = rating[data], stamp[data]
    in_ms = (stamp >= MS_THRESHOLD) & (stamp < MAX_TIMESTAMP_MS)
    in_seconds = (stamp >= 0) & (stamp < MS_THRESHOLD)
    in_other_unit = (in_ms if params.timestamp_unit == "s" else in_seconds).sum()
    stamp = stamp.where(~in_ms, np.floor(stamp / 1000.0)).round()
    # beyond int64 (absurd values): unparsable rather than an overflow
    too_big = stamp.abs() >= 2.0**62
    raw = pd.DataFrame(
        {
            USER_ID: user.array,
            ITEM_ID: item.array,
            RATING: rating.to_numpy(),
            TIMESTAMP: stamp.where(~too_big).astype("Int64").to_numpy(),
        }
    )
    rejected = {reason: 0 for reason in READER_REASONS}
    rejected.update(reader["rows_rejected"])
    rejected["header_line"] += int(header.sum())
    report = {
        "source": params.name,
        "file": reader["file"],
        "format": reader["format"],
        "rows_in": len(source) + sum(reader["rows_rejected"].values()),
        "rows_rejected_before_parsing": rejected,
        "rejected_examples": reader["examples"],
        "missing": {
            USER_ID: int(user.isna().sum()),
            ITEM_ID: int(item.isna().sum()),
            RATING: int(rating_missing[data].sum()),
            TIMESTAMP: int(stamp_missing[data].sum()),
        },
        "unparsable": {
            RATING: int(rating_bad[data].sum()),
            TIMESTAMP: int((stamp_bad[data] | too_big).sum()),
        },
        "timestamp_unit": params.timestamp_unit,
        "timestamps_in_other_unit": int(in_other_unit),
        "rating_range": list(params.rating_range),
        "truncation": reader["truncation"],
    }
    return raw, report


def clean_ratings(
    raw_ratings: pd.DataFrame, parse_report: dict[str, Any], params: SourceParams
) -> tuple[pd.DataFrame, dict]:
    """Drop unusable rows and collapse duplicate (user, item) pairs to the latest.

    Each dropped row is counted under the first reason that applies, in this
    order: missing user, missing item, missing or unparsable rating, missing or
    unparsable timestamp, rating outside ``params.rating_range``, timestamp out
    of range (negative, or 5138 AD and later). The rows rejected before parsing
    (``parse_report["rows_rejected_before_parsing"]``) head the same
    ``rows_dropped`` count. Duplicates keep the row with the latest timestamp
    (the later source row on equal timestamps); ``exact_duplicates`` says how
    many of the collapsed rows repeated another row in every column. Source row
    order is preserved.

    Args:
        raw_ratings: Output of :func:`validate_schema`.
        parse_report: Its parse report, extended into the cleaning report.
        params: The source's rating scale (``rating_range``).

    Returns:
        The cleaned ratings and the cleaning report so far.
    """
    _require_columns(raw_ratings, RAW_COLUMNS, "raw_ratings")
    low, high = params.rating_range
    stamps = raw_ratings[TIMESTAMP]
    reasons = {
        "missing_user_id": raw_ratings[USER_ID].isna(),
        "missing_item_id": raw_ratings[ITEM_ID].isna(),
        "missing_or_unparsable_rating": raw_ratings[RATING].isna(),
        "missing_or_unparsable_timestamp": stamps.isna(),
        "rating_out_of_range": ~raw_ratings[RATING].between(low, high),
        "timestamp_out_of_range": (stamps < 0) | (stamps >= MS_THRESHOLD),
    }
    dropped: dict[str, int] = dict(parse_report.get("rows_rejected_before_parsing", {}))
    # Vectorised passes over every row: progress counts rows per pass (the
    # drop reasons, the pair codes, the latest of each pair, exact repeats).
    n_rows = len(raw_ratings)
    with progress("cleaning ratings", 4 * n_rows, unit="rows") as advance:
        keep = pd.Series(True, index=raw_ratings.index)
        for reason, bad in reasons.items():
            hit = keep & bad.fillna(False).astype(bool)
            dropped[reason] = int(hit.sum())
            keep &= ~hit
        valid = raw_ratings.loc[keep]
        advance(n_rows)
        # Stable sort by timestamp, then keep the last row of each pair: the
        # latest interaction wins, and on equal timestamps the later source row.
        users, _ = pd.factorize(valid[USER_ID])
        items, item_ids = pd.factorize(valid[ITEM_ID])
        pair = users.astype(np.int64) * max(len(item_ids), 1) + items
        advance(n_rows)
        valid_stamps = valid[TIMESTAMP].to_numpy(dtype=np.int64)
        order = np.argsort(valid_stamps, kind="stable")
        latest = np.ones(len(valid), dtype=bool)
        latest[order] = ~pd.Series(pair[order]).duplicated(keep="last").to_numpy()
        advance(n_rows)
        # exact repeats, looked for only among the pairs that occur more than once
        repeated = np.isin(pair, pair[~latest])
        exact = pd.DataFrame(
            {
                "pair": pair[repeated],
                RATING: valid[RATING].to_numpy()[repeated],
                TIMESTAMP: valid_stamps[repeated],
            }
        ).duplicated()
        cleaned = valid.loc[latest].astype({TIMESTAMP: "int64", RATING: "float64"})
        advance(n_rows)
    report = {
        **{
            key: value
            for key, value in parse_report.items()
            if key != "rows_rejected_before_parsing"  # now part of rows_dropped
        },
        "rows_dropped": dropped,
        "duplicates_collapsed": len(valid) - len(cleaned),
        "exact_duplicates": int(exact.sum()),
        "rows_after_cleaning": len(cleaned),
    }
    logger.info(
        "Cleaning kept %d of %d rows (dropped %s, %d duplicates collapsed)",
        len(cleaned),
        report["rows_in"],
        {reason: count for reason, count in dropped.items() if count},
        report["duplicates_collapsed"],
    )
    if report.get("truncation"):
        logger.warning(
            "The source was cut short; only its complete records were used: %s",
            report["truncation"],
        )
    return cleaned.reset_index(drop=True), report


def apply_implicit_threshold(
    ratings: pd.DataFrame, report: dict[str, Any], params: CleaningParams
) -> tuple[pd.DataFrame, dict]:
    """Keep ratings at or above ``params.implicit_threshold`` (all when it is None).

    Returns:
        The kept ratings and the report with ``rows_below_implicit_threshold``.
    """
    if params.implicit_threshold is None:
        return ratings, {
            **report,
            "implicit_threshold": None,
            "rows_below_implicit_threshold": 0,
        }
    keep = ratings[RATING] >= params.implicit_threshold
    return ratings.loc[keep].reset_index(drop=True), {
        **report,
        "implicit_threshold": params.implicit_threshold,
        "rows_below_implicit_threshold": int((~keep).sum()),
    }


def filter_k_core(
    ratings: pd.DataFrame, report: dict[str, Any], params: KCoreParams
) -> tuple[pd.DataFrame, dict]:
    """Iteratively drop users and items with too few interactions until stable.

    Args:
        ratings: Cleaned ratings, one row per (user, item).
        report: The cleaning report so far.
        params: Minimum interactions per user and per item.

    Returns:
        The filtered ratings (source order kept) and the final cleaning report,
        with the k-core rounds and what they removed.

    Raises:
        RuntimeError: If the filter is not stable after ``max_rounds`` rounds.
    """
    users, _ = pd.factorize(ratings[USER_ID])
    items, _ = pd.factorize(ratings[ITEM_ID])
    keep = np.ones(len(ratings), dtype=bool)
    rounds = 0
    # Each round is one pass over the rows still kept: progress counts those
    # rows (the total is unknown until the filter is stable).
    with progress("k-core filter", None, unit="rows") as advance:
        while True:
            kept = int(keep.sum())
            user_counts = np.bincount(users[keep], minlength=users.max(initial=-1) + 1)
            item_counts = np.bincount(items[keep], minlength=items.max(initial=-1) + 1)
            weak = keep & (
                (user_counts[users] < params.min_user_interactions)
                | (item_counts[items] < params.min_item_interactions)
            )
            advance(kept)
            if not weak.any():
                break
            rounds += 1
            if rounds > params.max_rounds:
                raise RuntimeError(
                    f"k-core filter not stable after kcore.max_rounds={params.max_rounds} rounds"
                )
            keep &= ~weak
            logger.info(
                "k-core round %d: %d rows removed, %d remain",
                rounds,
                weak.sum(),
                keep.sum(),
            )
    filtered = ratings.loc[keep].reset_index(drop=True)
    final = {
        **report,
        "kcore": {
            "min_user_interactions": params.min_user_interactions,
            "min_item_interactions": params.min_item_interactions,
            "rounds": rounds,
            "rows_dropped": int((~keep).sum()),
            "users_dropped": int(
                ratings[USER_ID].nunique() - filtered[USER_ID].nunique()
            ),
            "items_dropped": int(
                ratings[ITEM_ID].nunique() - filtered[ITEM_ID].nunique()
            ),
        },
        "rows_out": len(filtered),
        "users_out": int(filtered[USER_ID].nunique()),
        "items_out": int(filtered[ITEM_ID].nunique()),
    }
    if filtered.empty:
        logger.warning(
            "No interactions survive cleaning and the k-core filter: %s", final
        )
    logger.info(
        "k-core (%d, %d) took %d round(s): %d rows, %d users, %d items remain",
        params.min_user_interactions,
        params.min_item_interactions,
        rounds,
        final["rows_out"],
        final["users_out"],
        final["items_out"],
    )
    return filtered, final


def check_minimum_data(
    ratings: pd.DataFrame, report: dict[str, Any], params: MinimumDataParams
) -> pd.DataFrame:
    """Stop the run when what is left cannot be trained or evaluated.

    Args:
        ratings: The ratings after cleaning and the k-core filter.
        report: The final cleaning report (rows in, k-core settings).
        params: The minimum numbers of test users and items.

    Returns:
        ``ratings``, unchanged, when they are enough.

    Raises:
        InsufficientDataError: If fewer users have a test item, or fewer items
            are left, than ``params`` asks; the message says what is left and
            which parameters to change.
    """
    per_user = ratings[USER_ID].value_counts()
    users = len(per_user)
    test_users = int((per_user >= MIN_INTERACTIONS_FOR_HOLDOUT).sum())
    items = int(ratings[ITEM_ID].nunique())
    if test_users >= params.test_users and items >= params.items:
        return ratings
    kcore = report.get("kcore", {})
    k_user = kcore.get("min_user_interactions", 1)
    k_item = kcore.get("min_item_interactions", 1)
    left = (
        f"{len(ratings):,} of {report.get('rows_in', len(ratings)):,} ratings "
        f"({users:,} users, {items:,} items; {test_users:,} users with the "
        f"{MIN_INTERACTIONS_FOR_HOLDOUT} interactions a test item needs)"
    )
    needs = (
        f"training and evaluation need at least {params.test_users:,} such users "
        f"(minimum_data.test_users) and {params.items:,} items (minimum_data.items)"
    )
    if k_user > 1 or k_item > 1:
        raise InsufficientDataError(
            f"k-core ({k_user}, {k_item}) left {left}; this sample is too sparse for "
            f"a {max(k_user, k_item)}-core: lower kcore.min_user_interactions / "
            f"kcore.min_item_interactions, or use the full file ({needs})"
        )
    raise InsufficientDataError(
        f"cleaning left {left}; {needs}. Use a larger file, or check the "
        "cleaning_report for what was dropped"
    )


def encode_ids(
    ratings: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Give users and items contiguous int32 indices, in sorted order of their ids.

    Returns:
        ``interactions`` (the catalog columns), ``user_mapping`` and ``item_mapping``.
    """
    _require_columns(ratings, RAW_COLUMNS, "ratings")
    user_codes, user_ids = pd.factorize(ratings[USER_ID], sort=True)
    item_codes, item_ids = pd.factorize(ratings[ITEM_ID], sort=True)
    interactions = ratings.assign(
        **{USER_IDX: user_codes.astype(np.int32), ITEM_IDX: item_codes.astype(np.int32)}
    )[list(INTERACTION_COLUMNS)]
    user_mapping = pd.DataFrame(
        {
            USER_ID: pd.array(user_ids, dtype="str"),
            USER_IDX: np.arange(len(user_ids), dtype=np.int32),
        }
    )
    item_mapping = pd.DataFrame(
        {
            ITEM_ID: pd.array(item_ids, dtype="str"),
            ITEM_IDX: np.arange(len(item_ids), dtype=np.int32),
        }
    )
    return interactions, user_mapping, item_mapping


def split_leave_last_two(
    interactions: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leave-last-two split by timestamp.

    Per user, a stable sort by timestamp (ties keep source row order); the last
    interaction goes to test, the second-to-last to validation, the rest to
    train. Users with fewer than three interactions stay in train only.

    Returns:
        ``train_interactions``, ``val_interactions``, ``test_interactions``, each
        ordered by user then time.
    """
    _require_columns(interactions, INTERACTION_COLUMNS, "interactions")
    users = interactions[USER_IDX].to_numpy()
    order = np.lexsort(
        (np.arange(len(interactions)), interactions[TIMESTAMP].to_numpy(), users)
    )
    ordered = interactions.iloc[order].reset_index(drop=True)
    sorted_users = users[order]
    counts = np.bincount(sorted_users, minlength=int(users.max(initial=-1)) + 1)
    starts = np.cumsum(counts) - counts
    from_end = (
        counts[sorted_users] - (np.arange(len(ordered)) - starts[sorted_users]) - 1
    )
    held_out = counts[sorted_users] >= MIN_INTERACTIONS_FOR_HOLDOUT
    test = held_out & (from_end == 0)
    val = held_out & (from_end == 1)
    train = ~(test | val)
    return (
        ordered.loc[train].reset_index(drop=True),
        ordered.loc[val].reset_index(drop=True),
        ordered.loc[test].reset_index(drop=True),
    )


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise SchemaError(
            f"'{name}' lacks column(s) {absent}; it has {list(frame.columns)}"
        )
