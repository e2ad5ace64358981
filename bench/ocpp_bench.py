"""OCPP gateway benchmark: N concurrent charge points send MeterValues at a fixed total rate.

Starts `joulo ocpp-gateway` as its own process on a scratch data dir and opens N WebSocket connections
(subprotocol ocpp1.6, HTTP Basic) from client processes. For DURATION seconds each charge point sends a
MeterValues call every N/RATE seconds (open loop, as real chargers do: they do not speed up when answers
come fast, nor stop when they come slowly; OCPP allows one call in flight, so a call that falls due while
the previous one is unanswered goes out as soon as the answer arrives). `--rate 0` is the closed loop: each
charge point sends its next call the moment the previous one is answered, which finds the ceiling.

Prints the sustained acknowledged messages per second, p50/p99 acknowledgement latency (from sending a
CALL to receiving its CALLRESULT), the gateway's peak memory, the load average, and checks that every
acknowledged message is in the journal. Not run by the tests.

The clients speak OCPP-J frames over a minimal WebSocket client of their own (asyncio protocol on uvloop)
rather than the `ocpp` package's ChargePoint: the benchmark measures the gateway, not the client.

`--proxy` measures proxy mode: a minimal CSMS (its own process, answering every call at once) is the
partner's back office, and half the charge points connect to it directly while the other half go through
the gateway, proxied to it; both halves run at the same time, and the proxy's cost is the difference of
their p99 round trips.

    make bench-ocpp                      # 2,000 connections, 5,000 msgs/s offered, 20 s
    make bench-ocpp OCPP_PROXY=1         # the same load, half direct to a CSMS, half through the proxy
    .venv/bin/python bench/ocpp_bench.py --connections 500 --rate 0 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop
import yaml
from websockets.speedups import apply_mask

SECRET = "bench-secret"
PARTNER = "bench"
METER_VALUES = (b'[2,"%s","MeterValues",{"connectorId":1,"transactionId":1,"meterValue":[{"timestamp":'
                b'"2026-05-01T10:00:00Z","sampledValue":[{"value":"%d","measurand":'
                b'"Energy.Active.Import.Register","unit":"Wh"}]}]}]')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    header = struct.pack("!BB", 0x81, 0x80 | length) if length < 126 else struct.pack("!BBH", 0x81, 0xFE, length)
    return header + mask + apply_mask(payload, mask)


class BenchChargePoint(asyncio.Protocol):
    """One charge point: the HTTP upgrade, then MeterValues CALLs on its schedule and their CALLRESULTs."""

    def __init__(self, identity: str, port: int, interval: float, run: "ClientRun", route: str = PARTNER):
        self.identity, self.port, self.interval, self.run = identity, port, interval, run
        self.route = route  # the first path segment: the partner (the gateway) or "csms" (direct)
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.upgraded = False
        self.n = 0
        self.in_flight: str | None = None
        self.sent_at = 0.0
        self.due = False  # a call fell due while the previous one was unanswered
        self.next_at = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        auth = base64.b64encode(f"{self.identity}:{SECRET}".encode()).decode()
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /{self.route}/{self.identity} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                         f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
                         f"Authorization: Basic {auth}\r\n\r\n").encode())

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buffer[:end].split(b"\r\n", 1)[0]
            self.buffer = self.buffer[end + 4:]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode()))
                return
            self.upgraded = True
            self.opened.set_result(None)
        while len(self.buffer) >= 2:
            opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, start = struct.unpack_from("!H", self.buffer, 2)[0], 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, start = struct.unpack_from("!Q", self.buffer, 2)[0], 10
            if len(self.buffer) < start + length:
                return
            payload, self.buffer = self.buffer[start:start + length], self.buffer[start + length:]
            if opcode == 0x1:
                self._answered(payload)

    def _answered(self, payload: bytes) -> None:
        received = time.perf_counter()
        frame = json.loads(payload)
        if frame[1] != self.in_flight:
            return
        if frame[0] == 3:
            self.run.record(self.route, self.in_flight, self.sent_at, received)
        else:
            self.run.errors += 1
        self.in_flight = None
        if self.interval == 0 or self.due:
            self.due = False
            self._send()

    def start(self, first_at: float) -> None:
        if self.interval == 0:
            asyncio.get_running_loop().call_at(first_at, self._send)
        else:
            self.next_at = first_at
            asyncio.get_running_loop().call_at(first_at, self._fall_due)

    def _fall_due(self) -> None:
        if self.in_flight is None:
            self._send()
        else:
            self.due = True
        self.next_at += self.interval
        if self.next_at < self.run.stop_at:
            asyncio.get_running_loop().call_at(self.next_at, self._fall_due)

    def _send(self) -> None:
        if self.transport is None or asyncio.get_running_loop().time() >= self.run.stop_at:
            return
        self.in_flight = f"{self.identity}-{self.n}"
        self.transport.write(_masked_text_frame(METER_VALUES % (self.in_flight.encode(), 1000 + self.n)))
        self.sent_at = time.perf_counter()
        self.n += 1


class ClientRun:
    """What one client process measured."""

    def __init__(self, stop_at: float):
        self.stop_at = stop_at  # on the event loop's clock
        self.latencies: dict[str, list[float]] = {}  # by route
        self.acked: list[str] = []  # through the gateway
        self.errors = 0

    def record(self, route: str, message_id: str, sent_at: float, received_at: float) -> None:
        self.latencies.setdefault(route, []).append(received_at - sent_at)
        if route == PARTNER:
            self.acked.append(message_id)


def _client_process(routes: list[tuple[str, int]], identities: list[str], rate_per_cp: float, start_at: float,
                    seconds: float, out: str) -> None:
    """`routes`: (first path segment, port) taken in turn by the identities."""
    async def run() -> None:
        loop = asyncio.get_running_loop()
        start_loop = loop.time() + (start_at - time.time())
        results = ClientRun(start_loop + seconds)
        interval = 1 / rate_per_cp if rate_per_cp else 0.0
        connecting = asyncio.Semaphore(100)  # a storm of thousands of SYNs overflows the listen backlog

        async def open_one(identity: str, route: str, port: int) -> BenchChargePoint:
            async with connecting:
                _, cp = await loop.create_connection(
                    lambda: BenchChargePoint(identity, port, interval, results, route), "127.0.0.1", port)
                await asyncio.wait_for(cp.opened, 120)
                return cp

        charge_points = await asyncio.gather(*(open_one(identity, *routes[n % len(routes)])
                                               for n, identity in enumerate(identities)))
        for cp in charge_points:  # spread the first calls over one interval so the load is even
            cp.start(start_loop + random.uniform(0, interval or 0.01))
        await asyncio.sleep(max(0.0, results.stop_at - loop.time()) + 2.0)  # the last answers
        for cp in charge_points:
            if cp.transport:
                cp.transport.close()
        Path(out).write_text(json.dumps({"latencies": results.latencies, "acked": results.acked,
                                         "errors": results.errors}))

    uvloop.run(run())


def _csms_process(port: int) -> None:
    """The partner's back office, as cheap as one can be: every CALL answered with an empty CALLRESULT."""
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    async def answer(connection) -> None:
        with contextlib.suppress(ConnectionClosed):  # the gateway going away at the end of the run
            async for frame in connection:
                message = json.loads(frame)
                if message[0] == 2:
                    await connection.send(json.dumps([3, message[1], {}]))

    async def run() -> None:
        async with serve(answer, "127.0.0.1", port, subprotocols=["ocpp1.6"], ping_interval=None,
                         compression=None, backlog=4096):
            await asyncio.Future()

    uvloop.run(run())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _land_charge_points(data: Path, identities: list[str]) -> None:
    """The gateway admits only charge points the partner delivered: land them as a charge_points.csv would."""
    from joulo_pipelines.lib.intake import ingest_file
    from joulo_pipelines.lib.paths import DataDir

    drop = data / "inbox" / PARTNER / "charge_points.csv"
    drop.parent.mkdir(parents=True, exist_ok=True)
    drop.write_text("charge_point_ref,customer_ref,brand,model,serial_number\n"
                    + "".join(f"{cp},C{cp},Bench,B1,S{cp}\n" for cp in identities))
    assert ingest_file(DataDir(data), [PARTNER], drop).status == "landed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=5000.0,
                        help="MeterValues per second offered by all charge points together; 0 = closed loop")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--ramp-seconds", type=float, default=15.0, help="time allowed to open every connection")
    parser.add_argument("--proxy", action="store_true",
                        help="proxy mode: half the charge points direct to a CSMS, half through the gateway to it")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ocpp-bench-"))
    data = root / "data"
    (data / "config").mkdir(parents=True)
    csms_port = _free_port()
    csms = multiprocessing.Process(target=_csms_process, args=(csms_port,), daemon=True) if args.proxy else None
    source = {"type": "ocpp", "basic_auth_env": "BENCH_OCPP_SECRET"}
    if csms:
        csms.start()
        source["upstream_url"] = f"ws://127.0.0.1:{csms_port}/csms"
    (data / "config" / "partners.yaml").write_text(yaml.safe_dump({"partners": [{
        "id": PARTNER, "name": "Bench B.V.", "brand": {"display_name": "Bench", "sender_email": "b@bench.example"},
        "payout_model": "direct", "service_fee_pct": 15,
        "source": source}]}))
    identities = [f"CP{i:05d}" for i in range(args.connections)]
    _land_charge_points(data, identities)
    env = {**os.environ, "JOULO_DATA_DIR": str(data), "BENCH_OCPP_SECRET": SECRET}
    env.pop("JOULO_AS_OF", None)
    port = _free_port()
    routes = [(PARTNER, port), ("csms", csms_port)] if csms else [(PARTNER, port)]
    gateway = subprocess.Popen([sys.executable, "-m", "joulo_pipelines.cli", "ocpp-gateway", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        start_at = time.time() + args.ramp_seconds
        shares = [identities[i::args.client_processes] for i in range(args.client_processes)]
        outputs = [str(root / f"client{i}.json") for i in range(args.client_processes)]
        rate_per_cp = args.rate / args.connections
        clients = [multiprocessing.Process(target=_client_process,
                                           args=(routes, share, rate_per_cp, start_at, args.seconds, out))
                   for share, out in zip(shares, outputs)]
        for client in clients:
            client.start()
        time.sleep(max(0.0, start_at - time.time()))
        gateway_cpu = -_cpu_seconds(gateway.pid)
        clients_cpu = -sum(_cpu_seconds(c.pid) for c in clients)
        time.sleep(args.seconds)
        gateway_cpu += _cpu_seconds(gateway.pid)
        clients_cpu += sum(_cpu_seconds(c.pid) for c in clients)
        for client in clients:
            client.join()
        load = os.getloadavg()
        peak_mb = _peak_memory_mb(gateway.pid)
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=120)
        if csms:
            csms.terminate()

    latencies: dict[str, list[float]] = {}
    acked: list[str] = []
    errors = 0
    for out in outputs:
        result = json.loads(Path(out).read_text())
        for route, measured in result["latencies"].items():
            latencies.setdefault(route, []).extend(measured)
        acked += result["acked"]
        errors += result["errors"]
    journaled = set()
    for segment in (data / "ocpp" / "journal" / PARTNER).glob("*.jsonl"):
        with segment.open() as handle:
            journaled.update(json.loads(line)["message_id"] for line in handle)
    missing = len(set(acked) - journaled)
    quantiles = {route: statistics.quantiles(measured, n=100) if len(measured) > 1 else [float("nan")] * 99
                 for route, measured in latencies.items()}
    gateway_q = quantiles.get(PARTNER, [float("nan")] * 99)
    offered = f"{args.rate:,.0f} msgs/s offered" if args.rate else "closed loop"
    print(f"connections:              {args.connections} ({args.client_processes} client processes, {offered})"
          + (", half of them direct to the CSMS" if csms else ""))
    print(f"acknowledged messages:    {len(acked)} in {args.seconds:.0f} s ({errors} answered with an error)")
    print(f"sustained throughput:     {len(acked) / args.seconds:,.0f} acknowledged msgs/s")
    print(f"ack latency p50 / p99:    {gateway_q[49] * 1000:.1f} ms / {gateway_q[98] * 1000:.1f} ms"
          + (" (through the proxy)" if csms else ""))
    if csms:
        direct_q = quantiles.get("csms", [float("nan")] * 99)
        print(f"direct to the CSMS:       {direct_q[49] * 1000:.1f} ms / {direct_q[98] * 1000:.1f} ms "
              f"({len(latencies.get('csms', []))} answered)")
        print(f"proxy adds to the p99:    {(gateway_q[98] - direct_q[98]) * 1000:.1f} ms")
    print(f"gateway peak memory:      {peak_mb:,.0f} MB (VmHWM)")
    per_message = 1e6 / max(len(acked), 1)
    print(f"CPU per message:          gateway {gateway_cpu * per_message:.0f} us, clients {clients_cpu * per_message:.0f} us"
          f" (gateway busy {gateway_cpu / args.seconds:.0%} of a core)")
    print(f"load average (1/5/15):    {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"acknowledged not in journal: {missing}")
    shutil.rmtree(root, ignore_errors=True)
    return 1 if missing or errors else 0


if __name__ == "__main__":
    sys.exit(main())
