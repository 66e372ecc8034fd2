"""Hyper-parameter tuning on validation (Optuna), without Kedro imports in its core.

* :mod:`~ncf_recommender.tuning.space`: the validated ``tuning`` group and its
  search spaces, path overrides;
* :mod:`~ncf_recommender.tuning.study`: one model's resumable, budgeted,
  pruned study;
* :mod:`~ncf_recommender.tuning.storage`: the catalogued folder of the studies.

The Kedro wiring is :mod:`ncf_recommender.pipelines.tuning`.
"""
