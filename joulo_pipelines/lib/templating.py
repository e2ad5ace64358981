"""The one way Jinja environments are built here: every template is escaped for HTML but plain text ones.

Escaping is the default, decided by what a template is not (`*.txt.j2`), rather than by a list of HTML
extensions: such a list once missed `mid_scan.html.j2` (select_autoescape(["html"]) does not match `.j2`)
and wrote a partner's brand and model raw into the page. Strict about missing values. Every environment has
the `sentence` filter, to use instead of Jinja's `capitalize`, and the figure filters of lib/formatting.py
(`count`, `number(places)`, `kwh`, `ere`, `eur`, `price_per_ere`, `percent`, `day`, `local_time`), which write
in the template's `language`: Dutch where a page sets none (the partner reports, for Dutch partners)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from joulo_pipelines.lib import formatting, labels

PLAIN_TEXT = (".txt.j2", ".txt")


def _escapes(template_name: str | None) -> bool:
    return not (template_name or "").endswith(PLAIN_TEXT)


def sentence(text: str) -> str:
    """The text with its first letter upper-cased and the rest as written: Jinja's `capitalize` lower-cases
    the rest, which turns "MID", "EAN", "IBAN" and "1234 AB" into "mid", "ean", "iban" and "1234 ab"."""
    return text[:1].upper() + text[1:]


def environment(templates: Path | list[Path], **options) -> Environment:
    """An environment over the templates folder(s); options are Jinja's (trim_blocks, ...)."""
    env = Environment(loader=FileSystemLoader(templates), autoescape=_escapes, undefined=StrictUndefined,
                      keep_trailing_newline=True, **options)
    env.filters["sentence"] = sentence
    env.filters.update(FIGURE_FILTERS)
    return env


def _language(context: Context) -> str:
    return context.get("language", labels.DEFAULT_LANGUAGE)


FIGURE_FILTERS = {
    "number": pass_context(lambda c, value, places=0: formatting.number(value, places, _language(c))),
    **{name: pass_context(lambda c, value, function=function: function(value, _language(c)))
       for name, function in (("count", formatting.count), ("kwh", formatting.kwh), ("ere", formatting.ere),
                              ("eur", formatting.eur), ("price_per_ere", formatting.price_per_ere),
                              ("percent", formatting.percent), ("day", formatting.day),
                              ("local_time", formatting.local_time))},
}
