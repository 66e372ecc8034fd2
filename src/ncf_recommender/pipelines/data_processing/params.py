"""Typed parameters of the ``data_processing`` pipeline.

Kedro (1.3+) validates a ``params:`` input type-hinted with a Pydantic model before
any node runs, so a misspelt key or an impossible value fails the run at start-up
with a message that names the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ncf_recommender.constants import RAW_COLUMNS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceParams(_Strict):
    """How the source file's columns map onto the ``raw_ratings`` schema.

    Attributes:
        name: Human-readable name of the source, written into the cleaning report.
        columns: Source column (name, or position for header-less files) for each
            of ``user_id``, ``item_id``, ``rating`` and ``timestamp``.
        timestamp_unit: Unit of the source timestamps; ``ms`` is converted to seconds.
    """

    name: str = "source"
    columns: dict[str, str | int] = Field(
        default_factory=lambda: {column: column for column in RAW_COLUMNS}
    )
    timestamp_unit: Literal["s", "ms"] = "s"

    @model_validator(mode="after")
    def _check_columns(self) -> SourceParams:
        missing = [column for column in RAW_COLUMNS if column not in self.columns]
        unknown = [column for column in self.columns if column not in RAW_COLUMNS]
        if missing or unknown:
            raise ValueError(
                f"source.columns must map exactly {list(RAW_COLUMNS)}; "
                f"missing {missing}, unknown {unknown}"
            )
        return self


class CleaningParams(_Strict):
    """Row-level cleaning rules.

    Attributes:
        min_rating: Smallest valid rating (inclusive).
        max_rating: Largest valid rating (inclusive).
        implicit_threshold: Keep only ratings ``>=`` this value as implicit
            positives; ``None`` keeps every interaction (the protocol default).
    """

    min_rating: float = 1.0
    max_rating: float = 5.0
    implicit_threshold: float | None = None

    @model_validator(mode="after")
    def _check_range(self) -> CleaningParams:
        if self.min_rating > self.max_rating:
            raise ValueError(
                f"cleaning.min_rating ({self.min_rating}) is above "
                f"cleaning.max_rating ({self.max_rating})"
            )
        return self


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

