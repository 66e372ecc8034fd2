"""Each real-data environment reads a small file written in that source's exact format.

The catalog entry and parameters come from the environment's own configuration, so these
tests check the shipped YAML, not a copy of it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog

from ncf_recommender.config import EnvironmentConfigLoader
from ncf_recommender.pipelines.data_processing.nodes import validate_schema
from ncf_recommender.pipelines.data_processing.params import SourceParams

CONF = Path(__file__).resolve().parents[3] / "conf"

EXPECTED = pd.DataFrame(
    {
        "user_id": ["A2CX7LUOHB2NDG", "A2NWSAGRHCP8N5", "A2CX7LUOHB2NDG"],
        "item_id": ["0321732944", "0439886341", "B00004ZCJE"],
        "rating": [5.0, 1.0, 3.0],
        "timestamp": [1341100800, 1367193600, 1374451200],
    }
)


def _read(env: str, path: Path, runtime_params: dict | None = None) -> pd.DataFrame:
    loader = EnvironmentConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env=env,
        env=env,
        runtime_params=runtime_params or {},
    )
    entry = dict(loader["catalog"]["source_ratings"])
    assert Path(entry["filepath"]).name == path.name, (
        "the test writes the file the env expects"
    )
    entry["filepath"] = str(path)
    source = DataCatalog.from_config({"source_ratings": entry}).load("source_ratings")
    raw, _ = validate_schema(source, SourceParams(**loader["parameters"]["source"]))
    return raw


def _assert_expected(raw: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        raw.astype({"user_id": object, "item_id": object, "timestamp": "int64"}),
        EXPECTED,
        check_dtype=False,
    )


def test_amazon_2014_csv(tmp_path):
    path = tmp_path / "ratings_Electronics.csv"
    path.write_text(
        "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in EXPECTED.itertuples(index=False))
    )
    _assert_expected(_read("amazon-2014", path))


def _json_lines(records: list[dict]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.mark.parametrize("name", ["Electronics_5.json.gz", "Electronics.json.gz"])
def test_amazon_2018_json_gz(tmp_path, name):
    records = [
        {
            "overall": r,
            "verified": True,
            "reviewTime": "07 1, 2012",
            "reviewerID": u,
            "asin": i,
            "reviewerName": "x",
            "reviewText": "ok",
            "summary": "s",
            "unixReviewTime": t,
        }
        for u, i, r, t in EXPECTED.itertuples(index=False)
    ]
    path = tmp_path / name
    with gzip.open(path, "wt") as handle:
        handle.write(_json_lines(records))
    _assert_expected(_read("amazon-2018", path, {"source_file": name}))


def test_amazon_2023_jsonl_milliseconds(tmp_path):
    records = [
        {
            "rating": r,
            "title": "t",
            "text": "x",
            "images": [],
            "asin": i + "X",
            "parent_asin": i,
            "user_id": u,
            "timestamp": t * 1000 + 123,
            "helpful_vote": 0,
            "verified_purchase": True,
        }
        for u, i, r, t in EXPECTED.itertuples(index=False)
    ]
    path = tmp_path / "Electronics.jsonl"
    path.write_text(_json_lines(records))
    _assert_expected(_read("amazon-2023", path))


def test_movielens_recbole_inter(tmp_path):
    path = tmp_path / "ml-100k.inter"
    path.write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n"
    )
    raw = _read("movielens", path)
    assert raw.iloc[0].tolist() == ["196", "242", 3.0, 881250949]


def test_movielens_udata(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    raw = _read("movielens-udata", path)
    assert raw["user_id"].tolist() == ["196", "186"] and raw["timestamp"].tolist() == [
        881250949,
        891717742,
    ]


def test_movielens_latest_csv(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n"
    )
    raw = _read("movielens-latest", path)
    assert raw["item_id"].tolist() == ["1", "3"] and raw["rating"].tolist() == [
        4.0,
        4.5,
    ]
