"""Tables for people at a terminal (`joulo status`, `joulo verification ... status`, the demo), drawn by rich:
figures right-aligned and written by lib/formatting.py, every cell printed as it is (no rich markup: a file
name or a reason may hold brackets), no colour or escape sequence when stdout is not a terminal."""

from __future__ import annotations

import sys
from decimal import Decimal

from rich.box import Box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from joulo_pipelines.lib import formatting
from joulo_pipelines.lib.contract import visible

# Where stdout is not a terminal (a pipe, a file, a test): a fixed width, so the same data prints the same.
WIDTH_NOT_A_TERMINAL = 100

# Header, a rule of dashes under each column, rows; no frame. ASCII, so a pipe reads the same on every system.
_HEADER_RULE = Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)

# Columns whose figures have a quantity's places (lib/formatting.py); other decimals show 3.
_FIGURES = {
    "kWh": formatting.kwh,
    "ERE (estimate)": formatting.ere,
    "seconds": lambda value, language: formatting.number(value, 2, language),  # the benchmark's stages
    "median ms": lambda value, language: formatting.number(value, 1, language),
    "p95 ms": lambda value, language: formatting.number(value, 1, language),
}


def print_table(headers: list[str], rows: list[tuple]) -> None:
    """`rows` under `headers` on stdout, as wide as the terminal (or WIDTH_NOT_A_TERMINAL). Text wraps onto
    more lines at its spaces; a figure, an id or a file name (no space) is never cut or wrapped: where the
    words alone are wider than the screen, the table is too (the terminal wraps its lines)."""
    terminal = sys.stdout.isatty()
    console = Console(file=sys.stdout, force_terminal=terminal, width=None if terminal else WIDTH_NOT_A_TERMINAL,
                      markup=False, emoji=False, highlight=False)
    cells = [[_cell(value, header) for value, header in zip(row, headers)] for row in rows]
    table = Table(box=_HEADER_RULE, show_edge=False, pad_edge=False)
    for i, header in enumerate(headers):
        figures = bool(rows) and all(isinstance(row[i], (int, Decimal)) for row in rows if row[i] is not None)
        whole = not any(" " in row[i] for row in cells)
        table.add_column(Text(header), justify="right" if figures else "left", no_wrap=whole, overflow="fold")
    for row in cells:
        table.add_row(*map(Text, row))
    unbroken = Measurement.get(console, console.options.update_width(10_000), table).minimum
    console.width = max(console.width, unbroken)
    console.print(table)


def _cell(value: object, header: str) -> str:
    if isinstance(value, Decimal):  # in English, as the CLI speaks
        figure = _FIGURES.get(header)
        return figure(value, "en") if figure else formatting.number(value, 3, "en")
    if isinstance(value, int):
        return formatting.count(value, "en")
    return visible(str(value))  # file names are the partner's: no escape sequences to the terminal
