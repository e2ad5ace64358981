"""The Jinja environment of every report page: autoescaped HTML, strict about missing values, with the
figure filters of lib/formatting.py (templating.py) and the brand's text colour."""

from __future__ import annotations

from pathlib import Path

from joulo_pipelines.lib import templating
from joulo_pipelines.lib.reports.colours import text_on

TEMPLATES = Path(__file__).parent / "templates"

environment = templating.environment(TEMPLATES, trim_blocks=True, lstrip_blocks=True)
environment.filters["text_on"] = text_on
