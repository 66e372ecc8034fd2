"""ncf-recommender: Neural Collaborative Filtering for e-commerce, as a Kedro project."""

from __future__ import annotations

import os

# TensorFlow prints a page of C++ start-up notices (CPU features, oneDNN) on import;
# this documented setting silences them unless the user chose a level already.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
