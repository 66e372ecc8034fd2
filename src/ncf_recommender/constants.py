"""Column names and other names shared by every module.

The public dataset names and columns are part of the product's interface
(see the catalog contract in docs/pipelines.md): notebooks, serving and outside tools
load them by name, so they are defined once here.
"""

from __future__ import annotations

USER_ID = "user_id"
ITEM_ID = "item_id"
RATING = "rating"
TIMESTAMP = "timestamp"
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"
LABEL = "label"

RAW_COLUMNS = (USER_ID, ITEM_ID, RATING, TIMESTAMP)
INTERACTION_COLUMNS = (USER_ID, ITEM_ID, USER_IDX, ITEM_IDX, RATING, TIMESTAMP)
EXAMPLE_COLUMNS = (USER_IDX, ITEM_IDX, LABEL)
CANDIDATE_COLUMNS = (USER_IDX, ITEM_IDX)
RECOMMENDATION_COLUMNS = (USER_ID, "rank", ITEM_ID, "score")

#: Seed of the stored evaluation negatives, fixed by the evaluation protocol.
EVAL_NEGATIVES_SEED = 2017
#: Number of stored evaluation negatives per user, fixed by the protocol.
EVAL_NEGATIVES_PER_USER = 99
