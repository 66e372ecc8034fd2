"""A served model always uses the id mappings it was trained with."""

from __future__ import annotations

import pytest

from ncf_recommender.lineage import (
    LineageError,
    check_lineage,
    mappings_fingerprint,
    model_info,
)
from ncf_recommender.serving import _loading as loading
from ncf_recommender.serving import clear_cache, load_recommender
from tests.serving import save_artifacts, tiny_frames, tiny_gmf, write_project

N_USERS, N_ITEMS = 12, 25


def test_fingerprint_changes_with_any_id_and_with_the_order():
    _, users, items = tiny_frames(N_USERS, N_ITEMS)
    base = mappings_fingerprint(users, items)
    assert base == mappings_fingerprint(
        users.iloc[::-1], items.sample(frac=1, random_state=0)
    )
    renamed = items.assign(
        item_id=items["item_id"].where(items["item_idx"] != 3, "other")
    )
    assert mappings_fingerprint(users, renamed) != base
    swapped = items.assign(item_idx=items["item_idx"].replace({0: 1, 1: 0}))
    assert mappings_fingerprint(users, swapped) != base
    assert base.startswith(f"{N_USERS}u-{N_ITEMS}i-")


def test_check_lineage_names_both_fingerprints():
    _, users, items = tiny_frames(N_USERS, N_ITEMS)
    info = model_info(users, items)
    check_lineage(info, users, items, model="gmf_model", version="v1")
    other = items.assign(item_id=items["item_id"] + "x")
    with pytest.raises(LineageError) as raised:
        check_lineage(info, users, other, model="gmf_model", version="v1")
    message = str(raised.value)
    assert info["mappings_fingerprint"] in message
    assert mappings_fingerprint(users, other) in message
    assert "gmf_model version v1" in message


@pytest.mark.slow
def test_serving_refuses_a_model_whose_mappings_changed(tmp_path, monkeypatch):
    interactions, users, items = tiny_frames(N_USERS, N_ITEMS)
    model = tiny_gmf(interactions, N_USERS, N_ITEMS)
    root = write_project(tmp_path / "project")
    save_artifacts(
        root,
        {
            "interactions": interactions,
            "user_mapping": users,
            "item_mapping": items,
            "gmf_model": model,
            "gmf_model_info": model_info(users, items),
        },
    )
    clear_cache()
    assert load_recommender("gmf", project_path=root).recommend("U001", 3)
    # Another data_processing run: same sizes, other item ids at the same indices.
    relabelled = items.assign(item_id=items["item_id"].str.replace("I", "J"))
    save_artifacts(
        root,
        {
            "item_mapping": relabelled,
            "interactions": interactions.assign(
                item_id=interactions["item_id"].str.replace("I", "J")
            ),
        },
    )
    with pytest.raises(LineageError) as raised:
        load_recommender("gmf", project_path=root)
    message = str(raised.value)
    assert model_info(users, items)["mappings_fingerprint"] in message
    assert mappings_fingerprint(users, relabelled) in message
    # A model saved without an info record is served, with a warning.
    # (Kedro's session reconfigures logging, so the warning is caught at its source.)
    save_artifacts(root, {"gmf_model": model})
    warnings: list[str] = []
    monkeypatch.setattr(
        loading.logger,
        "warning",
        lambda message, *args: warnings.append(message % args),
    )
    load_recommender("gmf", project_path=root)
    assert any("no gmf_model_info record" in warning for warning in warnings)
