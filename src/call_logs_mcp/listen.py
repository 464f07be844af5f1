"""A listening TCP socket, for the HTTP server and the simulators alike: bound before serving, so
the real port of port 0 is known and a taken address is a clear error."""

from __future__ import annotations

import ipaddress
import socket

from call_logs_mcp.errors import ConfigurationError


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 maybe in brackets) means this machine only:
    `localhost`, a name under `.localhost` (RFC 6761) or a loopback address."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one.

    Raises ConfigurationError when the address cannot be bound.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({exc.strerror or 'address unavailable'})."
        ) from None
    return sock
