"""Training: one early-stopping loop for every model family (no Kedro import).

* :mod:`~ncf_recommender.training.loop`: :func:`fit`, the epoch selection, the
  stop rule, seeding and the :class:`TrainingResult` every family returns;
* :mod:`~ncf_recommender.training.ncf`: the NCF family's per-epoch hooks;
* :mod:`~ncf_recommender.training.sequence`: the next-item models' hooks;
* :mod:`~ncf_recommender.training.params`: one Pydantic model per parameter
  group, and the overrides models derived from them;
* :mod:`~ncf_recommender.training.sampling`: the negative sampler that
  ``feature_engineering`` catalogues and the NCF adapter draws from each epoch;
* :mod:`~ncf_recommender.training.optimizers`,
  :mod:`~ncf_recommender.training.schedules`,
  :mod:`~ncf_recommender.training.batches`.

This package's ``__init__`` imports nothing, so ``training.sampling`` and
``training.params`` load without TensorFlow.
"""
