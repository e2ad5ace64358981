import json

import dagster as dg

from joulo_pipelines.defs.intake.assets import ingest_job
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.intake import inbox_files


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """A run per new or changed file in inbox/<partner>/. The cursor maps each file to the mtime last seen;
    a file touched again gets a new run, and the intake itself makes identical bytes a no-op."""
    folder = data_dir.data_dir
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for path in inbox_files(folder):
        name = path.relative_to(folder.inbox).as_posix()
        mtime = path.lstat().st_mtime_ns  # a link is refused by the intake, whatever it points at
        if seen.get(name) == mtime:
            continue
        seen[name] = mtime
        requests.append(
            dg.RunRequest(
                run_key=f"{name}@{mtime}",
                run_config={"ops": {"landed_files": {"config": {"files": [name]}}}},
                tags={"joulo/file": name},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
