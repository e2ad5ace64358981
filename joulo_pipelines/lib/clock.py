"""The one clock: every "now" in the platform comes from here, so the demo and tests can set it.

JOULO_AS_OF=2027-01-15 (a date, or an ISO timestamp with offset) pins it; else the data dir's own clock,
config/as_of (the same format, written by `joulo demo`), so every later command and the Dagster code
location of that data dir run on the demo's date; else it is the wall clock.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from joulo_pipelines.lib.paths import DataDir

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def now() -> datetime:
    pinned, source = setting()
    return datetime.now(timezone.utc) if pinned is None else parse(pinned, source)


def today() -> date:
    return now().astimezone(AMSTERDAM).date()


def for_people(moment: datetime | str) -> str:
    """A moment as people here read it: Amsterdam's time, to the minute, with its zone (CET or CEST)."""
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{moment.astimezone(AMSTERDAM):%Y-%m-%d %H:%M %Z}"


def setting() -> tuple[str | None, str]:
    """(the pinned as-of text or None for the wall clock, where it comes from)."""
    pinned = os.environ.get("JOULO_AS_OF")
    if pinned:
        return pinned, "JOULO_AS_OF"
    path = _clock_file(os.environ.get("JOULO_DATA_DIR", "data"))
    try:
        return _read(path, path.stat().st_mtime_ns), str(path)
    except FileNotFoundError:
        return None, "the wall clock"


def parse(pinned: str, source: str = "JOULO_AS_OF") -> datetime:
    try:
        if len(pinned) == 10:
            return datetime.combine(date.fromisoformat(pinned), time(), AMSTERDAM).astimezone(timezone.utc)
        parsed = datetime.fromisoformat(pinned)
    except ValueError as exc:
        raise ValueError(f"{source}: {pinned!r} is not a date (2027-01-15) or ISO timestamp with offset") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"{source}: {pinned!r} needs a UTC offset, e.g. 2027-01-15T00:00:00+01:00")
    return parsed.astimezone(timezone.utc)


def keep(data_dir: DataDir, pinned: str) -> Path:
    """Make `pinned` the data dir's clock (checked first)."""
    parse(pinned)
    data_dir.clock_file.parent.mkdir(parents=True, exist_ok=True)
    data_dir.clock_file.write_text(pinned + "\n")
    return data_dir.clock_file


def describe() -> str:
    """Which clock is in force, for the first line a command prints."""
    pinned, source = setting()
    if pinned is None:
        return (f"clock: the wall clock, today {today().isoformat()} (JOULO_AS_OF or the data dir's "
                "config/as_of set another)")
    moment = parse(pinned, source).astimezone(AMSTERDAM)
    shown = moment.date().isoformat() if moment.time() == time() else for_people(moment)
    return f"clock: as of {shown} (from {source}" + (", JOULO_AS_OF overrides it)" if source != "JOULO_AS_OF" else ")")


@lru_cache(maxsize=8)  # a stat per call, no resolve: the OCPP gateway asks for every message
def _clock_file(root: str) -> Path:
    return DataDir(Path(root).resolve()).clock_file


@lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int) -> str:
    return path.read_text().strip()
