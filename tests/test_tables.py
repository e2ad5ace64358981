"""The CLI's tables (lib/tables.py): cells printed as they are, figures right-aligned and never cut, a width
that fits a screen, and no escape sequences where stdout is not a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from decimal import Decimal

from cli_tables import table

from joulo_pipelines.lib.tables import WIDTH_NOT_A_TERMINAL, print_table

MARKUP_LIKE = ["[bold]x[/bold]", "Laad [red]Snel[/] B.V.", "[link=https://example.org]here[/link]", ":smile: [/]"]


def test_a_cell_that_looks_like_rich_markup_prints_as_it_is(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich would colour a pipe with it: a table does not
    print_table(["partner", "reason", "sessions"], [(text, text, 1) for text in MARKUP_LIKE])
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert table(out, "partner", "reason", "sessions") == [
        {"partner": text, "reason": text, "sessions": "1"} for text in MARKUP_LIKE]


def test_on_a_terminal_the_header_is_bold_and_in_a_pipe_nothing_but_text():
    program = ("from joulo_pipelines.lib.tables import print_table; "
               "print_table(['partner', 'kWh'], [('[bold]alpha[/bold]', 1)])")
    piped = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert piped == "partner              kWh\n------------------- ----\n[bold]alpha[/bold]     1\n"
    reader, writer = pty.openpty()
    with subprocess.Popen([sys.executable, "-c", program], stdout=writer, stderr=subprocess.DEVNULL) as process:
        os.close(writer)
        on_terminal = b""
        while chunk := _read(reader):
            on_terminal += chunk
    os.close(reader)
    assert process.returncode == 0
    assert b"\x1b[1m" in on_terminal and b"[bold]alpha[/bold]" in on_terminal


def _read(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 4096)
    except OSError:  # the pty's other end closed
        return b""


def test_figures_are_right_aligned_and_written_by_the_formatting_layer(capsys):
    print_table(["partner", "sessions", "kWh", "ERE (estimate)"],
                [("alpha", 1234, Decimal("3298.344"), Decimal("1097.31")),
                 ("beta", 7, Decimal("0.06"), Decimal("0.004"))])
    lines = capsys.readouterr().out.splitlines()
    assert [line.rstrip() for line in lines[2:]] == [
        "alpha        1,234   3,298.3         1,097.31",
        "beta             7       0.1             0.00"]
    assert len({len(line.rstrip()) for line in lines}) == 1  # the header too ends where its figures do


def test_text_wraps_to_fit_the_width_and_a_file_name_or_figure_is_never_cut(capsys):
    reason = "the header lacks the columns session_ref, started_at, ended_at and energy_kwh; " * 3
    file_name = "alpha/sessions_of_a_partner_with_long_names.csv"
    print_table(["partner", "file", "reason", "rows"], [("alpha", file_name, reason.strip(), 123_456_789)])
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= WIDTH_NOT_A_TERMINAL
    assert "…" not in out and file_name in out and "123,456,789" in out
    assert table(out, "partner", "file", "reason", "rows") == [
        {"partner": "alpha", "file": file_name, "reason": reason.strip(), "rows": "123,456,789"}]


def test_ids_wider_than_the_screen_widen_the_table_rather_than_lose_a_character(capsys):
    """The terminal then wraps the table's lines: ugly, and rare, but every character is there."""
    refs = ["CP-" + "9" * 60, "EAN-" + "8" * 60]
    print_table(["charge point", "EAN", "what"], [(refs[0], refs[1], "wider than the screen: the terminal wraps")])
    out = capsys.readouterr().out
    assert refs[0] in out and refs[1] in out
    assert table(out, "charge point", "EAN", "what")[0]["what"] == "wider than the screen: the terminal wraps"
