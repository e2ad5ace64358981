from datetime import datetime

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.log_scrub import errors_scrubbed, scrub, scrub_value
from joulo_pipelines.lib.ocpi.pull import pull_partner
from joulo_pipelines.lib.partners import load_registry

# One partition per OCPI partner: the registry lives in the data dir, so partners are added at run time
# (by the schedule) rather than when the code loads.
ocpi_partners = dg.DynamicPartitionsDefinition(name="ocpi_partners")


class OcpiPullConfig(dg.Config):
    date_from: str | None = None
    """Backfill: pull CDRs with last_updated from this ISO timestamp (with offset); the cursor stays put."""
    date_to: str | None = None
    """Backfill: up to this ISO timestamp, exclusive (default: now, from the one clock)."""


@dg.asset(
    key=["ocpi", "cdrs"],
    group_name="intake",
    owners=DATA_TEAM,
    partitions_def=ocpi_partners,
    backfill_policy=ONE_PARTITION_PER_RUN,
    kinds={"ocpi", "parquet"},
    description=(
        "Charge detail records pulled from an OCPI 2.2.1 partner's cdrs endpoint (one partition per partner): "
        "raw pages under landing/raw/, typed rows under landing/{partner}/ocpi_cdrs/, broken CDRs under "
        "quarantine/{partner}/. Without config it pulls what changed since the partner's cursor."
    ),
)
def ocpi_cdrs(context: dg.AssetExecutionContext, config: OcpiPullConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    partner = load_registry(folder.partners_file).get(context.partition_key)
    if partner is None or partner.source.type != "ocpi":
        raise dg.Failure(f"partition {context.partition_key!r} is not an OCPI partner in config/partners.yaml")
    backfill = config.date_from is not None
    if config.date_to is not None and not backfill:
        raise dg.Failure("a backfill needs date_from; date_to alone is not a window")
    with errors_scrubbed(folder.root):
        result = pull_partner(folder, partner, date_from=_instant(config.date_from),
                              date_to=_instant(config.date_to), backfill=backfill)
    # A partner's server writes its own error texts: they reach Dagster scrubbed (lib/log_scrub).
    metadata = {key: dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value
                for key, value in scrub_value(result.summary(), folder.root).items() if value is not None}
    if result.cdrs_quarantined:
        context.log.warning(f"{partner.id}: {result.cdrs_quarantined} CDR(s) quarantined: "
                            f"{scrub_value(dict(result.problems_by_reason), folder.root)}")
    if result.error:
        raise dg.Failure(f"{partner.id}: {scrub(str(result.error), folder.root)}; the cursor stays where it was, "
                         "the next run resumes",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise dg.Failure(f"{value!r} needs a UTC offset, e.g. 2026-01-01T00:00:00+01:00")
    return moment


ocpi_job = dg.define_asset_job(
    "ocpi_job",
    selection=dg.AssetSelection.assets(ocpi_cdrs),
    description="Pull one OCPI partner's CDRs: since its cursor, or a date range given in the run config.",
)


@dg.schedule(job=ocpi_job, cron_schedule="0 5 * * *", execution_timezone="Europe/Amsterdam",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Daily at 05:00 Amsterdam time: pulls the new CDRs of every OCPI partner.")
def ocpi_daily_schedule(context: dg.ScheduleEvaluationContext, data_dir: DataDirResource):
    """Every morning a run per OCPI partner in the registry; a partner added to the registry gets its
    partition here."""
    folder = data_dir.data_dir
    if not folder.partners_file.exists():
        return dg.SkipReason("no config/partners.yaml")
    partner_ids = [p.id for p in load_registry(folder.partners_file).partners if p.source.type == "ocpi"]
    if not partner_ids:
        return dg.SkipReason("no partner with source type ocpi")
    known = set(context.instance.get_dynamic_partitions(ocpi_partners.name))
    context.instance.add_dynamic_partitions(ocpi_partners.name, [p for p in partner_ids if p not in known])
    day = context.scheduled_execution_time.date().isoformat()
    return [dg.RunRequest(run_key=f"{partner_id}@{day}", partition_key=partner_id) for partner_id in partner_ids]
