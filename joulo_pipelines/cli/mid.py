"""`joulo mid review`: a person accepts or rejects the MID evidence partners sent per charge point."""

from __future__ import annotations

import argparse

from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    mid = commands.add_parser("mid", help="MID evidence per charge point: review what partners sent")
    actions = mid.add_subparsers(dest="action", required=True)
    review = actions.add_parser(
        "review", help="list the documents waiting for a decision, or accept/reject one (--by NAME)",
        description="Without a decision: the documents waiting for one, with the markings found. An accepted "
                    "document makes its charge point `evidenced` (the MID rule passes) from the next quarter run.")
    review.add_argument("decision", nargs="?", choices=("list", "accept", "reject"), default="list")
    review.add_argument("record_id", nargs="?", help="the document's id, as listed")
    review.add_argument("--by", help="who decides (recorded with the decision)")
    review.add_argument("--partner", help="list only this partner's documents")
    review.add_argument("--all", action="store_true", help="list decided documents too")
    review.set_defaults(func=review_evidence)


def review_evidence(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.eligibility import unit_evidence
    from joulo_pipelines.lib.tables import print_table

    if args.decision == "list":
        listed = [(receipt, reading, decided) for receipt, reading, decided
                  in unit_evidence.documents(data_dir, args.partner) if decided is None or args.all]
        if not listed:
            print("mid review: no document " + ("received" if args.all else "waiting for a decision"))
            return 0
        print_table(["document", "charge point", "file", "proposed", "state"], [
            (receipt.record_id, f"{receipt.partner_id}/{receipt.charge_point_ref}", receipt.file_name,
             "counts" if reading.proposes_evidence else "nothing counts",
             "pending" if decided is None else f"{decided['decision']} by {decided['reviewed_by']}")
            for receipt, reading, decided in listed])
        for receipt, reading, _ in listed:  # what each document says, below the table: sentences, too long for it
            print(f"\n{receipt.record_id} ({receipt.document_path}):")
            if reading.text_note:
                print(f"    {reading.text_note}")
            for marking in reading.markings:
                verdict = "counts" if marking.counts else ("negated" if marking.negated else "does not count")
                print(f"    {marking.kind} ({verdict}): {marking.sentence}")
        return 0
    if not args.record_id or not args.by:
        raise ValueError(f"`joulo mid review {args.decision} RECORD_ID --by NAME`: both are needed")
    decided = unit_evidence.review(data_dir, args.record_id, f"{args.decision}ed", args.by)
    print(f"{decided['record_id']} {decided['partner_id']}/{decided['charge_point_ref']}: {decided['decision']} by "
          f"{decided['reviewed_by']}; counts from the next quarter run")
    return 0
