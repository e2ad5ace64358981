"""The one way Jinja environments are built here: every template is escaped for HTML but plain text ones.

Escaping is the default, decided by what a template is not (`*.txt.j2`), rather than by a list of HTML
extensions: such a list once missed `mid_scan.html.j2` (select_autoescape(["html"]) does not match `.j2`)
and wrote a partner's brand and model raw into the page. Strict about missing values."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

PLAIN_TEXT = (".txt.j2", ".txt")


def _escapes(template_name: str | None) -> bool:
    return not (template_name or "").endswith(PLAIN_TEXT)


def environment(templates: Path, **options) -> Environment:
    """An environment over the templates folder; options are Jinja's (trim_blocks, ...)."""
    return Environment(loader=FileSystemLoader(templates), autoescape=_escapes, undefined=StrictUndefined,
                       keep_trailing_newline=True, **options)
