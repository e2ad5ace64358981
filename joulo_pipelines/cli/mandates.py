"""`joulo mandate show`: one customer's mandate document, for the verifier."""

from __future__ import annotations

import argparse
from pathlib import Path

from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    mandate = commands.add_parser("mandate", help="a customer's mandate: consent text, signing record, events")
    actions = mandate.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the mandate document of one customer, from the warehouse")
    show.add_argument("partner", help="partner id")
    show.add_argument("customer_ref", help="the partner's customer_ref")
    show.add_argument("--html", type=Path, help="also write the document as HTML to this file")
    show.set_defaults(func=show_mandate)


def show_mandate(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.eligibility.mandate_document import MandateNotFound, render_mandate_document
    from joulo_pipelines.lib.warehouse import connect, has_table

    if not data_dir.warehouse.exists():
        raise RuntimeError("no warehouse yet: run a quarter first (joulo run --quarter ...)")
    with connect(data_dir, read_only=True) as con:
        if not has_table(con, "intermediate", "int_customers_latest"):
            raise RuntimeError("the warehouse has no customers yet: run a quarter first")
        try:
            print(render_mandate_document(con, args.partner, args.customer_ref, fmt="text"), end="")
            if args.html:
                args.html.write_text(render_mandate_document(con, args.partner, args.customer_ref), encoding="utf-8")
        except MandateNotFound as exc:
            raise ValueError(str(exc)) from None
    return 0
