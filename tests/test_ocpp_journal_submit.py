"""The journal as the proxy uses it: `submit` calls back once the call is on disk, a retry racing its original
is written once, what cannot be written is refused to its caller alone; and a slow fsync moves the writes off
the event loop, where a quick one runs (a thread hop per batch cost the proxy more CPU than the fsync)."""

from __future__ import annotations

import asyncio
import json
import os
import time

from joulo_pipelines.lib.ocpp_gateway import journal as journal_module
from joulo_pipelines.lib.ocpp_gateway.journal import PartnerJournal, Unjournalable, journal_root


def _lines(data_dir) -> list[dict]:
    folder = journal_root(data_dir) / "alpha"
    return [json.loads(line) for segment in sorted(folder.glob("*.jsonl*")) for line in segment.read_text().splitlines()]


def test_submit_calls_back_once_on_disk_writes_a_racing_retry_once_and_refuses_alone(data_dir):
    outcomes: dict[str, list] = {"m1": [], "retry": [], "bad": [], "m2": []}

    async def scenario() -> None:
        journal = PartnerJournal(journal_root(data_dir) / "alpha", "alpha")
        journal.recover()
        journal.start()
        written = asyncio.Event()

        def note(key):
            def on_written(error):
                outcomes[key].append(error)
                # Called back only once its line is on disk.
                assert error is not None or any(line["message_id"] == "m1" for line in _lines(data_dir))
                if all(outcomes.values()):
                    written.set()
            return on_written

        journal.submit("CP-1", "1.6", "m1", "MeterValues", {"n": 1}, transaction_id=None, on_written=note("m1"))
        journal.submit("CP-1", "1.6", "m1", "MeterValues", {"n": 1}, transaction_id=None, on_written=note("retry"))
        journal.submit("CP-1", "1.6", "bad", "DataTransfer", {"data": "\ud800"}, transaction_id=None,
                       on_written=note("bad"))
        journal.submit("CP-1", "1.6", "m2", "StartTransaction", {}, transaction_id=7001, on_written=note("m2"))
        await asyncio.wait_for(written.wait(), 30)
        await journal.close()

    asyncio.run(scenario())
    assert outcomes["m1"] == outcomes["retry"] == outcomes["m2"] == [None]
    assert [type(error) for error in outcomes["bad"]] == [Unjournalable]
    lines = _lines(data_dir)
    assert [(line["message_id"], line["origin"], line["transaction_id"]) for line in lines] == [
        ("m1", "proxy", None), ("m2", "proxy", 7001)]


def test_a_slow_fsync_moves_the_writes_off_the_event_loop(data_dir, monkeypatch):
    real_fsync = os.fsync
    delay = {"seconds": 0.0}

    def fsync(fd):
        time.sleep(delay["seconds"])
        real_fsync(fd)
    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    monkeypatch.setattr(journal_module, "INLINE_FSYNC_SECONDS", 0.1)  # a busy test machine is not a slow disk
    inline: list[bool] = []

    async def scenario() -> None:
        journal = PartnerJournal(journal_root(data_dir) / "alpha", "alpha")
        journal.recover()
        journal.start()
        await journal.append("CP-1", "1.6", "quick", "Heartbeat", {})
        inline.append(journal._fsync_inline)
        delay["seconds"] = 0.3
        await journal.append("CP-1", "1.6", "slow", "Heartbeat", {})  # on the loop still: then it was slow
        inline.append(journal._fsync_inline)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1
        ticker = asyncio.create_task(tick())
        await journal.append("CP-1", "1.6", "in a thread", "Heartbeat", {})
        ticker.cancel()
        assert ticks >= 5, "the loop stood still during a slow fsync"
        delay["seconds"] = 0.0
        await journal.append("CP-1", "1.6", "quick again", "Heartbeat", {})
        inline.append(journal._fsync_inline)
        await journal.close()

    asyncio.run(scenario())
    assert inline == [True, False, True]
    assert [line["message_id"] for line in _lines(data_dir)] == ["quick", "slow", "in a thread", "quick again"]
