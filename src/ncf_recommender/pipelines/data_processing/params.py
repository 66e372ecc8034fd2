"""Typed parameters of the ``data_processing`` pipeline.

Kedro (1.3+) validates a ``params:`` input type-hinted with a Pydantic model before
any node runs, so a misspelt key or an impossible value fails the run at start-up
with a message that names the key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ncf_recommender.constants import RATING, RAW_COLUMNS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceParams(_Strict):
    """The source file: its columns, its timestamp unit and its rating scale.

    Attributes:
        name: Human-readable name of the source, written into the cleaning report.
        columns: Source column (name, or position for header-less files) for each
            of ``user_id``, ``item_id``, ``rating`` and ``timestamp``; ``rating``
            may be ``null`` for a file without ratings (every row is then an
            implicit positive rated ``implicit_rating``).
        timestamp_unit: The unit the source's timestamps are expected in
            (``s`` or ``ms``). Whatever it says, a value in
            ``[MS_THRESHOLD, MAX_TIMESTAMP_MS)`` is taken as milliseconds and one
            below ``MS_THRESHOLD`` as seconds (see docs/data.md); values whose unit
            differs from this one are converted and counted.
        rating_range: Smallest and largest valid rating (inclusive): the source's
            rating scale. Other ratings are dropped as ``rating_out_of_range``.
        implicit_rating: The rating given to every row when ``columns.rating``
            is ``null``; it must lie in ``rating_range``.
        allow_truncated: Accept the complete records of a cut gzip (reported in
            the cleaning report) instead of stopping the run.
    """

    name: str = "source"
    columns: dict[str, str | int | None] = Field(
        default_factory=lambda: {column: column for column in RAW_COLUMNS}
    )
    timestamp_unit: Literal["s", "ms"] = "s"
    rating_range: tuple[float, float] = (1.0, 5.0)
    implicit_rating: float = 1.0
    allow_truncated: bool = False

    @model_validator(mode="after")
    def _check_columns(self) -> SourceParams:
        missing = [column for column in RAW_COLUMNS if column not in self.columns]
        unknown = [column for column in self.columns if column not in RAW_COLUMNS]
        if missing or unknown:
            raise ValueError(
                f"source.columns must map exactly {list(RAW_COLUMNS)}; "
                f"missing {missing}, unknown {unknown}"
            )
        absent = [
            column
            for column, source in self.columns.items()
            if source is None and column != RATING
        ]
        if absent:
            raise ValueError(
                f"source.columns.{absent[0]} is null; only rating may be null "
                "(a file without ratings)"
            )
        return self

    @model_validator(mode="after")
    def _check_range(self) -> SourceParams:
        low, high = self.rating_range
        if low > high:
            raise ValueError(
                f"source.rating_range: the lower bound {low} is above the upper "
                f"bound {high}"
            )
        if self.columns[RATING] is None and not low <= self.implicit_rating <= high:
            raise ValueError(
                f"source.implicit_rating {self.implicit_rating} lies outside "
                f"source.rating_range {list(self.rating_range)}"
            )
        return self


class CleaningParams(_Strict):
    """Row-level cleaning rules.

    The rating scale moved to ``source.rating_range`` (it belongs to the source).

    Attributes:
        implicit_threshold: Keep only ratings ``>=`` this value as implicit
            positives; ``None`` keeps every interaction (the protocol default).
    """

    implicit_threshold: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            moved = [key for key in ("min_rating", "max_rating") if key in data]
            if moved:
                raise ValueError(
                    f"cleaning.{moved[0]} has moved: the rating scale belongs to the "
                    "source; set source.rating_range: [min, max] instead (e.g. "
                    "[1.0, 5.0] for Amazon, [0.5, 5.0] for MovieLens latest)"
                )
        return data


class KCoreParams(_Strict):
    """Iterative k-core filter; 1 and 1 switch it off.

    Attributes:
        min_user_interactions: Users with fewer interactions are removed.
        min_item_interactions: Items with fewer interactions are removed.
        max_rounds: Safety bound on the number of filtering rounds.
    """

    min_user_interactions: int = Field(default=5, ge=1)
    min_item_interactions: int = Field(default=5, ge=1)
    max_rounds: int = Field(default=100, ge=1)


class MinimumDataParams(_Strict):
    """The least data that can still be trained and evaluated.

    ``data_processing`` stops with an error that says what is left, and which
    parameters to change, when the data after cleaning and the k-core filter
    falls below either minimum.

    Attributes:
        test_users: Users with a held-out test item, i.e. with at least three
            interactions (the leave-last-two split needs them).
        items: Distinct items; the sampled metrics rank each test item among 99
            stored negatives, so fewer than 100 items cannot be evaluated.
    """

    test_users: int = Field(default=10, ge=1)
    items: int = Field(default=100, ge=2)
