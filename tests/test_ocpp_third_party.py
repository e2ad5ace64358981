"""The OCPP gateway driven by a charge point simulator we did not write: `ocpp simulate` of the npm package
ocpp-ws-cli (pinned in tests/third_party_ocpp/package.json), run unmodified as a subprocess and steered only
through its own options and its keyboard controls on stdin, as a person at its terminal would. Its
sessions (1.6J and 2.0.1) are landed and built, and their kWh must equal the registers it sent, straight to
the gateway and through it in proxy mode to a partner's own back office; with the gateway SIGKILLed
mid-stream, nothing it was told was received may be missing from the journal.

The tool stamps its messages with its wall clock; libfaketime (Debian) starts that clock at a fixed moment in
2026-Q1, so the test does not depend on the day it runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from joulo_pipelines import cli
from ocpp_clients import SECRET, SECRET_ENV, GatewayProcess, gateway, make_ocpp_partner
from ocpp_csms import FIRST_TRANSACTION_ID, Csms

NODE_BIN = Path(__file__).parent / "third_party_ocpp" / "node_modules" / ".bin"
SIMULATOR = NODE_BIN / "ocpp"
# Its dependencies' own minimum; package.json pins the npm package `node` to a Node that has it (Debian 12's
# is 18), which lands in NODE_BIN and is put first on the simulator's PATH.
NODE_MINIMUM = (20, 12)
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
SIMULATOR_CLOCK = "2026-03-10 18:00:00"  # UTC, where the simulator's clock starts
VERSIONS = {"CP-TP16": "ocpp1.6", "CP-TP201": "ocpp2.0.1"}

pytestmark = pytest.mark.skipif(
    not SIMULATOR.exists() or LIBFAKETIME is None,
    reason="no tests/third_party_ocpp/node_modules (the simulator and its Node are npm packages; `make test` "
           "runs npm ci there) or no libfaketime (`make test` installs it from Debian)")


def _simulator_path() -> str:
    """PATH with the simulator's own Node first, checked to be new enough for it."""
    path = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    node = shutil.which("node", path=path)
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else ""
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if found < NODE_MINIMUM:
        pytest.fail(f"the simulator needs Node {'.'.join(map(str, NODE_MINIMUM))} or newer, found "
                    f"{version or 'none'} ({node}): run `npm ci --prefix tests/third_party_ocpp` (`make test` "
                    "does), which installs one", pytrace=False)
    return path


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


