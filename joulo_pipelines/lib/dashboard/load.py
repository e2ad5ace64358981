"""The dashboard under load, for `joulo bench`: `joulo api` in its own process on loopback, and USERS people
of the largest partner signed in at once, each opening the dashboard's pages in turn; per page the answer
times' median, p95 and maximum. A page that does not answer 200 fails the measurement."""

from __future__ import annotations

import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import httpx

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.dashboard import accounts
from joulo_pipelines.lib.dashboard.queries import PAGE_SIZE
from joulo_pipelines.lib.dashboard.snapshot import snapshot_path
from joulo_pipelines.lib.paths import DataDir

USERS = 20
ROUNDS = 10  # each user opens every page this many times


def measure(data_dir: DataDir, users: int = USERS, rounds: int = ROUNDS, url: str | None = None) -> dict:
    """The answer times; of the API at `url` if given (it must serve `data_dir`), else of a `joulo api` started
    for the measurement."""
    partner_id, customers, pages = _pages(data_dir)
    password = secrets.token_urlsafe(24)
    with accounts.connect(data_dir) as con:
        con.execute("delete from dashboard_users where email like 'bench-%@joulo.invalid'")
        for user in range(users):
            accounts.add_user(con, partner_id, f"bench-{user}@joulo.invalid", "viewer", password, clock.now())
    with _api_process(data_dir, url) as served, ThreadPoolExecutor(users) as pool:
        timings = [t for per_user in pool.map(lambda user: _browse(served, user, password, pages, rounds),
                                              range(users))
                   for t in per_user]
    by_page: dict[str, list[float]] = {}
    for page, seconds in timings:
        by_page.setdefault(page, []).append(seconds)
    every = [seconds for _, seconds in timings]
    return {"users": users, "partner_customers": customers, "requests": len(every),
            "p95_ms": _ms(_p95(every)),
            "pages": {page: {"median_ms": _ms(statistics.median(times)), "p95_ms": _ms(_p95(times)),
                             "max_ms": _ms(max(times))} for page, times in by_page.items()}}


def _pages(data_dir: DataDir) -> tuple[str, int, dict[str, str]]:
    """The largest partner, its number of customers, and per page kind its URL."""
    with duckdb.connect(str(snapshot_path(data_dir)), read_only=True) as con:
        partner_id, customers = con.execute(
            "select partner_id, count(*) from intermediate.int_customers_latest group by all "
            "order by count(*) desc, partner_id limit 1").fetchone()
        ref, name, ean = con.execute(
            "select customer_ref, customer_name, ean from intermediate.int_customers_latest "
            "where partner_id = ? order by customer_ref limit 1 offset ?", [partner_id, customers // 2]).fetchone()
        reason = con.execute("select reason from reference.eligibility_reasons order by reason limit 1").fetchone()[0]
    base = f"/dashboard/{partner_id}"
    last_page = max(1, -(-customers // PAGE_SIZE))
    return partner_id, customers, {
        "overview": f"{base}/", "year": f"{base}/year", "customers": f"{base}/customers",
        "customers_last_page": f"{base}/customers?page={last_page}",
        "search_name": f"{base}/customers?search={(name or ref).split()[-1]}",
        "search_ean": f"{base}/customers?search={ean}",
        "filter_reason": f"{base}/customers?status=action_needed&reason={reason}",
        "statement": f"{base}/customers/{ref}", "statement_print": f"{base}/customers/{ref}/print"}


def _browse(url: str, user: int, password: str, pages: dict, rounds: int) -> list[tuple[str, float]]:
    with httpx.Client(base_url=url, timeout=600) as client:
        form = client.get("/dashboard/sign-in").text
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = client.post("/dashboard/sign-in", data={"email": f"bench-{user}@joulo.invalid",
                                                          "password": password, "csrf": token})
        if answer.status_code != 303:
            raise RuntimeError(f"bench user {user} could not sign in: HTTP {answer.status_code}")
        timings = []
        kinds = list(pages)
        for round_ in range(rounds):
            for i in range(len(kinds)):
                kind = kinds[(i + user + round_) % len(kinds)]  # users spread over the pages
                started = time.perf_counter()
                answer = client.get(pages[kind])
                timings.append((kind, time.perf_counter() - started))
                if answer.status_code != 200:
                    raise RuntimeError(f"dashboard page {kind} answered HTTP {answer.status_code}")
        return timings


class _api_process:
    """`joulo api` on a port it binds itself (port 0, read from uvicorn's "running on" line), stopped on exit
    (or the API already serving at `url`)."""

    def __init__(self, data_dir: DataDir, url: str | None):
        self.data_dir, self.url, self.process = data_dir, url, None

    def __enter__(self) -> str:
        if self.url:
            return self.url
        log = self.data_dir.root / "api" / "bench_api.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "joulo_pipelines.cli", "api", "--port", "0"],
                env={**os.environ, "JOULO_DATA_DIR": str(self.data_dir.root)},
                stdout=subprocess.DEVNULL, stderr=output)
        while self.process.poll() is None:
            bound = re.search(rb"running on http://127\.0\.0\.1:(\d+)", log.read_bytes())
            if bound:
                url = f"http://127.0.0.1:{int(bound[1])}"
                try:
                    httpx.get(f"{url}/dashboard/sign-in", timeout=5)
                    return url
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"joulo api exited with {self.process.returncode} before it answered (see {log})")

    def __exit__(self, *_exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait()


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
