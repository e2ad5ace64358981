import hashlib
import json

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments, journal_root
from joulo_pipelines.lib.ocpp_gateway.landing import SegmentLanding, land_segment, segment_name


class OcppLandingConfig(dg.Config):
    segments: list[str] = []
    """Closed journal segments ({partner}/{file}.jsonl below ocpp/journal/) to land; empty means all."""


@dg.asset(
    key=["ocpp", "messages"],
    group_name="intake",
    owners=DATA_TEAM,
    kinds={"json", "parquet"},
    description=(
        "Every OCPP call the gateway journaled (or `joulo ocpp-import` imported), one row per call with "
        "lineage to its journal segment and line: landing/{partner}/ocpp_messages/{sha256}.parquet."
    ),
)
def ocpp_messages(context: dg.AssetExecutionContext, config: OcppLandingConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir.ensure()
    root = journal_root(folder)
    segments = [root / name for name in config.segments] if config.segments else closed_segments(folder)
    results: list[SegmentLanding] = []
    failed: list[str] = []
    for segment in segments:
        try:
            results.append(land_segment(folder, segment))
        except Exception as exc:  # one unreadable segment must not stop the others
            context.log.error(f"{segment.name}: landing failed: {type(exc).__name__}")
            failed.append(segment_name(folder, segment))
    if failed:
        raise dg.Failure(f"{len(failed)} segment(s) could not be landed; the others landed",
                         metadata={"failed_segments": dg.MetadataValue.json(failed)})
    return dg.MaterializeResult(metadata={
        "segments_seen": len(results),
        "segments_new": sum(r.status != "duplicate" for r in results),
        "messages_landed": sum(r.rows_loaded for r in results),
        "lines_not_landed": sum(r.rows_rejected for r in results),
        "segments": dg.MetadataValue.json([r.summary() for r in results if r.status != "duplicate"]),
    })


def landing_run_config(segments: list[str]) -> dict:
    """The run config that lands these segments (the asset's op is named for its key: ocpp__messages)."""
    return {"ops": {"ocpp__messages": {"config": {"segments": segments}}}}


ocpp_landing_job = dg.define_asset_job(
    "ocpp_landing_job",
    selection=dg.AssetSelection.assets(ocpp_messages),
    description="Land closed OCPP journal segments: all of them, or those named in the run config.",
)


@dg.sensor(job=ocpp_landing_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 30 s: lands the OCPP journal segments the gateway closed since it last looked.")
def ocpp_journal_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """One run for the journal segments closed since the last tick. Closed segments never change, so the
    cursor is the set of segment names already requested; landing itself makes the same bytes a no-op."""
    folder = data_dir.data_dir
    seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
    new = [name for name in (segment_name(folder, s) for s in closed_segments(folder)) if name not in seen]
    if not new:
        return dg.SensorResult(run_requests=[], cursor=context.cursor)
    run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
    request = dg.RunRequest(
        run_key=f"ocpp-segments-{run_key}",
        run_config=landing_run_config(new),
        tags={"joulo/ocpp_segments": str(len(new))},
    )
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(sorted(seen | set(new))))
