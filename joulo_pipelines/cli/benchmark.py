"""`joulo bench`: time every stage of the real pipeline on a national-scale quarter, against the cheapest
possible way to get the same number (one bare DuckDB query over the same files).

The stages are the steps of the real Dagster jobs (the intake, then each step of the quarter job), read
back from the run's event log, so a stage added to the pipeline shows up here without touching this file.
Peak memory is the RSS of this process and all its children (dbt runs as one), sampled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import psutil

from joulo_pipelines.lib import dbt_forkserver
from joulo_pipelines.lib.paths import REPO_ROOT, DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.tables import print_table

BENCH_DIR = Path(os.environ.get("JOULO_BENCH_DIR", REPO_ROOT / "bench"))
# What a run leaves behind; removed before each timed run so every run does the whole job.
PIPELINE_STATE = ("landing", "quarantine", "exports", "warehouse.duckdb", "warehouse.duckdb.wal", "dagster_home")
# The late file dropped after the quarter (in every partner's inbox): new sessions on 1 % of the charge points.
LATE_FILE = "sessions_late.csv"
LATE_SHARE = 0.01
# The tables an incremental build must leave as a full rebuild does (the session models incremental by
# delivery and the quarter's marts built from them), compared by a fingerprint of their rows.
COMPARED_TABLES = ("intermediate.int_sessions_cleaned", "intermediate.int_session_quarter_pieces",
                   "marts.fct_ean_quarter_energy", "marts.fct_charge_point_quarter_energy",
                   "marts.fct_energy_adjustments", "marts.fct_energy_reconciliation",
                   "marts.fct_charge_point_eligibility", "intermediate.int_customer_checks")


class PeakRss:
    """Samples the RSS of a process tree in a background thread; `.peak` is the highest sum seen."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="time every pipeline stage on generated national-scale data")
    bench.add_argument("--charge-points", type=int, default=100_000)
    bench.add_argument("--quarter", type=Quarter.parse, default=Quarter(2026, 1))
    bench.add_argument("--name", help="results file name under bench/results/ (default cp<N>-<quarter>)")
    bench.add_argument("--dashboard-rounds", type=int, default=10,
                       help="times each of the 20 dashboard users opens every page (default 10)")
    bench.set_defaults(func=_bench)


def _bench(args: argparse.Namespace, data_dir: DataDir) -> int:
    run_benchmark(args.charge_points, args.quarter, args.name, args.dashboard_rounds)
    return 0


def run_benchmark(charge_points: int, quarter: Quarter, name: str | None = None, dashboard_rounds: int = 10) -> dict:
    from joulo_pipelines.cli import runner
    from joulo_pipelines.lib.dashboard.load import USERS, measure
    from joulo_pipelines.lib.demo.bench_data import generate_bench

    data_dir = DataDir(BENCH_DIR / "data" / f"{charge_points}-{quarter.label}")
    started = time.perf_counter()
    generated = generate_bench(data_dir, charge_points, quarter)
    print(f"bench: data for {charge_points:,} charge points, {generated['sessions']:,} sessions "
          f"({time.perf_counter() - started:.1f} s, cached in {data_dir.root})")
    for item in PIPELINE_STATE:
        path = data_dir.root / item
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for late in data_dir.inbox.glob(f"*/{LATE_FILE}"):
        late.unlink()
    os.environ.update({"JOULO_DATA_DIR": str(data_dir.root), "DAGSTER_HOME": str(data_dir.dagster_home),
                       "JOULO_AS_OF": (quarter.end + timedelta(days=15)).isoformat()})

    stages: dict[str, float] = {}
    # Other work on the machine shows in wall times: the load average goes with every figure.
    load_before, cpu_before = os.getloadavg(), _cpu_seconds()
    with PeakRss() as memory:
        clock = time.perf_counter()
        definitions = runner.definitions()
        instance = runner.instance()
        stages["start-up (definitions, dbt manifest)"] = time.perf_counter() - clock
        stages.update(_run_jobs(definitions, instance, quarter))
        pipeline_seconds = time.perf_counter() - clock
        dbt_forkserver.stop()  # its builds' CPU counts once it has ended (a child's CPU counts once reaped)
        cpu_seconds = _cpu_seconds() - cpu_before
    load_late = os.getloadavg()
    late = _late_file_run(definitions, instance, data_dir, quarter)
    baseline_seconds, matched = _baseline_and_check(data_dir, quarter)
    # the dashboard on the snapshot the quarter run published, served by `joulo api`
    dashboard = measure(data_dir, USERS, dashboard_rounds)

    results = {
        "name": name or f"cp{charge_points}-{quarter.label}",
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version(), "platform": platform.platform()},
        "charge_points": charge_points,
        "sessions": generated["sessions"],
        "quarter": quarter.label,
        "stages_seconds": {k: round(v, 2) for k, v in stages.items()},
        "total_seconds": round(pipeline_seconds, 2),
        "baseline_seconds": round(baseline_seconds, 2),
        "ratio_total_to_baseline": round(pipeline_seconds / baseline_seconds, 1),
        "sessions_per_second": round(generated["sessions"] / pipeline_seconds),
        # CPU of this process and its finished children (dbt): what a busy machine does not inflate as much
        "cpu_seconds": round(cpu_seconds, 1),
        "peak_rss_mib": round(memory.peak / 2**20),
        "kwh_check": matched,
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_late[0], 2)},
        "late_file": {**late, "share_of_full_quarter_pct": round(100 * late["total_seconds"] / pipeline_seconds, 1),
                      "load_average_1m_before": round(load_late[0], 2)},
        "dashboard": dashboard,
    }
    target = BENCH_DIR / "results" / f"{results['name']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    _print(results, target)
    if not matched["equal"]:
        raise RuntimeError(f"pipeline kWh differ from the baseline for {matched['differing']} EAN(s)")
    if late["tables_differing"]:
        raise RuntimeError(f"after the late file, {', '.join(late['tables_differing'])} differ from a full rebuild's")
    return results


