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
    SourceParams,
)

logger = logging.getLogger(__name__)

#: A held-out (validation and test) row needs at least this many interactions.
MIN_INTERACTIONS_FOR_HOLDOUT = 3


class SchemaError(ValueError):
    """The source data lacks a column the pipeline needs."""


def _parse_ids(values: pd.Series) -> tuple[pd.Series, int]:
    """Ids as (Arrow-backed) strings without surrounding blanks.

    Returns:
        The ids (NaN where absent or blank) and the number of absent ids.
    """
    ids = values.astype("str").str.strip()
    ids = ids.where(ids.ne(""))
    return ids, int(ids.isna().sum())


def _parse_numeric(values: pd.Series) -> tuple[pd.Series, int, int]:
    """Parse ``values`` as numbers.

    Returns:
        The parsed float series (NaN where absent or unparsable), the number of
        missing values and the number of present but unparsable values.
    """
    if pd.api.types.is_numeric_dtype(values):
        parsed = values.astype("float64")
        return parsed, int(parsed.isna().sum()), 0
    text = values.astype("str").str.strip()
    missing = text.isna() | text.eq("")
    parsed = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
    unparsable = parsed.isna() & ~missing
    return parsed, int(missing.sum()), int(unparsable.sum())


def validate_schema(
    source: pd.DataFrame, params: SourceParams
) -> tuple[pd.DataFrame, dict]:
    """Select and rename the source columns into the ``raw_ratings`` schema.

    Values are parsed (ids to strings, rating to float, timestamp to unix
    seconds) but no row is dropped here: absent or unparsable values become NA
    and are counted, so the cleaning step can drop them with a reason.

    Args:
        source: The source file as read by its kedro-datasets reader.
        params: Column mapping and timestamp unit of the source.

    Returns:
        ``raw_ratings`` (columns ``user_id``, ``item_id``, ``rating``,
        ``timestamp``) and a parse report (rows in, missing and unparsable values
        per column).

    Raises:
        SchemaError: If a mapped column is absent from the source; the message
            names it and lists the columns that are there.
    """
    absent = {
        target: column
        for target, column in params.columns.items()
        if column not in source.columns
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
    user, user_missing = _parse_ids(source[params.columns[USER_ID]])
    item, item_missing = _parse_ids(source[params.columns[ITEM_ID]])
    rating, rating_missing, rating_bad = _parse_numeric(source[params.columns[RATING]])
    stamp, stamp_missing, stamp_bad = _parse_numeric(source[params.columns[TIMESTAMP]])
    if params.timestamp_unit == "ms":
        stamp = np.floor(stamp / 1000.0)
    raw = pd.DataFrame(
        {
            USER_ID: user.array,
            ITEM_ID: item.array,
            RATING: rating.to_numpy(),
            TIMESTAMP: stamp.round().astype("Int64").to_numpy(),
        }
    )
    report = {
        "source": params.name,
        "rows_in": len(raw),
        "missing": {
            USER_ID: user_missing,
            ITEM_ID: item_missing,
            RATING: rating_missing,
            TIMESTAMP: stamp_missing,
        },
        "unparsable": {RATING: rating_bad, TIMESTAMP: stamp_bad},
    }
    return raw, report


def clean_ratings(
    raw_ratings: pd.DataFrame, parse_report: dict[str, Any], params: CleaningParams
) -> tuple[pd.DataFrame, dict]:
    """Drop unusable rows and collapse duplicate (user, item) pairs to the latest.

    Each dropped row is counted under the first reason that applies, in this
    order: missing user, missing item, missing or unparsable rating, missing or
    unparsable timestamp, rating out of range. Duplicates keep the row with the
    latest timestamp (the later source row on equal timestamps). Source row
    order is preserved.

    Args:
        raw_ratings: Output of :func:`validate_schema`.
        parse_report: Its parse report, extended into the cleaning report.
        params: Valid rating range.

    Returns:
        The cleaned ratings and the cleaning report so far.
    """
    _require_columns(raw_ratings, RAW_COLUMNS, "raw_ratings")
    reasons = {
        "missing_user_id": raw_ratings[USER_ID].isna(),
        "missing_item_id": raw_ratings[ITEM_ID].isna(),
        "missing_or_unparsable_rating": raw_ratings[RATING].isna(),
        "missing_or_unparsable_timestamp": raw_ratings[TIMESTAMP].isna(),
        "rating_out_of_range": ~raw_ratings[RATING].between(
            params.min_rating, params.max_rating
        ),
    }
    dropped: dict[str, int] = {}
    keep = pd.Series(True, index=raw_ratings.index)
    for reason, bad in reasons.items():
        hit = keep & bad.fillna(False).astype(bool)
        dropped[reason] = int(hit.sum())
        keep &= ~hit
    valid = raw_ratings.loc[keep]
    # Stable sort by timestamp, then keep the last row of each pair: the latest
    # interaction wins, and on equal timestamps the later source row does.
    users, _ = pd.factorize(valid[USER_ID])
    items, item_ids = pd.factorize(valid[ITEM_ID])
    pair = users.astype(np.int64) * max(len(item_ids), 1) + items
    order = np.argsort(valid[TIMESTAMP].to_numpy(dtype=np.int64), kind="stable")
    latest = np.ones(len(valid), dtype=bool)
    latest[order] = ~pd.Series(pair[order]).duplicated(keep="last").to_numpy()
    cleaned = valid.loc[latest].astype({TIMESTAMP: "int64", RATING: "float64"})
    report = {
        **parse_report,
        "rows_dropped": dropped,
        "duplicates_collapsed": len(valid) - len(cleaned),
        "rows_after_cleaning": len(cleaned),
    }
    logger.info(
        "Cleaning kept %d of %d rows (dropped %s, %d duplicates collapsed)",
        len(cleaned),
        len(raw_ratings),
        dropped,
        report["duplicates_collapsed"],
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
    while True:
        user_counts = np.bincount(users[keep], minlength=users.max(initial=-1) + 1)
        item_counts = np.bincount(items[keep], minlength=items.max(initial=-1) + 1)
        weak = keep & (
            (user_counts[users] < params.min_user_interactions)
            | (item_counts[items] < params.min_item_interactions)
        )
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
