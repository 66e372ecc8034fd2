"""docs/results.md is what benchmarks/make_results.py renders from the records.

So no number in the results document can change, or be typed, without its
record in benchmarks/results/ changing too.
"""

from __future__ import annotations

import importlib.util
import json
import re
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
    lines = make_results.render(
        "{{ full('full_run_test', 1, 'clean_ratings', 'peak_rss_gb') | 2 }} GB, "
        "{{ full('full_run_test', 1, 'interactions') | , }}\n"
    ).splitlines()
    assert lines[-1] == "3.02 GB, 1,748,521"
    with pytest.raises(ValueError, match="scale 1 of full_run_test did not finish"):
        make_results.render("{{ full('full_run_test', 1, 'total') }}\n")


def test_placeholders_resolve_from_seed_peer_table_and_figure_records(
    make_results, tmp_path, monkeypatch
):
    runs = [
        {"seed": s, "wall_seconds": w, "metrics": {"m": {"full": {"ndcg@10": v}}}}
        for s, w, v in ((1, 10.4, 0.1), (2, 20.6, 0.3))
    ]
    peers = [
        {"system": "p1", "full": {"ndcg@10": 0.05}, "train_s": 43.565},
        {"system": "p2", "full": {"ndcg@10": 0.08}},
    ]
    table = {
        "columns": ["model", "full NDCG@10", "s"],
        "rows": [["GMF (x)", "**0.0731 ± 0.0020**", "p99 11 (10–13)"]],
    }
    figures = {"figures": {"a": 2.0, "b": {"value": 0.5, "command": "c"}}}
    for name, record in {
        "seeds": runs,
        "peers": peers,
        "table": table,
        "figs": figures,
    }.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    monkeypatch.setattr(make_results, "RESULTS", tmp_path)
    template = (
        "mean {{ mean('seeds', 'm', 'full.ndcg@10') | 4 }}"
        " sd {{ sd('seeds', 'm', 'full.ndcg@10') | .3f }}"
        " range {{ low('seeds', 'm', 'full.ndcg@10') }}-"
        "{{ high('seeds', 'm', 'full.ndcg@10') }}"
        " seed2 {{ seed('seeds', 2, 'm', 'full.ndcg@10') | 2 }}"
        " wall {{ run_low('seeds', 'wall_seconds') | 0 }}-"
        "{{ run_high('seeds', 'wall_seconds') | 0 }}\n"
        "peer {{ peer('peers', 'p1', 'train_s') | 1 }}"
        " ratio {{ mean('seeds', 'm', 'full.ndcg@10') / best_peer('peers', "
        "'full.ndcg@10') | 2 }}\n"
        "cell {{ cell('table', 'GMF', 'full NDCG@10') | 4 }}"
        " ± {{ cell('table', 'GMF', 'full NDCG@10', 1) | 4 }}"
        " s {{ cell('table', 'GMF', 's') }} to {{ cell('table', 'GMF', 's', 2) | 0 }}\n"
        "fig {{ fig('figs', 'a') * fig('figs', 'b') | 1 }} {{ (1 + 2) / 4 }}"
        " count {{ count('seeds', 'm', 'full.ndcg@10') }} of {{ n_runs('seeds') }}"
    )
    lines = make_results.render(template).splitlines()[2:]
    assert lines == [
        "mean 0.2000 sd 0.141 range 0.1-0.3 seed2 0.30 wall 10-21",
        "peer 43.6 ratio 2.50",
        "cell 0.0731 ± 0.0020 s 11.0 to 13",
        "fig 1.0 0.75 count 2 of 2",
    ]


@pytest.mark.parametrize(
    ("placeholder", "why"),
    [
        ("{{ meen('seeds', 'm', 'x') }}", "unknown function 'meen'"),
        ("{{ mean('nope', 'm', 'x') }}", "benchmarks/results/nope.json"),
        ("{{ mean('seeds', 'other', 'full.ndcg@10') }}", "no model 'other'"),
        ("{{ mean('seeds', 'm', 'full.mrr') }}", "missing 'mrr'"),
        ("{{ fig('seeds', 'a') }}", "seeds is not a record with figures"),
        ("{{ cell('seeds', 'GMF', 's') }}", "seeds is not a table record"),
        ("{{ __import__('os') | 2 }}", "unknown function '__import__'"),
        ("{{ mean('seeds', 'm' | 2 }}", "was never closed"),
    ],
)
def test_an_unresolvable_placeholder_fails_naming_it(
    make_results, tmp_path, monkeypatch, placeholder, why
):
    runs = [{"seed": 1, "metrics": {"m": {"full": {"ndcg@10": 0.1}}}}]
    (tmp_path / "seeds.json").write_text(json.dumps(runs))
    monkeypatch.setattr(make_results, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match="cannot resolve placeholder") as error:
        make_results.render(f"text {placeholder} text\n")
    assert placeholder in str(error.value) and why in str(error.value)


#: Decimals in the template's prose that are not measurements: a parameter, a
#: threshold the per-seed figures are compared with, and targets set by issues.
NOT_MEASURED = ("α 0.5", "above 1.05×", "the 0.7026 target", "the 0.7 target")


def _typed_decimals(make_results, prose: str) -> list[str]:
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # code blocks
    prose = re.sub(r"`[^`]*`", "", prose)  # code spans (commands, paths)
    prose = make_results.PLACEHOLDER.sub("", prose)
    return re.findall(r".{0,30}(?<![\w.])\d+\.\d+.{0,30}", prose)


def test_the_template_prose_retypes_no_decimal_figure(make_results):
    prose = make_results.TEMPLATE.read_text(encoding="utf-8")
    for phrase in NOT_MEASURED:
        assert phrase in prose, f"stale NOT_MEASURED entry {phrase!r}"
        prose = prose.replace(phrase, "")
    typed = _typed_decimals(make_results, prose)
    assert not typed, (
        "figures typed into template.md's prose: quote them with a {{ ... }} "
        f"placeholder from their record instead: {typed}"
    )


def test_the_readme_figures_are_rendered_from_the_records(make_results):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == make_results.render_readme(), (
        "README.md's figures block differs from the records: run "
        ".venv/bin/python benchmarks/make_results.py"
    )
    template = make_results.README_TEMPLATE.read_text(encoding="utf-8")
    assert not _typed_decimals(make_results, template)
    assert "{{" in template, "the README block quotes its figures from records"


def test_a_readme_without_the_figures_markers_is_refused(make_results):
    with pytest.raises(ValueError, match="no '<!-- figures: generated"):
        make_results.render_readme("# README\n\nno block here\n")
