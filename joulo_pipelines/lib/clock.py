"""The one clock: every "now" in the platform comes from here, so the demo and tests can set it.

JOULO_AS_OF=2027-01-15 (a date, or an ISO timestamp with offset) pins it; otherwise it is the wall clock.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def now() -> datetime:
    pinned = os.environ.get("JOULO_AS_OF")
    if not pinned:
        return datetime.now(timezone.utc)
    try:
        if len(pinned) == 10:
            return datetime.combine(date.fromisoformat(pinned), time(), AMSTERDAM).astimezone(timezone.utc)
        parsed = datetime.fromisoformat(pinned)
    except ValueError as exc:
        raise ValueError(f"JOULO_AS_OF={pinned!r} is not a date (2027-01-15) or ISO timestamp with offset") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"JOULO_AS_OF={pinned!r} needs a UTC offset, e.g. 2027-01-15T00:00:00+01:00")
    return parsed.astimezone(timezone.utc)


def today() -> date:
    return now().astimezone(AMSTERDAM).date()
