"""App factories for the contract test: ``uvicorn --factory tests.serving.schemathesis_apps:<name>``.

Small in-memory recommenders (no Kedro project): an NCF-like dot-product model
and an untrained tiny SASRec, with tight limits so the fuzzer reaches them.
Both carry a small ``item_metadata`` holding the schema's example item id (a
product known only from its metadata), so ``GET /items/{item_id}`` answers its
example and ``POST /items`` can place its example product by category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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
#: The item id of the schema's examples (``GET /items/{item_id}``, ``related``).
EXAMPLE_ITEM = "B00004Z5M1"


def item_metadata(item_ids: np.ndarray):
    """Metadata of the served items (two categories) plus the example product."""
    from ncf_recommender.serving import CataloguedMetadata  # noqa: PLC0415

    paths = [
        ["Electronics", "Audio", "Headphones"],
        ["Electronics", "Photo", "Cameras"],
    ]
    ids = [*map(str, item_ids), EXAMPLE_ITEM]
    frame = pd.DataFrame(
        {
            "item_id": ids,
            "title": [f"Product {i}" for i in ids],
            "brand": "Acme",
            "categories": [paths[n % 2] for n in range(len(ids) - 1)] + [paths[0]],
            "price": 9.99,
        }
    )
    return CataloguedMetadata.from_frame(frame, item_ids, "contract")


def ncf_app() -> FastAPI:
    """The service over the dot-product test recommender (no histories)."""
    from tests.serving.test_api import make_recommender  # noqa: PLC0415

    def factory():
        recommender = make_recommender()
        recommender.item_metadata = item_metadata(recommender.data.item_ids)
        return recommender, SETTINGS

    return create_app(factory)


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
        recommender = Recommender(
            scorer,
            data,
            model_type,
            model_version="v1",
            item_metadata=item_metadata(data.item_ids),
        )
        return recommender, SETTINGS

    return create_app(factory)
