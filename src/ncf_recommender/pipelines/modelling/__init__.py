"""``modelling`` pipeline: GMF, MLP-NCF, NeuMF, SASRec and GRU4Rec trained and evaluated beside the baselines."""

from __future__ import annotations

from ncf_recommender.pipelines.modelling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
