"""docs/results.md is what benchmarks/make_results.py renders from the records.

So no number in the results document can change, or be typed, without its
record in benchmarks/results/ changing too.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_results():
    return _script("make_results")


def test_docs_results_md_is_exactly_what_the_records_render(make_results):
    committed = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert committed == make_results.render(), (
        "docs/results.md differs from the records: run "
        ".venv/bin/python benchmarks/make_results.py"
    )


def test_every_table_of_the_document_comes_from_a_record(make_results):
    template = make_results.TEMPLATE.read_text(encoding="utf-8")
    assert not [line for line in template.splitlines() if line.startswith("|")], (
        "a table typed into template.md: record it in benchmarks/results/ instead"
    )
    seeds = json.loads(
        (ROOT / "benchmarks/results/grocery_seeds_10-14.json").read_text()
    )
    sasrec = [run["metrics"]["sasrec"]["full"]["ndcg@10"] for run in seeds]
    mean = sum(sasrec) / len(sasrec)
    assert f"| ours: sasrec | {mean:.4f} ± " in make_results.render()


def test_an_unknown_directive_is_refused_by_name(make_results):
    with pytest.raises(ValueError, match="unknown directive '<!-- tabel: x.json -->'"):
        make_results.render("# t\n<!-- tabel: x.json -->\n")


def test_a_full_run_record_renders_its_rows_the_running_node_and_the_total(
    make_results, tmp_path, monkeypatch
):
    bench = _script("bench_full_run")
    rows = [
        {"event": "start", "node": "clean_ratings"},
        {
            "event": "done",
            "node": "clean_ratings",
            "wall_s": 5.04,
            "cpu_s": 4.96,
            "peak_rss_gb": 3.021,
            "interactions": 1748521,
        },
        {"event": "start", "node": "gru.evaluate_model"},
    ]
    entry = bench.scale_record(1.0, {"modelling": {"models": ["gru"]}}, None, rows)
    assert entry["status"] == "timeout" and entry["running"] == ["gru.evaluate_model"]
    assert entry["interactions"] == 1748521 and entry["total"] is None
    monkeypatch.setattr(sys, "argv", ["bench_full_run.py", "--scales", "1"])
    bench.write_record(tmp_path / "full_run_test.json", [entry])
    record = json.loads((tmp_path / "full_run_test.json").read_text())
    assert record["command"].endswith("bench_full_run.py --scales 1")
    monkeypatch.setattr(make_results, "RESULTS", tmp_path)
    text = make_results.render_full_runs()
    assert "| clean_ratings | 5.0 | 5.0 | 3.02 |" in text
    assert "| gru.evaluate_model | running when stopped |" in text
    assert "total of the finished rows (run incomplete)** | 5.0 |" in text
    assert "Scale 1 (1,748,521 interactions; timeout;" in text
