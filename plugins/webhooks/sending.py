"""The one HTTP request of a delivery attempt, with the SSRF guard.

The target's host is resolved once; unless the host is allowed private addresses
(``conf.allows_private``), every address it resolves to must be public (not private, loopback,
link-local, multicast, reserved or unspecified), and the connection goes to an address checked
here, so a name that resolves elsewhere between the check and the connection (DNS rebinding)
cannot steer the request inside. HTTPS verifies the certificate against the host name.
Redirects are not followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from plugins.webhooks import conf

USER_AGENT = "Academy-Webhooks/1.0"


class TargetRefused(ValueError):
    """A target URL that may not be called (scheme, host or address)."""


@dataclass(frozen=True)
class Answer:
    """What the receiver answered."""

    status: int
    body: str


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path_and_query)`` of a target URL that may be called, without
    resolving it; raise :class:`TargetRefused` with the reason otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"This is not a URL: {exc}.") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise TargetRefused("The target must be an http(s) URL with a host.")
    if parts.username or parts.password:
        raise TargetRefused("The target URL must not carry a user name or password.")
    if scheme == "http" and not conf.allows_private(host):
        raise TargetRefused("The target must use https://.")
    if not conf.allows_private(host):
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not _is_public(host):
            raise TargetRefused("The target must not be a private, loopback or reserved address.")
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise TargetRefused("The target must not be a local host name.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> str:
    """An address of ``host`` to connect to: every address it resolves to must be public
    unless the host is allowed private ones (raise :class:`TargetRefused`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"The target's host does not resolve: {exc.strerror}.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not conf.allows_private(host):
        refused = [address for address in addresses if not _is_public(address)]
        if refused:
            raise TargetRefused(f"The target's host resolves to a non-public address ({refused[0]}).")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url``; the answer's status and the start of its body. Raises
    :class:`TargetRefused` for a target that may not be called and ``OSError`` (timeouts
    included) or ``http.client.HTTPException`` when the exchange fails."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, timeout)
    try:
        connection.request(
            "POST", path, body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        excerpt = response.read(conf.RESPONSE_EXCERPT).decode("utf-8", errors="replace")
        return Answer(status=response.status, body=excerpt)
    finally:
        connection.close()
