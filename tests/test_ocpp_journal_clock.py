"""The journal stamps every call with the platform's clock without a stat of the clock file per call (it cost
~15 us of the gateway's ~150 us a message): which clock is in force is looked up once per second."""

from __future__ import annotations

import asyncio
import json

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.ocpp_gateway.journal import PartnerJournal, journal_root

CALLS = 50


def test_calls_are_stamped_with_the_data_dirs_clock_looked_up_once(data_dir, monkeypatch):
    monkeypatch.delenv("JOULO_AS_OF")  # the data dir's clock file: the one a stat per call would read
    clock.keep(data_dir, "2026-05-01T12:00:00+00:00")
    lookups = []
    real_setting = clock.setting
    monkeypatch.setattr(clock, "setting", lambda: lookups.append(1) or real_setting())

    async def scenario() -> None:
        journal = PartnerJournal(journal_root(data_dir) / "alpha", "alpha")
        journal.recover()
        journal.start()
        await asyncio.gather(*(journal.append("CP-1", "1.6", f"m{n}", "Heartbeat", {}) for n in range(CALLS)))
        await journal.close()

    asyncio.run(scenario())
    [segment] = (journal_root(data_dir) / "alpha").glob("*.jsonl")
    stamps = {json.loads(line)["received_at"] for line in segment.read_text().splitlines()}
    assert stamps == {"2026-05-01T12:00:00.000000+00:00"}
    assert len(lookups) == 1  # not one per call


def test_a_changed_clock_is_seen_after_the_recheck_interval(data_dir, monkeypatch):
    ticks = iter([0.0, 0.0, 0.5, 1.5, 1.5])  # each lookup reads monotonic twice (due? then the next due)
    monkeypatch.setattr(clock, "monotonic", lambda: next(ticks))
    monkeypatch.delenv("JOULO_AS_OF")
    hot = clock.HotClock(recheck_seconds=1.0)
    clock.keep(data_dir, "2026-05-01T12:00:00+00:00")
    assert hot.now().isoformat() == "2026-05-01T12:00:00+00:00"
    clock.keep(data_dir, "2026-06-01T12:00:00+00:00")
    assert hot.now().isoformat() == "2026-05-01T12:00:00+00:00"  # within the second: the cached clock
    assert hot.now().isoformat() == "2026-06-01T12:00:00+00:00"
