"""Apache Spark engine for ``data_processing`` and the stored evaluation negatives.

The same steps as :mod:`ncf_recommender.pipelines.data_processing` (and the
candidate nodes of ``feature_engineering``), on PySpark DataFrames, producing
the same catalogued tables. Column names and parameter models are shared with
the pandas path; only the engine differs. ``pyspark`` is an optional extra
(``pip install ncf_recommender[spark]``): nothing outside this package imports it.
"""
