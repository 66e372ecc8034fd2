"""Typed parameters of the Spark engine (the rest is shared with the pandas path)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SparkCandidatesParams(BaseModel):
    """How the stored evaluation negatives are spread over Spark tasks.

    Attributes:
        buckets: Users are split into ``buckets`` groups by ``user_idx % buckets``
            and each group is drawn in its own task. With 1 (the default) the
            draw is the pandas path's, identical value for value: one
            ``numpy.random.default_rng(eval_seed)`` over all evaluation users
            in ascending order. With more, bucket ``b`` draws from
            ``default_rng(SeedSequence([eval_seed, b]))``: the same rule
            (uniform without replacement over the items the user never
            interacted with), reproducible for a given ``buckets``, but other
            values than the pandas draw.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    buckets: int = Field(default=1, ge=1, strict=True)
