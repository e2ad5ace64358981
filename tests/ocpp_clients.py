"""Helpers for the OCPP gateway tests: the gateway in the test's event loop, and real `ocpp` charge points
(the package's own ChargePoint classes) connected over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
import threading

import yaml
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v201 import ChargePoint as ChargePoint201
from websockets.asyncio.client import connect

from joulo_pipelines.lib.ocpp_gateway.server import run_gateway
from joulo_pipelines.lib.paths import DataDir

SECRET = "correct horse battery staple"
SECRET_ENV = "BETA_OCPP_SECRET"
HANG_GUARD = 120  # seconds; only a hang reaches it


# The identities the OCPP tests connect as; the gateway refuses charge points a partner has not delivered.
TEST_CHARGE_POINTS = ["CP-0", "CP-1", "CP-2", "CP-3", "CP-16", "CP-201", "CP-FAST", "CP-EVIL", "CP-GOOD",
                      "CP-TP16", "CP-TP201", "CP-CHECK"]


def make_ocpp_partner(data_dir: DataDir, partner_id: str = "beta", charge_points: list[str] = TEST_CHARGE_POINTS,
                      **source) -> None:
    """Turn a registered partner into an OCPP partner whose secret sits in BETA_OCPP_SECRET, and land its
    charge points (through the real intake)."""
    registry = yaml.safe_load(data_dir.partners_file.read_text())
    for partner in registry["partners"]:
        if partner["id"] == partner_id:
            partner["source"] = {"type": "ocpp", "basic_auth_env": SECRET_ENV, **source}
    data_dir.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False))
    if charge_points:
        land_charge_points(data_dir, partner_id, charge_points)


def land_charge_points(data_dir: DataDir, partner_id: str, refs: list[str], name: str = "charge_points.csv") -> None:
    from joulo_pipelines.lib.intake import ingest_file

    file = data_dir.inbox / partner_id / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("charge_point_ref,customer_ref,brand,model,serial_number\n"
                    + "".join(f"{ref},C-{ref},Alfen,Eve,SN-{ref}\n" for ref in refs))
    assert ingest_file(data_dir, [partner_id], file).status == "landed"
    file.unlink()


@contextlib.asynccontextmanager
async def gateway(data_dir: DataDir, **options):
    loop = asyncio.get_running_loop()
    ready, stop = loop.create_future(), loop.create_future()
    task = asyncio.create_task(run_gateway(data_dir, "127.0.0.1", 0, ready=ready, stop=stop, **options))
    port = await asyncio.wait_for(ready, 10)
    try:
        yield port
    finally:
        stop.set_result(None)
        await task


@contextlib.asynccontextmanager
async def charge_point(port: int, identity: str, version: str, partner: str = "beta", secret: str = SECRET,
                       username: str | None = None):
    client_class = {"1.6": ChargePoint16, "2.0.1": ChargePoint201}[version]
    url = f"ws://127.0.0.1:{port}/{partner}/{identity}"
    headers = basic_auth_header(username or identity, secret)
    async with connect(url, subprotocols=[f"ocpp{version}"], additional_headers=headers) as ws:
        client = client_class(identity, ws)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


def basic_auth_header(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class GatewayProcess:
    """`joulo ocpp-gateway` in its own process, on port 0 unless told; its log is read as it comes (it gives the
    port the gateway bound)."""

    def __init__(self, port: int = 0):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "joulo_pipelines.cli", "ocpp-gateway", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        self.log: list[str] = []
        self.port: int | None = None
        self._started = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()
        self._started.wait(HANG_GUARD)
        assert self.port, "the gateway did not start:\n" + "".join(self.log)

    def _read_log(self) -> None:
        for line in self.process.stderr:  # type: ignore[union-attr]
            self.log.append(line)
            if found := re.search(r"OCPP gateway on wss?://[^:]+:(\d+)/", line):
                self.port = int(found.group(1))
                self._started.set()
        self._started.set()

    @classmethod
    async def start(cls, port: int = 0) -> "GatewayProcess":
        """Started from a thread, so the event loop (the charge points) goes on while it starts."""
        return await asyncio.to_thread(cls, port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=HANG_GUARD)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


class Link:
    """A real `ocpp` charge point that reconnects when the gateway goes away and retries its call with the
    same message id, as the OCPP spec asks of a charger that got no answer."""

    def __init__(self, port: int, identity: str, version: str, client_class=None):
        self.port, self.identity, self.version = port, identity, version
        self.client_class = client_class or {"1.6": ChargePoint16, "2.0.1": ChargePoint201}[version]
        self.client = None
        self.runner: asyncio.Task | None = None
        self.ws = None

    async def _connect(self) -> None:
        while True:
            try:
                self.ws = await connect(f"ws://127.0.0.1:{self.port}/beta/{self.identity}",
                                        subprotocols=[f"ocpp{self.version}"],
                                        additional_headers=basic_auth_header(self.identity, SECRET), open_timeout=5)
                break
            except OSError:
                await asyncio.sleep(0.05)  # the gateway is restarting
        self.client = self.client_class(self.identity, self.ws)
        self.runner = asyncio.create_task(self.client.start())

    async def call(self, payload, unique_id: str):
        """The answer to the call, once the gateway gave one; retried over reconnects until then."""
        while True:
            if self.runner is None or self.runner.done():
                await self._connect()
            attempt = asyncio.create_task(self.client.call(payload, unique_id=unique_id))
            await asyncio.wait([attempt, self.runner], return_when=asyncio.FIRST_COMPLETED)
            if attempt.done() and not attempt.exception():
                return attempt.result()
            attempt.cancel()
            self.runner.cancel()
            self.runner = None
            await asyncio.sleep(0.05)  # a proxy whose upstream is down closes at once: no busy loop

    async def close(self) -> None:
        if self.runner:
            self.runner.cancel()
        if self.ws:
            await self.ws.close()
