"""The benchmark keeps working (CI runs the N = 1,000 version; the figures themselves come from `make bench`)."""

import json

import pytest


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    import joulo_pipelines.cli.benchmark as benchmark

    monkeypatch.setattr(benchmark, "BENCH_DIR", tmp_path / "bench")
    for name in ("JOULO_DATA_DIR", "DAGSTER_HOME", "JOULO_AS_OF"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "bench"


def test_the_benchmark_times_every_stage_and_matches_the_bare_duckdb_baseline(bench_dir, definitions, capsys):
    from joulo_pipelines.cli.benchmark import run_benchmark
    from joulo_pipelines.lib.quarters import Quarter

    results = run_benchmark(1000, Quarter(2026, 1), name="ci", dashboard_rounds=1)
    written = json.loads((bench_dir / "results" / "ci.json").read_text())
    assert written == results
    assert 80_000 < results["sessions"] < 95_000  # about 90 sessions per charge point
    assert {"ingest_job: landed_files", "quarter_job: warehouse_models"} <= set(results["stages_seconds"])
    assert results["kwh_check"]["equal"] and results["kwh_check"]["eans_compared"] > 900
    assert results["peak_rss_mib"] > 0 and results["baseline_seconds"] > 0
    printed = capsys.readouterr().out
    assert "baseline (bare DuckDB)" in printed
    assert results["dashboard"]["users"] == 20 and results["dashboard"]["p95_ms"] > 0
    # a late file on 1 % of the charge points, its run timed, its tables those of a full rebuild
    assert results["late_file"]["sessions"] == 10 and results["late_file"]["tables_differing"] == []
    assert 0 < results["late_file"]["total_seconds"] and "late file (10 sessions" in printed