def _run_jobs(definitions, instance, quarter: Quarter, tags: dict[str, str] | None = None) -> dict[str, float]:
    """The intake, then the quarter: each stage's seconds."""
    stages = {}
    for job_name, partition in (("ingest_job", None), ("quarter_job", quarter.partition_key)):
        result = definitions.resolve_job_def(job_name).execute_in_process(
            instance=instance, partition_key=partition, tags=tags)
        if not result.success:
            raise RuntimeError(f"{job_name} failed (run {result.run_id})")
        stages.update(_step_seconds(instance, result.run_id, job_name))
    return stages


def _late_file_run(definitions, instance, data_dir: DataDir, quarter: Quarter) -> dict:
    """A late file after the quarter: a new session on 1 % of the charge points, after each one's last (so
    that it overlaps nothing and the baseline still holds), in every partner's inbox. The run it triggers is
    timed; then a full rebuild, whose tables the incremental run's must equal."""
    from joulo_pipelines.defs.warehouse.assets import FULL_REFRESH_TAG

    sessions = _drop_late_files(data_dir)
    clock = time.perf_counter()
    stages = _run_jobs(definitions, instance, quarter)
    seconds = time.perf_counter() - clock
    incremental = _table_fingerprints(data_dir)
    clock = time.perf_counter()
    _run_jobs(definitions, instance, quarter, tags={FULL_REFRESH_TAG: "true"})
    full_refresh_seconds = time.perf_counter() - clock
    full = _table_fingerprints(data_dir)
    return {"sessions": sessions, "stages_seconds": {k: round(v, 2) for k, v in stages.items()},
            "total_seconds": round(seconds, 2),
            # the same run with --full-refresh, right after: as warm as the late file's (dbt's parse kept)
            "full_refresh_seconds": round(full_refresh_seconds, 2),
            "tables_compared": len(COMPARED_TABLES),
            "tables_differing": [table for table in COMPARED_TABLES if incremental[table] != full[table]]}


def _drop_late_files(data_dir: DataDir) -> int:
    """Every hundredth charge point (by ref) of each partner gets one more session, 2 h and 5 kWh, starting an
    hour after its last one ends, its registers following on."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    written = 0
    for inbox in sorted(path for path in data_dir.inbox.iterdir() if path.is_dir()):
        con.execute(f"""
            create or replace table late as
            with last as (
                select charge_point_ref, max(ended_at) as ended_at, max(meter_stop_wh) as meter_stop_wh
                from read_csv('{inbox}/sessions_*.csv')
                group by charge_point_ref
            ),
            chosen as (
                select *, row_number() over (order by charge_point_ref) as n from last
            )
            select 'LATE' || n as session_ref, charge_point_ref,
                   strftime(ended_at + interval 1 hour, '%Y-%m-%dT%H:%M:%SZ') as started_at,
                   strftime(ended_at + interval 3 hour, '%Y-%m-%dT%H:%M:%SZ') as ended_at,
                   meter_stop_wh as meter_start_wh, meter_stop_wh + 5000 as meter_stop_wh
            from chosen
            where n % {round(1 / LATE_SHARE)} = 0""")
        con.execute(f"copy late to '{inbox / LATE_FILE}' (header)")
        written += con.execute("select count(*) from late").fetchone()[0]
    con.close()
    return written


def _table_fingerprints(data_dir: DataDir) -> dict[str, tuple]:
    """Each compared table's row count and the sum of its rows' hashes: equal whatever the rows' order."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return {table: con.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchone()
                for table in COMPARED_TABLES}


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _step_seconds(instance, run_id: str, job_name: str) -> dict[str, float]:
    import dagster as dg

    starts, seconds = {}, {}
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = event.timestamp
        elif event.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS:
            seconds[f"{job_name}: {event.step_key}"] = event.timestamp - starts[event.step_key]
    return seconds


