"""The Jinja environment of every report page: autoescaped HTML, strict about missing values, with the
Dutch number, money and date filters."""

from __future__ import annotations

from pathlib import Path

from joulo_pipelines.lib import templating
from joulo_pipelines.lib.reports import formatting

TEMPLATES = Path(__file__).parent / "templates"

environment = templating.environment(TEMPLATES, trim_blocks=True, lstrip_blocks=True)
environment.filters.update(eur=formatting.eur, number=formatting.number, percent=formatting.percent,
                           local_time=formatting.local_time, day=formatting.day,
                           text_on=formatting.text_on)
