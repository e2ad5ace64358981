"""Where a webhook may be sent, checked when it is registered and again at every delivery.

A partner names the URL, so a check at registration alone would let its DNS answer a public address then
and one inside our network later (DNS rebinding). Every delivery resolves the host once, refuses it unless
every address is public, and connects to the address it checked: the connection never resolves again. TLS
still verifies the certificate against the host name (SNI and Host header carry the name).

Outside development a URL must be https and its host public (`ipaddress`'s `is_global`, and no 6to4,
Teredo or NAT64 address, which would carry a private IPv4 address inside). Development and tests
(`JOULO_API_ALLOW_HTTP_WEBHOOKS=1`) also allow http and loopback receivers, nothing else private."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import certifi
import urllib3

# The certificate authorities a receiver's certificate must chain to.
CA_BUNDLE = certifi.where()
# IPv6 ranges that wrap an IPv4 address; Python 3.11 counts them as global.
_TUNNELS = [ipaddress.ip_network(n) for n in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48")]


class RefusedTarget(ValueError):
    """A webhook URL we will not send to; the message says why (for the API's 422 and the delivery log)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, for the Host header, SNI and the certificate
    port: int
    address: str  # the checked IP the connection goes to
    path: str  # path and query
    userinfo: str | None = None  # `user:password` of the URL, sent as HTTP Basic (as requests did)


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to. The one resolver of webhook targets: tests replace it."""
    return [info[4][0].split("%")[0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _refusal(address: str, allow_loopback: bool) -> str | None:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return None
    if not ip.is_global or any(ip in tunnel for tunnel in _TUNNELS):
        return f"{address}, which is not a public address"
    return None


def check(url: str, allow_http: bool) -> Target:
    """The target to connect to, or RefusedTarget. `allow_http` is development: http and loopback too."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unmatched [ of an IPv6 address
        raise RefusedTarget(f"not a valid URL: {exc}") from None
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise RefusedTarget("the URL must be https")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget(f"the URL has no valid port: {exc}") from None
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise RefusedTarget(f"host {host!r} does not resolve") from None
    if not addresses:
        raise RefusedTarget(f"host {host!r} does not resolve")
    # Every answer, not only the first: a resolver may hand out a mix and the attacker controls the order.
    for address in addresses:
        problem = _refusal(address, allow_loopback=allow_http)
        if problem:
            raise RefusedTarget(f"host {host!r} resolves to {problem}")
    path = parts.path or "/"
    userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}" if parts.username else None
    return Target(parts.scheme, host, port, addresses[0], f"{path}?{parts.query}" if parts.query else path,
                  userinfo)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the checked address (no redirects, no retries: the delivery loop retries). The status code."""
    default_port = 443 if target.scheme == "https" else 80
    name = f"[{target.host}]" if ":" in target.host else target.host  # an IPv6 literal
    host_header = name if target.port == default_port else f"{name}:{target.port}"
    if target.userinfo:
        headers = {**headers, **urllib3.make_headers(basic_auth=target.userinfo)}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                                           ca_certs=CA_BUNDLE, timeout=timeout, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    with pool:
        # Only the status counts: the receiver's body is never read, however large it is.
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "host": host_header},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        return response.status
