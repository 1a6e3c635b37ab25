"""The dashboard's gate: requests must name this server (Host) and come from its own pages
(Origin), and the server's internals are not shown.

A server on 127.0.0.1 is reachable from any web page the teacher's browser opens: a page on
another site can make its own host name resolve to 127.0.0.1 (DNS rebinding) or open a
WebSocket to 127.0.0.1 directly, and Solara's server accepts any ``Host`` and any ``Origin``.
This ASGI middleware answers 403 to an HTTP request or WebSocket handshake whose ``Host`` is not
one of the allowed names, or whose ``Origin`` (when the browser sends one) is not, and 404 to
``/resourcez`` (Solara's counters of threads, kernels and sessions).

References:
    OWASP, "DNS rebinding"; RFC 6455 section 10.2 (WebSocket origin considerations).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

#: Paths that are not served (server internals).
HIDDEN_PATHS = frozenset({"/resourcez"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})


def hostname(value: str) -> str:
    """The host name of a ``Host`` header or an origin's netloc, lower case, without the port.

    Examples:
        >>> hostname("127.0.0.1:8765"), hostname("[::1]:80"), hostname("LocalHost.")
        ('127.0.0.1', '::1', 'localhost')
    """
    value = value.strip().lower()
    if value.startswith("["):  # [IPv6]:port
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":")[0]
    return value.rstrip(".")


def allowed_hosts(host: str) -> frozenset[str]:
    """The names a browser may use for a dashboard listening on ``host`` (``--host``): the
    loopback names and ``host`` itself; for 0.0.0.0 or :: also this machine's names."""
    names = set(LOOPBACK_NAMES) | {hostname(host)}
    if host in WILDCARD:
        for name in (socket.gethostname(), socket.getfqdn()):
            names.add(hostname(name))
    names.discard("")
    return frozenset(names)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostOriginGuard:
    """ASGI middleware: 403 for a foreign Host or Origin, 404 for hidden paths.

    Args:
        app: the ASGI application to protect.
        hosts: the allowed host names (see :func:`allowed_hosts`).
        any_ip: also allow any IP address as Host/Origin (a server on 0.0.0.0, reached by the
            machine's address; an address cannot be rebound, a name can).
    """

    def __init__(self, app: Callable[..., Awaitable[None]], hosts: Iterable[str],
                 any_ip: bool = False) -> None:
        self.app = app
        self.hosts = frozenset(hostname(h) for h in hosts)
        self.any_ip = any_ip

    def allowed(self, name: str) -> bool:
        """Whether a host name (from Host or Origin) names this server."""
        return name in self.hosts or (self.any_ip and _is_ip(name))

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        """(status, reason) when the request is refused, else None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = hostname(headers.get("host", ""))
        if not self.allowed(host):
            return 403, f"Host {host!r} is not this dashboard's address"
        origin = headers.get("origin")
        if origin is not None:
            name = hostname(urlsplit(origin).netloc) if "://" in origin else ""
            if not self.allowed(name):
                return 403, f"Origin {origin!r} is not this dashboard"
        if scope.get("path", "") in HIDDEN_PATHS:
            return 404, "Not Found"
        return None

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, reason = refused
        if scope["type"] == "websocket":
            # closing before accepting makes the server answer the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (reason + "\n").encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def install(host: str) -> frozenset[str]:
    """Put the guard in front of Solara's Starlette app (before the server starts); returns
    the allowed host names."""
    import solara.server.starlette as solara_app

    hosts = allowed_hosts(host)
    solara_app.app.add_middleware(HostOriginGuard, hosts=hosts, any_ip=host in WILDCARD)
    return hosts
