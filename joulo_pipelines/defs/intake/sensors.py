import json

import dagster as dg

from joulo_pipelines.defs.intake.assets import ingest_job
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.intake import delivery_key, inbox_files, landed_deliveries


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 30 s: an ingest run for the inbox files that are new or touched since it last looked.")
def inbox_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """A run per new or changed file in inbox/{partner}/. The cursor maps each file to the mtime last seen;
    a file touched again gets a new run, and the intake itself makes identical bytes a no-op. A file the
    intake already took up as it is now (`joulo ingest`, `joulo demo`) moves the cursor without a run."""
    folder = data_dir.data_dir
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    unseen = []
    for path in inbox_files(folder):
        name = path.relative_to(folder.inbox).as_posix()
        mtime = path.lstat().st_mtime_ns  # a link is refused by the intake, whatever it points at
        if seen.get(name) != mtime:
            unseen.append((name, path, mtime))
    # Read only when there is something new: the manifests of the partners who delivered it.
    landed, unreadable = landed_deliveries(folder, {name.split("/", 1)[0] for name, _, _ in unseen}) \
        if unseen else ({}, set())
    for partner_id in sorted(unreadable):  # its new files each get a run; the others' are not held up
        context.log.warning(f"partner {partner_id}: a manifest entry in its landing cannot be read, so each of "
                            "its new inbox files gets a run; the intake fails only the file that entry names")
    requests = []
    for name, path, mtime in unseen:
        seen[name] = mtime
        if not path.is_symlink() and delivery_key(name, path) in landed:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{name}@{mtime}",
                run_config={"ops": {"landed_files": {"config": {"files": [name]}}}},
                tags={"joulo/file": name},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