class Simulator:
    """One `ocpp simulate` process. It has no Basic auth option: its WebSocket library (ws) sends the
    URL's user and password as HTTP Basic credentials, so they go into the endpoint URL."""

    def __init__(self, port: int, identity: str, report_dir: Path, partner: str = "beta"):
        self.identity, self.report_dir = identity, report_dir
        self.endpoint = f"ws://{identity}:{quote(SECRET, safe='')}@127.0.0.1:{port}/{partner}"
        self.output = ""
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(SIMULATOR), "simulate", "--endpoint", self.endpoint, "--identity", self.identity,
            "--protocol", VERSIONS[self.identity], "--id-tag", "TAG-TP",
            # Without a report format it asks whether to write one; its report is not used here.
            "--report", "json", "--report-dir", str(self.report_dir),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PATH": _simulator_path(), "LD_PRELOAD": str(LIBFAKETIME),
                 "FAKETIME": f"@{SIMULATOR_CLOCK}",
                 "FAKETIME_DONT_FAKE_MONOTONIC": "1", "TZ": "UTC"})
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while chunk := await self.process.stdout.read(65536):
            self.output += chunk.decode(errors="replace")

    async def press(self, key: str) -> int:
        """Type one key; returns where the output stood, for waiting on what the key brings."""
        mark = len(self.output)
        self.process.stdin.write(key.encode())
        await self.process.stdin.drain()
        return mark

    async def wait_for(self, pattern: str, since: int = 0, timeout: float = 300) -> re.Match:
        async def match():
            while not (found := re.compile(pattern).search(self.output, since)):
                if self.process.returncode is not None:
                    raise AssertionError(f"simulator exited: {self.output[-2000:]}")
                await asyncio.sleep(0.05)
            return found
        try:
            return await asyncio.wait_for(match(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.identity}: no {pattern!r} in {timeout} s: {self.output[since:][-2000:]}")

    async def booted(self) -> None:
        # 1.6: accepted, then it reports its connector Available. 2.0.1: the tool sends its 1.6
        # BootNotification payload, which the gateway refuses with a FormatViolation (a finding, README);
        # the tool carries on without the status report, and a transaction still runs.
        if VERSIONS[self.identity] == "ocpp1.6":
            await self.wait_for(r"StatusNotification \(Available\) Accepted")
        else:
            await self.wait_for(r"BootSequence failed: \[FormatViolation\]")

    async def start_transaction(self) -> str:
        await self.wait_for(r"Authorize Response: Accepted", await self.press("a"))
        return (await self.wait_for(r"Transaction (\S+) Started\.", await self.press("t"))).group(1)

    async def stop_transaction(self, transaction: str) -> None:
        await self.wait_for(rf"Transaction {transaction} Stopped\.", await self.press("e"))

    async def quit(self) -> None:
        """Quit with `q`. Its 2.0.1 boot retry timer keeps the process alive after that: it is ended."""
        await self.wait_for(r"Simulator stopped", await self.press("q"))
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        await self.process.wait()
        await self._reader
        _remove_faketime_files(self.process.pid)

    def kill(self) -> None:
        """End a simulator a failed test left running (its boot retries would go on for ever)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        if self.process is not None:
            _remove_faketime_files(self.process.pid)


def _remove_faketime_files(pid: int) -> None:
    """libfaketime makes a shared memory segment and a semaphore named after the process it starts in, and
    removes them only when that process exits by itself: the simulator is ended by a signal, and each run
    of the suite would leave its pair in /dev/shm."""
    for name in (f"faketime_shm_{pid}", f"sem.faketime_sem_{pid}"):
        Path("/dev/shm", name).unlink(missing_ok=True)


def _journal(data_dir, partner: str = "beta") -> list[dict]:
    journal = data_dir.root / "ocpp" / "journal" / partner
    return [json.loads(line) for segment in sorted(journal.glob("*.jsonl*"))
            for line in segment.read_text().splitlines()]


def _registers(lines: list[dict], identity: str) -> tuple[Decimal, Decimal, list[Decimal]]:
    """The import registers (Wh) the simulator sent for its transaction, from the journal: at the start, at
    the end, and its periodic readings in between."""
    mine = [line for line in lines if line["charge_point_ref"] == identity]
    if VERSIONS[identity] == "ocpp1.6":
        start = next(line for line in mine if line["action"] == "StartTransaction")["payload"]["meterStart"]
        stop = next(line for line in mine if line["action"] == "StopTransaction")["payload"]["meterStop"]
        periodic = [line["payload"]["meterValue"] for line in mine if line["action"] == "MeterValues"]
    else:
        events = [line["payload"] for line in mine if line["action"] == "TransactionEvent"]
        start, stop = (next(event["meterValue"][0]["sampledValue"][0]["value"] for event in events
                            if event["eventType"] == kind) for kind in ("Started", "Ended"))
        periodic = [event["meterValue"] for event in events if event["eventType"] == "Updated"]
    readings = [Decimal(str(sampled["value"])) for meter_values in periodic for meter_value in meter_values
                for sampled in meter_value["sampledValue"] if sampled["measurand"] == "Energy.Active.Import.Register"]
    return Decimal(str(start)), Decimal(str(stop)), readings


def _build_and_read_sessions(definitions, data_dir) -> dict[tuple[str, str], tuple]:
    """Land the journal, build 2026-Q1 (the simulator's clock) and read its sessions back from the mart, by
    partner and charge point."""
    assert definitions.resolve_job_def("ocpp_landing_job").execute_in_process().success
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("""
            select partner_id, charge_point_ref, started_at, meter_start_wh, meter_stop_wh, kwh, source_type,
                   session_ref
            from marts.fct_charging_sessions
        """).fetchall()
    return {row[:2]: row[2:] for row in rows}


def test_a_third_party_simulators_16_and_201_sessions_have_exactly_the_kwh_of_its_registers(
        ocpp_data_dir, definitions, tmp_path, monkeypatch):
    """Beta's simulators talk to the gateway; alpha's, through the gateway in proxy mode, to alpha's own
    CSMS, which sees what they send and answers them itself. One quarter build for both."""
    csms = Csms()
    monkeypatch.setenv("ALPHA_UPSTREAM_SECRET", "the csms's own password")
    simulated_transactions: dict[tuple[str, str], str] = {}

    async def drive(port: int, identity: str, partner: str) -> None:
        simulator = Simulator(port, identity, tmp_path, partner)
        try:
            await simulator.start()
            await simulator.booted()
            transaction = await simulator.start_transaction()
            simulated_transactions[partner, identity] = transaction
            for _ in range(5):
                await simulator.press("m")
            await simulator.stop_transaction(transaction)
            await simulator.quit()
        finally:
            simulator.kill()

    async def traffic() -> None:
        await csms.serve()
        make_ocpp_partner(ocpp_data_dir, "alpha", upstream_url=csms.url(), upstream_auth_env="ALPHA_UPSTREAM_SECRET")
        async with gateway(ocpp_data_dir) as port:
            await asyncio.gather(*(drive(port, identity, partner) for identity in VERSIONS
                                   for partner in ("alpha", "beta")))
        await csms.kill()

    asyncio.run(traffic())
    sessions = _build_and_read_sessions(definitions, ocpp_data_dir)

    assert set(sessions) == {(partner, identity) for identity in VERSIONS for partner in ("alpha", "beta")}
    # Through the proxy the CSMS got every frame and gave the 1.6 transaction its own id, which the session has.
    assert {json.loads(frame)[2] for frame in csms.received["CP-TP16"] if json.loads(frame)[0] == 2} >= {
        "BootNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"}
    assert simulated_transactions["alpha", "CP-TP16"] == str(FIRST_TRANSACTION_ID)
    assert sessions["alpha", "CP-TP16"][-1] == f"ocpp:CP-TP16:{FIRST_TRANSACTION_ID}"
    for partner, identity in sessions:
        start_wh, stop_wh, readings = _registers(_journal(ocpp_data_dir, partner), identity)
        # The tool's meter only climbs (14 Wh a reading): the periodic readings it sent lie between the
        # registers it started and ended with, the last of them equal to the end.
        assert len(readings) >= 5 and start_wh < readings[0] and readings[-1] == stop_wh
        started_at, meter_start_wh, meter_stop_wh, kwh, source_type, _ = sessions[partner, identity]
        # The session counts when the charger says it happened, not when the gateway received it.
        assert started_at.date().isoformat() == SIMULATOR_CLOCK[:10]
        assert (meter_start_wh, meter_stop_wh) == (start_wh, stop_wh)
        assert kwh == (stop_wh - start_wh) / 1000, (partner, identity)
        assert source_type == "ocpp"


class RecordingRelay:
    """Sits between the simulators and the gateway on loopback and passes every frame on unchanged, noting
    which calls a simulator got a CALLRESULT for: what it was told was received. When the gateway dies it
    cuts the simulator's connection, as the gateway's death would; a simulator reconnecting while the
    gateway restarts is held until the gateway listens again."""

    def __init__(self, gateways: list[GatewayProcess]):
        self.gateways = gateways  # the last one is the gateway of the moment
        self.calls: dict[str, tuple[str, str]] = {}  # message id -> (charge point, action)
        self.answered: list[str] = []

    async def handle(self, simulator) -> None:
        identity = simulator.request.path.rsplit("/", 1)[-1]
        gateway_side = await self._connect(simulator.request.path, simulator.subprotocol,
                                           simulator.request.headers["Authorization"])

        async def forward(source, sink, note) -> None:
            with contextlib.suppress(ConnectionClosed):
                async for frame in source:
                    await sink.send(frame)
                    note(json.loads(frame))

        def note_call(message: list) -> None:
            if message[0] == 2:
                self.calls[message[1]] = (identity, message[2])

        def note_answer(message: list) -> None:
            if message[0] == 3:
                self.answered.append(message[1])

        directions = [asyncio.create_task(forward(simulator, gateway_side, note_call)),
                      asyncio.create_task(forward(gateway_side, simulator, note_answer))]
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        for direction in directions:
            direction.cancel()
        # The simulator's connection is cut as the dead gateway's was (no closing handshake).
        simulator.transport.abort()
        gateway_side.transport.abort()

    async def _connect(self, path: str, subprotocol: str, authorization: str):
        while True:
            gateway = self.gateways[-1]
            try:
                return await connect(f"ws://127.0.0.1:{gateway.port}{path}", subprotocols=[subprotocol],
                                     additional_headers={"Authorization": authorization})
            except OSError:
                if gateway.alive() and gateway is self.gateways[-1]:
                    raise  # a gateway that runs refused: not a restart
                await asyncio.sleep(0.05)  # the gateway was killed and its successor is starting

    async def next_boot_notification(self, identity: str) -> None:
        """Wait for the simulator's next BootNotification. In 2.0.1 it retries its refused boot every 10 s,
        and each retry puts it back in its power-on state, in which it does not reconnect a dropped
        connection (a finding, README); a transaction puts it out of that state until the next retry. So
        the 2.0.1 transaction starts right after a retry, leaving the kill ~10 s to come."""
        def boots() -> int:
            return sum(1 for call in self.calls.values() if call == (identity, "BootNotification"))

        seen = boots()
        while boots() == seen:
            await asyncio.sleep(0.01)

    def answered_readings(self, identity: str, since: int = 0) -> int:
        return sum(1 for message_id in self.answered[since:]
                   if self.calls[message_id] in ((identity, "MeterValues"), (identity, "TransactionEvent")))


READINGS_BEFORE_KILL = 10
READINGS_AFTER_RESTART = 10
BURST = 30


def test_a_sigkilled_gateway_loses_nothing_the_third_party_simulator_was_told_was_received(
        ocpp_data_dir, definitions, tmp_path):
    gateways = [GatewayProcess()]
    relay = RecordingRelay(gateways)
    transactions: dict[str, str] = {}

    async def press_meter_values_until(simulator: Simulator, done: asyncio.Event) -> None:
        while not done.is_set():
            await simulator.press("m")
            await asyncio.sleep(0.05)

    async def kill_and_restart_mid_stream(simulators: list[Simulator]) -> int:
        while min(relay.answered_readings(identity) for identity in VERSIONS) < READINGS_BEFORE_KILL:
            await asyncio.sleep(0.01)
        # A burst of readings, and the kill as soon as another call reached the gateway: calls are on their
        # way when it dies (2 to 4 unanswered ones a run when this was written; timing, so not asserted).
        forwarded = len(relay.calls)
        for simulator in simulators:
            await simulator.press("m" * BURST)
        while len(relay.calls) == forwarded:
            await asyncio.sleep(0)
        gateways[-1].process.send_signal(signal.SIGKILL)
        gateways[-1].process.wait()
        killed_at = len(relay.answered)
        gateways.append(await GatewayProcess.start())
        # The simulator reconnects by itself (after 5 s) and streams on through the new gateway.
        while min(relay.answered_readings(identity, killed_at) for identity in VERSIONS) < READINGS_AFTER_RESTART:
            await asyncio.sleep(0.05)
        return killed_at

    async def scenario() -> int:
        async with serve(relay.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"]) as server:
            port = server.sockets[0].getsockname()[1]
            simulators = [Simulator(port, identity, tmp_path) for identity in VERSIONS]
            try:
                for simulator in simulators:
                    await simulator.start()
                await asyncio.gather(*(simulator.booted() for simulator in simulators))
                for simulator in simulators:
                    if VERSIONS[simulator.identity] == "ocpp2.0.1":
                        await asyncio.wait_for(relay.next_boot_notification(simulator.identity), 300)
                    transactions[simulator.identity] = await simulator.start_transaction()
                done = asyncio.Event()
                streams = [asyncio.create_task(press_meter_values_until(simulator, done))
                           for simulator in simulators]
                killed_at = await asyncio.wait_for(kill_and_restart_mid_stream(simulators), 600)
                done.set()
                await asyncio.gather(*streams)
                for simulator in simulators:
                    await simulator.stop_transaction(transactions[simulator.identity])
                    await simulator.quit()
                return killed_at
            finally:
                for simulator in simulators:
                    simulator.kill()

    try:
        killed_at = asyncio.run(scenario())
    finally:
        gateways[-1].process.send_signal(signal.SIGTERM)
        exit_code = gateways[-1].process.wait()
        for gateway in gateways:
            if gateway.alive():
                gateway.process.kill()
    assert exit_code == 0, "".join(gateways[-1].log)[-2000:]

    journal = ocpp_data_dir.root / "ocpp" / "journal" / "beta"
    assert not list(journal.glob("*.open")), "a clean shutdown closes the open segment"
    assert len(gateways) == 2 and len(list(journal.glob("*.jsonl"))) >= 2  # the kill really split the stream
    lines = _journal(ocpp_data_dir)
    journaled = [line["message_id"] for line in lines]
    assert len(journaled) == len(set(journaled)), "no call journaled twice"
    missing = [relay.calls[message_id] for message_id in relay.answered if message_id not in set(journaled)]
    assert missing == [], "answered but not in the journal"
    sessions = _build_and_read_sessions(definitions, ocpp_data_dir)
    for identity in VERSIONS:
        assert relay.answered_readings(identity, killed_at) >= READINGS_AFTER_RESTART
        # The transaction started before the kill and ended after the restart; its session has exactly the
        # kWh between the registers it started and ended with.
        start_wh, stop_wh, readings = _registers(lines, identity)
        assert start_wh < min(readings) and max(readings) <= stop_wh, identity
        assert sessions["beta", identity][3] == (stop_wh - start_wh) / 1000, identity