def _baseline_and_check(data_dir: DataDir, quarter: Quarter) -> tuple[float, dict]:
    """The bare query: kWh per EAN for the quarter straight from the CSVs, a session over the quarter's
    end counted pro rata by time (in micro-kWh, rounded half up, as the pipeline does)."""
    inbox = data_dir.inbox
    window_end = f"epoch_us(timezone('Europe/Amsterdam', timestamp '{quarter.end}'))"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    clock = time.perf_counter()
    con.execute(f"""
        create table baseline as
        with sessions as (
            select charge_point_ref, (meter_stop_wh - meter_start_wh)::hugeint * 1000 as micro_kwh,
                   epoch_us(ended_at) - epoch_us(started_at) as duration_us,
                   least(greatest({window_end} - epoch_us(started_at), 0),
                         epoch_us(ended_at) - epoch_us(started_at)) as inside_us
            from read_csv('{inbox}/*/sessions_*.csv')
        )
        select c.ean,
               sum(case when duration_us = 0 then micro_kwh
                        else (micro_kwh * inside_us * 2 + duration_us) // (2 * duration_us) end) / 1e6 as kwh
        from sessions s
        join read_csv('{inbox}/*/charge_points.csv') p using (charge_point_ref)
        join read_csv('{inbox}/*/customers.csv', types = {{'ean': 'VARCHAR'}}) c using (customer_ref)
        group by c.ean""")
    seconds = time.perf_counter() - clock
    con.execute(f"attach '{data_dir.warehouse}' as warehouse (read_only)")
    adjusted = ("select distinct ean from warehouse.marts.fct_energy_adjustments where ean is not null"
                if con.execute("select count(*) from duckdb_tables() where database_name = 'warehouse' "
                               "and table_name = 'fct_energy_adjustments'").fetchone()[0] else "select null")
    compared, differing = con.execute(f"""
        select count(*), count(*) filter (where b.kwh is distinct from p.kwh)
        from baseline b
        left join (select ean, sum(kwh)::double as kwh from warehouse.marts.fct_ean_quarter_energy
                   where quarter_start = date '{quarter.start}' group by ean) p using (ean)
        where b.ean not in ({adjusted})""").fetchone()
    con.close()
    return seconds, {"eans_compared": compared, "differing": differing, "equal": differing == 0 and compared > 0}


def _print(results: dict, target: Path) -> None:
    print(f"\n{results['charge_points']:,} charge points, {results['sessions']:,} sessions, {results['quarter']}")
    print_table(["stage", "seconds"], [*_stage_rows(results["stages_seconds"]),
                                       ("total", _seconds(results["total_seconds"])),
                                       ("baseline (bare DuckDB)", _seconds(results["baseline_seconds"]))])
    print(f"  ratio to the baseline {results['ratio_total_to_baseline']}x")
    print(f"  sessions/s {results['sessions_per_second']:,}   peak RSS {results['peak_rss_mib']:,} MiB   "
          f"kWh per EAN equal to baseline: {results['kwh_check']['equal']} "
          f"({results['kwh_check']['eans_compared']:,} EANs compared)")
    print(f"  CPU {results['cpu_seconds']:,} s (this process and dbt)")
    print(f"  load average (1 min) before {results['load_average_1m']['before']}, "
          f"after {results['load_average_1m']['after']}")
    late = results["late_file"]
    print(f"\nlate file ({late['sessions']:,} sessions on 1 % of the charge points), the run it triggers:")
    print_table(["stage", "seconds"], [*_stage_rows(late["stages_seconds"]), ("total", _seconds(late["total_seconds"]))])
    print(f"  {late['share_of_full_quarter_pct']} % of the full quarter's {results['total_seconds']:.2f} s; "
          f"the same run with --full-refresh {late['full_refresh_seconds']:.2f} s")
    print(f"  tables equal to a full rebuild's: {not late['tables_differing']} "
          f"({late['tables_compared']} compared{': ' + ', '.join(late['tables_differing']) if late['tables_differing'] else ''})"
          f"   load average (1 min) before it {late['load_average_1m_before']}")
    dashboard = results["dashboard"]
    print(f"\ndashboard: {dashboard['users']} users at once of a partner of {dashboard['partner_customers']:,} "
          f"customers, {dashboard['requests']:,} pages, p95 {dashboard['p95_ms']} ms")
    print_table(["page", "median ms", "p95 ms"],
                [(page, Decimal(str(times["median_ms"])), Decimal(str(times["p95_ms"])))
                 for page, times in dashboard["pages"].items()])
    print(f"written to {target}")


def _stage_rows(stages_seconds: dict[str, float]) -> list[tuple[str, Decimal]]:
    return [(stage, _seconds(seconds)) for stage, seconds in stages_seconds.items()]


def _seconds(seconds: float) -> Decimal:
    return Decimal(str(seconds))
