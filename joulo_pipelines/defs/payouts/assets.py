"""The quarter's payouts per partner: a proposal to review until the quarter is approved, then the frozen
batch's statement, SEPA file, breakdown and emails. Preparing and approving are runs of `payouts_job` with the
partner and the person in its config (what `joulo payouts prepare|approve 2026-Q1 --partner P --by NAME`
starts), so the Dagster run log records them."""

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path, scrub
from joulo_pipelines.lib.payouts import next_payouts
from joulo_pipelines.lib.payouts.service import payments_file, run_quarter, sales_file
from joulo_pipelines.lib.quarters import Quarter

PAYOUTS_KEY = dg.AssetKey(["exports", "payouts"])


class PayoutsConfig(dg.Config):
    partner: str | None = None  # the one partner to prepare or approve
    prepare_by: str | None = None  # record the partner's proposal as prepared by this person
    approve_by: str | None = None  # freeze the prepared proposal in the ledger, approved by this person


@dg.asset(
    key=PAYOUTS_KEY,
    group_name="payouts",
    owners=DATA_TEAM,
    kinds={"duckdb", "csv", "xml"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    # The booking stage writes ledger.booked_units (its drafts) in registration/rev_booking.
    deps=[dg.AssetKey(["registration", "rev_booking"]), dg.AssetKey(["intermediate", "int_customers_latest"])],
    description="Per partner under exports/{YYYY}-Q{n}/payouts/{partner}/: proposal.csv until approved; then "
                "statement.csv, sepa_credit_transfer.xml, payout_breakdown.csv (partner_account) and emails/. "
                "And, whichever quarter ran, every partner's next payout per customer in the warehouse table "
                "payouts.next_payouts (what the partner API shows).",
)
def payouts(context: dg.AssetExecutionContext, config: PayoutsConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    missing = [p.name for p in (payments_file(folder), sales_file(folder)) if not p.exists()]
    if missing and not config.partner:
        context.log.warning(f"payouts for {quarter} not computed: config/{' and config/'.join(missing)} missing "
                            "(see README, 'Payouts')")
        with errors_scrubbed(folder.root):
            next_payouts.write(folder)  # says so to the API
        return dg.MaterializeResult(metadata={"state": "not_configured", "missing": ", ".join(missing)})
    with errors_scrubbed(folder.root):
        outcomes = run_quarter(folder, quarter, config.partner, config.prepare_by, config.approve_by)
        next_payouts.write(folder)  # after an approval, the quarter after the approved one
    for outcome in outcomes:
        if outcome.state in ("not_computed", "files_not_written", "refused"):
            context.log.warning(scrub(outcome.message, folder.root))
    return dg.MaterializeResult(metadata={
        # States, counts and sums in cents per partner; never a customer.
        "partners": dg.MetadataValue.json({o.partner_id: {"state": o.state, "message": scrub(o.message, folder.root),
                                                          "emails_sent": o.emails_sent, **o.totals}
                                           for o in outcomes}),
        "paid_cents": sum(o.totals.get("paid_cents", 0) for o in outcomes if o.state.startswith("approved")),
        "folder": relative_path(folder.exports / quarter.label / "payouts", folder.root),
    })


payouts_job = dg.define_asset_job(
    "payouts_job",
    selection=dg.AssetSelection.assets(PAYOUTS_KEY),
    executor_def=dg.in_process_executor,
    description="Write one quarter's payouts; with config partner and prepare_by or approve_by, prepare or "
                "approve that partner's payout first.",
)
