import json

import dagster as dg

from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.contract import DATASETS
from joulo_pipelines.lib.intake import IntakeResult, inbox_files, ingest_files
from joulo_pipelines.lib.landing import land_consent_texts, land_partner_registry
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path, scrub_value
from joulo_pipelines.lib.partners import load_registry

LANDED_TABLES = [*DATASETS, "files"]


class IntakeConfig(dg.Config):
    files: list[str] = []
    """Paths below inbox/ (partner/file.csv) to process; empty means every file in the inbox."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["landing", table],
            group_name="intake",
            kinds={"csv", "parquet"},
            description=(
                "Typed rows of partner file drops with lineage (file hash, line); original bytes under "
                "landing/raw/, contract breaches under quarantine/."
                if table != "files" else "One manifest entry per delivered file: what the intake did with it."
            ),
            skippable=True,  # a run that takes up nothing new materializes nothing
        )
        for table in LANDED_TABLES
    ],
)
def landed_files(context: dg.AssetExecutionContext, config: IntakeConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    registry = load_registry(folder.partners_file)
    paths = [folder.inbox / name for name in config.files] if config.files else inbox_files(folder)
    results: list[IntakeResult] = []
    failed: list[str] = []
    with errors_scrubbed(folder.root):
        land_partner_registry(folder, registry)
        land_consent_texts(folder)
        landed = ingest_files(folder, registry.ids, paths)
    for path, result in landed:
        if isinstance(result, Exception):  # one broken file must not stop the others
            context.log.error(f"{path.name}: intake failed: {type(result).__name__}")
            failed.append(relative_path(path, folder.root))
            continue
        results.append(result)
        if result.errors:
            # Reasons may quote DuckDB, which quotes the row: scrubbed (the quarantine report has it all).
            context.log.warning(json.dumps(scrub_value(result.summary(), folder.root)))
    for table in LANDED_TABLES:
        mine = [r for r in results if table == "files" or r.dataset == table]
        if all(r.status == "duplicate" for r in mine):
            continue  # nothing landed or refused: the last materialization's counts still hold
        yield dg.MaterializeResult(
            asset_key=["landing", table],
            metadata={
                "files_seen": len(mine),
                "files_new": sum(r.status != "duplicate" for r in mine),
                "files_rejected": sum(r.status == "rejected" for r in mine),
                "rows_loaded": sum(r.rows_loaded for r in mine),
                "rows_quarantined": sum(r.rows_rejected for r in mine),
                "quarantine": dg.MetadataValue.json(scrub_value([r.summary() for r in mine if r.errors], folder.root)),
            },
        )
    if failed:
        raise dg.Failure(f"{len(failed)} file(s) could not be processed; the others landed", metadata={
            "failed_files": dg.MetadataValue.json(failed)})


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(landed_files),
    description="Land partner file drops: the whole inbox, or the files named in the run config.",
)
