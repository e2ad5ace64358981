import json
import os

import dagster as dg

from conftest import drop
from joulo_pipelines.defs.intake.sensors import inbox_sensor
from joulo_pipelines.defs.resources import DataDirResource


def evaluate(data_dir, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"data_dir": DataDirResource(path=str(data_dir.root))})
    return inbox_sensor(context)


def test_a_new_file_requests_one_run_for_that_file_and_an_unchanged_inbox_none(data_dir):
    drop(data_dir, "alpha", "sessions_2026-01.csv", "session_ref\n")
    first = evaluate(data_dir)
    assert [r.run_config["ops"]["landed_files"]["config"]["files"] for r in first.run_requests] == [
        ["alpha/sessions_2026-01.csv"]]
    assert first.run_requests[0].run_key.startswith("alpha/sessions_2026-01.csv@")
    assert evaluate(data_dir, first.cursor).run_requests == []


def test_a_changed_file_and_a_second_file_each_request_a_run(data_dir):
    path = drop(data_dir, "alpha", "sessions_2026-01.csv", "session_ref\n")
    cursor = evaluate(data_dir).cursor
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    drop(data_dir, "beta", "customers.csv", "customer_ref\n")
    second = evaluate(data_dir, cursor)
    keys = sorted(r.run_key for r in second.run_requests)
    assert [k.split("@")[0] for k in keys] == ["alpha/sessions_2026-01.csv", "beta/customers.csv"]
    assert evaluate(data_dir, second.cursor).run_requests == []


def test_the_ingest_job_run_by_the_sensor_lands_good_rows_and_reports_bad_ones_without_values(data_dir, definitions):
    drop(data_dir, "alpha", "sessions_2026-01.csv",
         "session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
         "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,3.5\n"
         "S2,CP1,2026-01-11T18:00:00Z,2026-01-11T20:00:00Z,secret-value\n")
    request = evaluate(data_dir).run_requests[0]
    job = definitions.resolve_job_def("ingest_job")
    result = job.execute_in_process(run_config=request.run_config, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    sessions = next(m for m in result.asset_materializations_for_node("landed_files")
                    if m.asset_key == dg.AssetKey(["landing", "sessions"]))
    assert sessions.metadata["rows_loaded"].value == 1
    assert sessions.metadata["rows_quarantined"].value == 1
    assert "secret-value" not in str(sessions.metadata)
    assert "energy_kwh" in str(sessions.metadata["quarantine"].value)


SESSIONS = ("session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
            "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,3.5\n")


def test_files_joulo_ingest_landed_request_no_run_and_a_file_changed_since_does(data_dir):
    from joulo_pipelines.cli import main

    drop(data_dir, "alpha", "sessions_2026-01.csv", SESSIONS)
    changed = drop(data_dir, "beta", "sessions_2026-01.csv", SESSIONS.replace("S1", "S9"))
    assert main(["ingest"]) == 0  # the demo's path: the whole inbox in one run, no sensor
    after_ingest = evaluate(data_dir)
    assert after_ingest.run_requests == []
    assert sorted(json.loads(after_ingest.cursor)) == ["alpha/sessions_2026-01.csv", "beta/sessions_2026-01.csv"]
    changed.write_text(SESSIONS.replace("S1", "S8"))
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 1_000_000_000))
    assert [r.tags["joulo/file"] for r in evaluate(data_dir, after_ingest.cursor).run_requests] == [
        "beta/sessions_2026-01.csv"]


def test_a_manifest_that_cannot_be_read_holds_up_no_other_partners_files(data_dir):
    """One partner's landing manifest cut short (a crash mid-copy in a restore, say) must not fail every tick:
    the other partners' new files still get their runs, and the partner's own files each get one (its
    manifest cannot say they were taken up)."""
    from joulo_pipelines.cli import main

    drop(data_dir, "alpha", "sessions_2026-01.csv", SESSIONS)
    drop(data_dir, "beta", "sessions_2026-01.csv", SESSIONS.replace("S1", "S9"))
    assert main(["ingest"]) == 0
    (manifest,) = (data_dir.landing / "alpha" / "manifest").glob("*.json")
    manifest.write_text('{"source_file": ')
    drop(data_dir, "beta", "customers.csv", "customer_ref\n")
    requested = sorted(r.tags["joulo/file"] for r in evaluate(data_dir).run_requests)
    assert requested == ["alpha/sessions_2026-01.csv", "beta/customers.csv"]


def test_an_ingest_run_that_lands_nothing_new_records_no_materialization(data_dir, definitions):
    job, instance = definitions.resolve_job_def("ingest_job"), dg.DagsterInstance.ephemeral()
    sessions, files = dg.AssetKey(["landing", "sessions"]), dg.AssetKey(["landing", "files"])
    assert job.execute_in_process(instance=instance).success  # an empty inbox
    assert instance.get_latest_materialization_event(files) is None
    drop(data_dir, "alpha", "sessions_2026-01.csv", SESSIONS)
    first = job.execute_in_process(instance=instance)
    assert {m.asset_key for m in first.asset_materializations_for_node("landed_files")} == {sessions, files}
    again = job.execute_in_process(instance=instance)  # the same file: a duplicate, nothing lands
    assert again.success and again.asset_materializations_for_node("landed_files") == []
    latest = instance.get_latest_materialization_event(sessions).asset_materialization
    assert latest.metadata["rows_loaded"].value == 1
