"""``cold_start`` pipeline: the cold-item protocol, new products held out of training."""

from __future__ import annotations

from ncf_recommender.pipelines.cold_start.pipeline import create_pipeline

__all__ = ["create_pipeline"]
