"""Atomic versioned saves: an interrupted save never becomes the latest version."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version
from kedro_datasets.pandas import ParquetDataset as PlainParquetDataset

from ncf_recommender import atomic
from ncf_recommender.atomic import PARTIAL_MARK

FRAME_V1 = pd.DataFrame({"a": np.arange(1000), "b": np.linspace(0, 1, 1000)})
FRAME_V2 = FRAME_V1.assign(a=FRAME_V1["a"] * 2)


def _versioned(cls, path: Path, save: str | None = None, **kwargs):
    return cls(filepath=str(path), version=Version(None, save), **kwargs)


def _figure(value: float):
    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, value])
    return figure


def _model(seed: int):
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def _same(kind: str, loaded, expected) -> bool:
    if kind in ("parquet", "csv"):
        return loaded.equals(expected)
    if kind == "json":
        return loaded == expected
    if kind == "keras":
        return all(
            np.array_equal(a, b)
            for a, b in zip(loaded.get_weights(), expected.get_weights(), strict=True)
        )
    # matplotlib loads nothing back: the file must be a whole PNG
    return loaded.startswith(b"\x89PNG") and loaded.endswith(b"IEND\xaeB`\x82")


def _load(kind: str, dataset):
    if kind == "matplotlib":
        return Path(str(dataset._get_load_path())).read_bytes()
    return dataset.load()


def _fail_midway(monkeypatch, kind: str, dataset) -> None:
    """Make the dataset's writer put some bytes in the target, then raise."""

    def boom():
        raise OSError(28, "No space left on device")

    if kind in ("parquet", "csv"):
        method = "to_parquet" if kind == "parquet" else "to_csv"

        def write_half(self, *args, **kwargs):
            handle = args[0] if args else kwargs["path_or_buf"]
            handle.write(b"PAR1 truncated" if kind == "parquet" else "a,b\n0,")
            boom()

        monkeypatch.setattr(pd.DataFrame, method, write_half)
    elif kind == "json":

        def dump_half(data, handle, **kwargs):
            handle.write('{"half": ')
            boom()

        monkeypatch.setattr(json, "dump", dump_half)
    elif kind == "matplotlib":
        real_open = dataset._fs.open

        def open_half(path, *args, **kwargs):
            handle = real_open(path, *args, **kwargs)

            class Half:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    handle.close()

                def write(self, data):
                    handle.write(data[: len(data) // 2])
                    boom()

            return Half()

        monkeypatch.setattr(dataset._fs, "open", open_half)
    else:

        def put_half(source, target, *args, **kwargs):
            data = Path(source).read_bytes()
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_bytes(data[: len(data) // 2])
            boom()

        monkeypatch.setattr(dataset._fs, "put", put_half)


CASES = {
    "parquet": ("ParquetDataset", "frame.parquet", FRAME_V1, FRAME_V2),
    "csv": ("CSVDataset", "frame.csv", FRAME_V1, FRAME_V2),
    "json": ("JSONDataset", "report.json", {"v": 1}, {"v": 2}),
    "matplotlib": ("MatplotlibDataset", "plot.png", None, None),
    "keras": ("TensorFlowModelDataset", "model.keras", None, None),
}


def _data(kind: str, version: int):
    _, _, first, second = CASES[kind]
    if kind == "matplotlib":
        return _figure(version)
    if kind == "keras":
        return _model(version)
    return first if version == 1 else second


def _extra(kind: str) -> dict:
    if kind == "csv":
        return {"save_args": {"index": False}}
    if kind == "keras":
        return {"load_args": {"compile": False}}
    return {}


@pytest.mark.parametrize("kind", list(CASES))
def test_save_is_complete_and_leaves_no_temporary(tmp_path, kind):
    class_name, filename, _, _ = CASES[kind]
    cls = getattr(atomic, class_name)
    path = tmp_path / filename
    data = _data(kind, 1)
    dataset = _versioned(cls, path, "2020-01-01T00.00.00.000Z", **_extra(kind))
    dataset.save(data)
    folder = path / "2020-01-01T00.00.00.000Z"
    assert sorted(p.name for p in folder.iterdir()) == [filename]
    assert (folder / filename).stat().st_size > 0
    assert _same(kind, _load(kind, _versioned(cls, path, **_extra(kind))), data)


@pytest.mark.parametrize("kind", list(CASES))
def test_a_save_failing_midway_keeps_the_previous_version_latest(
    tmp_path, monkeypatch, kind
):
    class_name, filename, _, _ = CASES[kind]
    cls = getattr(atomic, class_name)
    path = tmp_path / filename
    good = _data(kind, 1)
    _versioned(cls, path, "2020-01-01T00.00.00.000Z", **_extra(kind)).save(good)
    failing = _versioned(cls, path, "2020-01-02T00.00.00.000Z", **_extra(kind))
    second = _data(kind, 2)
    with monkeypatch.context() as patch:
        _fail_midway(patch, kind, failing)
        with pytest.raises(DatasetError, match="No space left"):
            failing.save(second)
    bad_folder = path / "2020-01-02T00.00.00.000Z"
    # Neither the final name nor the temporary survives the failed save.
    assert not (bad_folder / filename).exists()
    assert not bad_folder.exists() or not any(bad_folder.iterdir())
    reader = _versioned(cls, path, **_extra(kind))
    assert reader.resolve_load_version() == "2020-01-01T00.00.00.000Z"
    assert _same(kind, _load(kind, reader), good)


def test_plain_kedro_datasets_would_pick_the_truncated_file(tmp_path, monkeypatch):
    """The failure the wrapper prevents: kedro-datasets alone loads half a file."""
    path = tmp_path / "frame.parquet"
    _versioned(PlainParquetDataset, path, "2020-01-01T00.00.00.000Z").save(FRAME_V1)
    failing = _versioned(PlainParquetDataset, path, "2020-01-02T00.00.00.000Z")
    with monkeypatch.context() as patch:
        _fail_midway(patch, "parquet", failing)
        with pytest.raises(DatasetError):
            failing.save(FRAME_V2)
    reader = _versioned(PlainParquetDataset, path)
    assert reader.resolve_load_version() == "2020-01-02T00.00.00.000Z"
    with pytest.raises(DatasetError):
        reader.load()


KILLED_SAVE = textwrap.dedent(
    """
    import sys, time
    import numpy as np, pandas as pd
    from kedro.io.core import Version
    from ncf_recommender.atomic import ParquetDataset

    real = pd.DataFrame.to_parquet

    def slow_to_parquet(self, handle, *args, **kwargs):
        handle.write(b"PAR1" + b"x" * 1_000_000)  # the first megabyte...
        handle.flush()
        print("WRITING", flush=True)
        time.sleep(120)  # ...and the kill arrives before the rest

    pd.DataFrame.to_parquet = slow_to_parquet
    frame = pd.DataFrame({"a": np.arange(10)})
    ParquetDataset(filepath=sys.argv[1], version=Version(None, sys.argv[2])).save(frame)
    """
)


def kill_during_save(script: str, *args: str) -> None:
    """Run ``script`` in a subprocess and SIGKILL it once it prints ``WRITING``."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        for line in process.stdout:  # a Kedro session logs to stdout first
            seen.append(line)
            if line.strip() == "WRITING":
                break
        else:
            pytest.fail("".join(seen) + process.stderr.read())
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_killed_save_is_skipped_and_reported(tmp_path, caplog):
    path = tmp_path / "frame.parquet"
    good = "2020-01-01T00.00.00.000Z"
    killed = "2020-01-02T00.00.00.000Z"
    _versioned(atomic.ParquetDataset, path, good).save(FRAME_V1)
    kill_during_save(KILLED_SAVE, str(path), killed)

    leftovers = list((path / killed).iterdir())
    assert len(leftovers) == 1 and PARTIAL_MARK in leftovers[0].name
    assert leftovers[0].stat().st_size >= 1_000_000
    reader = _versioned(atomic.ParquetDataset, path)
    with caplog.at_level(logging.WARNING, logger="ncf_recommender.atomic"):
        assert reader.load().equals(FRAME_V1)
    assert reader.resolve_load_version() == good
    assert reader.incomplete_versions() == [str(path / killed)]
    messages = [r.getMessage() for r in caplog.records]
    assert any(str(path / killed) in m and good in m for m in messages), messages


def test_only_incomplete_versions_reports_before_failing(tmp_path, caplog):
    path = tmp_path / "frame.parquet"
    (path / "2020-01-02T00.00.00.000Z").mkdir(parents=True)
    reader = _versioned(atomic.ParquetDataset, path)
    with caplog.at_level(logging.WARNING, logger="ncf_recommender.atomic"):
        with pytest.raises(DatasetError):
            reader.load()
    assert any("2020-01-02T00.00.00.000Z" in r.getMessage() for r in caplog.records)


def test_every_versioned_catalog_entry_saves_atomically():
    import yaml  # noqa: PLC0415

    conf = Path(__file__).resolve().parents[1] / "conf"
    versioned = {}
    for path in conf.glob("*/catalog*.yml"):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(entry, dict) and entry.get("versioned"):
                versioned[f"{path.parent.name}/{path.name}:{name}"] = entry["type"]
    assert len(versioned) >= 20
    assert {
        where: kind
        for where, kind in versioned.items()
        if not kind.startswith("ncf_recommender.atomic.")
    } == {}
