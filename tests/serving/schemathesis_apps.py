"""App factories for the contract test: ``uvicorn --factory tests.serving.schemathesis_apps:<name>``.

Small in-memory recommenders (no Kedro project): an NCF-like dot-product model
and an untrained tiny SASRec, with tight limits so the fuzzer reaches them.
"""

from __future__ import annotations

from fastapi import FastAPI

from ncf_recommender.serving.api import ServingSettings, create_app

#: Limits small enough for generated requests to cross them; the body limit is
#: above the largest body the schema allows at these limits.
SETTINGS = ServingSettings(
    max_users_per_request=3,
    max_top_n=40,
    max_history_items=4,
    max_body_bytes=1_048_576,
)


def ncf_app() -> FastAPI:
    """The service over the dot-product test recommender (no histories)."""
    from tests.serving.test_api import make_recommender  # noqa: PLC0415

    return create_app(lambda: (make_recommender(), SETTINGS))


def sasrec_app() -> FastAPI:
    """The service over an untrained tiny SASRec (reads histories)."""

    def factory():
        from ncf_recommender.serving import (  # noqa: PLC0415
            Recommender,
            get_model_type,
        )
        from ncf_recommender.serving._data import ServingData  # noqa: PLC0415
        from tests.serving import (  # noqa: PLC0415
            PLANTED_ITEMS,
            build_sequence_model,
            planted_frames,
        )

        data = ServingData.from_frames(*planted_frames())
        model_type = get_model_type("sasrec")
        scorer = model_type.scorer_factory(
            build_sequence_model("sasrec", PLANTED_ITEMS), data
        )
        return Recommender(scorer, data, model_type, model_version="v1"), SETTINGS

    return create_app(factory)
