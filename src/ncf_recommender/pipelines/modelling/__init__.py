"""``modelling`` pipeline: GMF, MLP-NCF and NeuMF trained and evaluated beside the baselines."""

from __future__ import annotations

from ncf_recommender.pipelines.modelling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
