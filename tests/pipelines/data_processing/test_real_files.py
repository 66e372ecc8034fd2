"""data_processing on the real Amazon files of ../shared/datasets/amazon.

Each test copies the real file into a private project copy, where the environment's
catalog expects it, and runs the pipeline through a KedroSession: so the reader
report also has to pass through Kedro into the cleaning report. Skipped, with the
path, where the shared files are absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT, make_project_copy

pytestmark = pytest.mark.slow

AMAZON = PROJECT_ROOT.parent / "shared" / "datasets" / "amazon"
if not AMAZON.is_dir():  # a worktree sits beside main; shared is one level up
    AMAZON = Path("/work/shared/datasets/amazon")
HEAD = AMAZON / "ratings_Electronics_head50k.csv"
TRUNCATED = AMAZON / "formats" / "reviews_Electronics_5_truncated.json.gz"
GROCERY = AMAZON / "grocery-2014-5core" / "interactions.tsv"
NO_KCORE = {"kcore": {"min_user_interactions": 1, "min_item_interactions": 1}}


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real fixture absent: {path} (see the README, 'Real data')")


def _project(tmp_path: Path, source: Path, target: str, extra: bytes = b"") -> Path:
    root = make_project_copy(tmp_path)
    (root / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, root / target)
    if extra:
        with (root / target).open("ab") as handle:
            handle.write(extra)
    bootstrap_project(root)
    return root


def _run(
    root: Path, env: str, runtime_params: dict, *names: str, to_node: str | None = None
) -> dict:
    """Run data_processing (up to ``to_node``); the named outputs, free ones too."""
    with KedroSession.create(
        project_path=root, env=env, runtime_params=runtime_params
    ) as session:
        free = session.run(
            pipeline_names=["data_processing"],
            to_nodes=[to_node] if to_node else None,
        )
        catalog = session.load_context().catalog
        return {
            name: free[name].load() if name in free else catalog.load(name)
            for name in names
        }


def test_truncated_gzip_stops_the_run_naming_the_file_and_the_cut(tmp_path):
    _need(TRUNCATED)
    target = "data/amazon-2014-reviews/01_raw/reviews_Electronics_5.json.gz"
    root = _project(tmp_path, TRUNCATED, target)
    with pytest.raises(Exception, match="is truncated") as info:
        _run(root, "amazon-2014-reviews", {})
    message = str(info.value)
    assert "reviews_Electronics_5.json.gz" in message
    assert "290 complete records" in message
    assert f"compressed byte {TRUNCATED.stat().st_size:,}" in message
    assert "source.allow_truncated" in message
    intermediate = root / "data" / "amazon-2014-reviews" / "02_intermediate"
    assert not intermediate.exists() or not list(intermediate.iterdir()), "written"


def test_truncated_gzip_gives_its_290_records_when_allowed(tmp_path):
    _need(TRUNCATED)
    target = "data/amazon-2014-reviews/01_raw/reviews_Electronics_5.json.gz"
    root = _project(tmp_path, TRUNCATED, target)
    # up to the cleaning: 290 reviews of 289 users leave no user to evaluate
    outputs = _run(
        root,
        "amazon-2014-reviews",
        {"source": {"allow_truncated": True}},
        "partial_cleaning_report",
        "raw_ratings",
        to_node="clean_ratings",
    )
    report = outputs["partial_cleaning_report"]
    assert report["rows_in"] == len(outputs["raw_ratings"]) == 290
    assert report["truncation"] == {
        "compressed_bytes": TRUNCATED.stat().st_size,
        "decompressed_bytes": 240_574,
        "complete_records": 290,
        "incomplete_tail_bytes": 571,
    }
    assert sum(report["rows_dropped"].values()) == 0
    assert report["rows_after_cleaning"] == 290 - report["duplicates_collapsed"]


def test_real_head_reads_and_counts_the_rows_of_the_issue(tmp_path):
    """The real 2014 head, plus the rows that used to crash the reader."""
    _need(HEAD)
    bad = (
        b"AYYYYYYYYYYYYY,0972683275,4,\n"  # the row of the issue: empty timestamp
        b"AZZZZZZZZZZZZZ,0972683275,4\n"  # a field short
        b"AZZZZZZZZZZZZZ,0972683276,4,1365811200,\n"  # a trailing separator
        b"user,asin,rating,unix_time\n"  # a header line in a header-less file
        b"AZZZZZZZZZZZZZ,0972683277,4,1365811200000\r\n"  # milliseconds, CRLF
        b"AKM1MP6P0OYPR,0132793040,5.0,1365811200\n"  # the head's first row again
    )
    root = _project(
        tmp_path, HEAD, "data/amazon-2014/01_raw/ratings_Electronics.csv", bad
    )
    outputs = _run(root, "amazon-2014", NO_KCORE, "cleaning_report", "interactions")
    report = outputs["cleaning_report"]
    assert report["rows_in"] == 50_698 + 6
    assert {k: v for k, v in report["rows_dropped"].items() if v} == {
        "wrong_field_count": 1,
        "trailing_separator": 1,
        "header_line": 1,
        "missing_or_unparsable_timestamp": 1,
    }
    assert report["timestamps_in_other_unit"] == 1
    assert report["duplicates_collapsed"] == report["exact_duplicates"] == 1
    assert report["rows_after_cleaning"] == report["rows_out"] == 50_698 + 1
    assert len(outputs["interactions"]) == 50_699


def test_real_head_alone_has_no_bad_row(tmp_path):
    _need(HEAD)
    root = _project(tmp_path, HEAD, "data/amazon-2014/01_raw/ratings_Electronics.csv")
    report = _run(root, "amazon-2014", NO_KCORE, "cleaning_report")["cleaning_report"]
    assert report["rows_in"] == report["rows_after_cleaning"] == 50_698
    assert sum(report["rows_dropped"].values()) == 0
    assert report["duplicates_collapsed"] == 0
    # an independent read of the same file
    head = pd.read_csv(HEAD, header=None, names=["u", "i", "r", "t"], dtype=str)
    assert (report["users_out"], report["items_out"]) == (
        head["u"].nunique(),
        head["i"].nunique(),
    )


def test_grocery_env_reproduces_the_peers_split(tmp_path):
    _need(GROCERY)
    root = _project(
        tmp_path,
        GROCERY,
        "data/amazon-grocery/01_raw/grocery-2014-5core/interactions.tsv",
    )
    names = ("cleaning_report", "train_interactions", "val_interactions")
    outputs = _run(root, "amazon-grocery", {}, *names, "test_interactions")
    report = outputs["cleaning_report"]
    assert report["rows_in"] == report["rows_out"] == 121_892
    assert (report["users_out"], report["items_out"]) == (14_681, 8_687)
    assert sum(report["rows_dropped"].values()) == 0
    sizes = [len(outputs[f"{s}_interactions"]) for s in ("train", "val", "test")]
    assert sizes == [92_530, 14_681, 14_681]
    assert (outputs["train_interactions"]["rating"] == 1.0).all()
