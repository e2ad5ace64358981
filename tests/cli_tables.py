"""The CLI's tables (lib/tables.py) read back as a person reads them: each row as {header: cell}, a cell
wrapped onto more lines joined again. A table is its header, a rule of dashes under each column and its rows,
every line as wide as the rule (what is printed around a table is not)."""

from __future__ import annotations

import re

_RULE = re.compile(r"-+(?: -+)*")


def tables(text: str) -> dict[tuple[str, ...], list[dict[str, str]]]:
    """Every table in `text`, by its headers."""
    lines = text.splitlines()
    found = {}
    for at, rule in enumerate(lines):
        if not _RULE.fullmatch(rule):
            continue
        spans = [match.span() for match in re.finditer("-+", rule)]

        def in_table(line: str, rule: str = rule, spans: list = spans) -> bool:
            return len(line) == len(rule) and bool(line.strip()) and all(line[end:end + 1] in ("", " ")
                                                                         for _, end in spans)

        above = []
        for line in reversed(lines[:at]):
            if not in_table(line):
                break
            above.insert(0, line)
        headers = tuple(" ".join(filter(None, (line[start:end].strip() for line in above))) for start, end in spans)
        rows: list[list[str]] = []
        for line in lines[at + 1:]:
            if not in_table(line):
                break
            cells = [line[start:end].strip() for start, end in spans]
            if rows and not cells[0]:  # the first column is never empty: the row's cells wrapped onto this line
                rows[-1] = [" ".join(filter(None, pair)) for pair in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        assert headers not in found, f"two tables with the headers {headers}"
        found[headers] = [dict(zip(headers, row)) for row in rows]
    return found


def table(text: str, *headers: str) -> list[dict[str, str]]:
    """The rows of the table in `text` with these headers, in this order."""
    found = tables(text)
    assert headers in found, f"no table {headers} in:\n{text}\n(tables: {list(found)})"
    return found[headers]
