"""An OCPI 2.2.1 client for a partner's `cdrs` endpoint (Sender interface), on `requests`.

It fetches one page at a time, following the `Link: <...>; rel="next"` header, and retries what a
retry can fix: connection errors (also a connection dropped mid-body), timeouts, 429 (honouring
Retry-After) and 5xx. A page that still fails after the last attempt raises OcpiError; the caller
decides what that means for its cursor.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

import requests
from urllib3.util import Retry

OCPI_SUCCESS = 1000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OcpiError(RuntimeError):
    """A page that could not be fetched: the URL (without credentials) and what went wrong."""


class _Truncated(Exception):
    """A 200 whose body is not JSON: a connection closed early without a Content-Length looks like this."""


@dataclass(frozen=True)
class Page:
    url: str  # the URL this page was fetched from (the token travels in a header, never in the URL)
    body: bytes  # the response body exactly as delivered
    cdrs: list[dict]
    total_count: int | None  # X-Total-Count
    limit: int | None  # X-Limit
    next_url: str | None


def token_header(token: str) -> str:
    """OCPI 2.2.1 sends the credentials token base64-encoded: `Authorization: Token <base64(token)>`."""
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def ocpi_datetime(moment: datetime) -> str:
    """OCPI DateTime: RFC 3339 in UTC with a Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CdrsClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        page_limit: int = 100,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        self.url = url
        self.page_limit = page_limit
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": token_header(token), "Accept": "application/json"})

    def pages(self, date_from: datetime | None, date_to: datetime | None) -> Iterator[Page]:
        """Every page of CDRs whose last_updated is in [date_from, date_to), in the server's order."""
        params: dict[str, str | int] = {"offset": 0, "limit": self.page_limit}
        if date_from is not None:
            params["date_from"] = ocpi_datetime(date_from)
        if date_to is not None:
            params["date_to"] = ocpi_datetime(date_to)
        url: str | None = requests.Request("GET", self.url, params=params).prepare().url
        while url:
            page = self.fetch(url)
            yield page
            url = page.next_url

    def fetch(self, url: str) -> Page:
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.get(url, timeout=self.timeout)
                body = response.content  # a connection dropped mid-body raises here, and is retried
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
                wait = self._backoff(attempt)
            else:
                if response.status_code not in RETRY_STATUSES:
                    try:
                        return _page(url, response, body)
                    except _Truncated as exc:
                        problem = str(exc)
                        wait = self._backoff(attempt)
                else:
                    problem = f"HTTP {response.status_code}"
                    wait = self._backoff(attempt)
                    if response.status_code == 429 and "Retry-After" in response.headers:
                        wait = Retry().parse_retry_after(response.headers["Retry-After"])
            if attempt == self.attempts:
                raise OcpiError(f"GET {url}: {problem} after {self.attempts} attempts")
            self.sleep(min(wait, self.max_wait))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2 ** (attempt - 1)


def _page(url: str, response: requests.Response, body: bytes) -> Page:
    if response.status_code != 200:
        raise OcpiError(f"GET {url}: HTTP {response.status_code}: {_message(body)}")
    try:
        # Decimals, not floats: kWh go on to be booked and paid.
        envelope = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise _Truncated(f"the response is not JSON ({exc})") from None
    if not isinstance(envelope, dict) or "status_code" not in envelope:
        raise OcpiError(f"GET {url}: not an OCPI response envelope (no status_code)")
    if envelope["status_code"] != OCPI_SUCCESS:
        raise OcpiError(f"GET {url}: OCPI status_code {envelope['status_code']}: "
                        f"{envelope.get('status_message') or 'no message'}")
    data = envelope.get("data", [])
    if not isinstance(data, list):
        raise OcpiError(f"GET {url}: `data` must be a list of CDRs, got {type(data).__name__}")
    next_link = response.links.get("next", {}).get("url")
    return Page(
        url=url,
        body=body,
        cdrs=data,
        total_count=_int_header(response, "X-Total-Count"),
        limit=_int_header(response, "X-Limit"),
        next_url=requests.compat.urljoin(url, next_link) if next_link else None,
    )


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("status_message") or "no message")
    except (ValueError, AttributeError):
        return "no OCPI envelope"
