"""`joulo ingest`: every source landed now, by the Dagster jobs its sensor or schedule runs (the inbox:
ingest_job, closed OCPP journal segments: ocpp_landing_job, OCPI partners: ocpi_job, a run per partner);
and the freshness of each partner's sources that `joulo status` shows."""

from __future__ import annotations

from joulo_pipelines.cli import runner
from joulo_pipelines.lib.intake import inbox_files, inbox_not_read
from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments
from joulo_pipelines.lib.ocpp_gateway.landing import segment_name
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.reports.queries import freshness
from joulo_pipelines.lib.tables import print_table

SOURCES = ("files", "ocpp", "ocpi")


def ingest(data_dir: DataDir, sources: list[str] | None, partner_id: str | None) -> int:
    """Land the sources asked for (all by default), of one partner or all; 1 if any run failed."""
    if partner_id is not None:
        load_registry(data_dir.partners_file).require(partner_id)
    landers = {"files": _files, "ocpp": _ocpp, "ocpi": _ocpi}
    results = [landers[source](data_dir, partner_id) for source in sources or SOURCES]
    return 0 if all(results) else 1


def _files(data_dir: DataDir, partner_id: str | None) -> bool:
    config = None
    if partner_id is not None:  # the sensor's run config: the partner's files, named below the inbox
        names = [p.relative_to(data_dir.inbox).as_posix() for p in inbox_files(data_dir)
                 if p.relative_to(data_dir.inbox).parts[0] == partner_id]
        if not names:
            print(f"ingest files: nothing in inbox/{partner_id}/")
            return True
        config = {"ops": {"landed_files": {"config": {"files": names}}}}
    result = runner.execute("ingest_job", run_config=config, raise_on_error=False)  # its stage line names a failure
    files = [m for m in result.asset_materializations_for_node("landed_files") if m.asset_key.path[-1] == "files"]
    for materialization in files:
        meta = {k: v.value for k, v in materialization.metadata.items()}
        print(f"ingest: {meta['files_seen']} file(s) seen, {meta['files_new']} new, "
              f"{meta['files_rejected']} rejected whole, {meta['rows_loaded']} rows landed, "
              f"{meta['rows_quarantined']} rows quarantined")
    if result.success and not files:
        print("ingest: nothing new in the inbox")
    for entry, why in inbox_not_read(data_dir):
        print(f"ingest: not read: inbox/{entry} {why}")
    return result.success


def _ocpp(data_dir: DataDir, partner_id: str | None) -> bool:
    names = [segment_name(data_dir, s) for s in closed_segments(data_dir)
             if partner_id is None or s.parent.name == partner_id]
    if not names:
        print("ingest ocpp: no closed journal segment" + (f" of {partner_id}" if partner_id else ""))
        return True
    from joulo_pipelines.defs.intake.ocpp import landing_run_config

    result = runner.execute("ocpp_landing_job", run_config=landing_run_config(names), raise_on_error=False)
    for materialization in result.asset_materializations_for_node("ocpp__messages"):
        meta = {k: v.value for k, v in materialization.metadata.items()}
        print(f"ingest ocpp: {meta['segments_seen']} segment(s) seen, {meta['segments_new']} new, "
              f"{meta['messages_landed']} message(s) landed, {meta['lines_not_landed']} line(s) not landed")
    if not result.success:
        print("ingest ocpp: FAILED (see the run in Dagster)")
    return result.success


def _ocpi(data_dir: DataDir, partner_id: str | None) -> bool:
    from joulo_pipelines.defs.intake.ocpi import ocpi_partners

    partner_ids = [p.id for p in load_registry(data_dir.partners_file).partners
                   if p.source.type == "ocpi" and partner_id in (None, p.id)]
    if not partner_ids:
        print("ingest ocpi: no OCPI partner" + (f" {partner_id}" if partner_id else ""))
        return True
    instance = runner.instance()
    known = set(instance.get_dynamic_partitions(ocpi_partners.name))
    instance.add_dynamic_partitions(ocpi_partners.name, [p for p in partner_ids if p not in known])
    succeeded = True
    for ocpi_partner in partner_ids:  # one run each, as the schedule does: one partner failing stops no other
        result = runner.execute("ocpi_job", partition_key=ocpi_partner, raise_on_error=False)
        print(f"ingest ocpi {ocpi_partner}: {'pulled' if result.success else 'FAILED (see the run in Dagster)'}")
        succeeded &= result.success
    return succeeded


def print_freshness(data_dir: DataDir) -> None:
    """Per partner, each source it is registered with or has delivered by: when we last heard from it."""
    rows = []
    for partner in load_registry(data_dir.partners_file).partners:
        for source in freshness(data_dir, partner.id):
            if source["last_at"] is not None or source["source"] == partner.source.type:
                last = source["last_at"].isoformat(timespec="seconds") if source["last_at"] else "never"
                rows.append((partner.id, source["source"], last, source["count"], source["detail"] or ""))
    print_table(["partner", "source", "last", "count", "what"], rows)
