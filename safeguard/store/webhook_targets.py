"""Where a webhook may point: public addresses only, unless a deployment allows more.

A webhook is a request the service makes on its own behalf, so a URL naming
loopback, a private network, link-local space (``169.254.169.254``, the cloud
metadata service) or any other special range would turn it into a probe of the
service's own network. Such targets are refused, whatever spelling names them
(``127.1``, ``0x7f000001``, ``2130706433``, an IPv6-mapped address, a name that
resolves there), when the webhook is added and again before every delivery (a
name can be re-pointed), unless ``SAFEGUARD_WEBHOOK_ALLOW_PRIVATE=1`` says the
receivers live inside. A name is resolved again when the request is made, so an
egress firewall is still the stronger guard (see the README). Credentials in a
URL are kept for delivery but never shown.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit, urlunsplit

from safeguard.errors import UsageError

ALLOW_PRIVATE_ENV = "SAFEGUARD_WEBHOOK_ALLOW_PRIVATE"


def private_targets_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV) == "1"


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or that leads to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"a webhook needs an http(s) URL, not {redacted(url)!r}")
    if allow_private:
        return
    for address in _addresses(parts.hostname):
        if not address.is_global or address.is_multicast:
            raise UsageError(
                f"webhook {redacted(url)!r} leads to {address}, which is not a public address "
                f"(set {ALLOW_PRIVATE_ENV}=1 where receivers are on a private network)"
            )


def redacted(url: str) -> str:
    """The URL with any password replaced, for display and the audit log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []  # nowhere yet: checked again, resolved, before each delivery
    return [_unmapped(ipaddress.ip_address(info[4][0].split("%")[0])) for info in found]


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return _unmapped(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:  # the shorthand forms a resolver accepts too: 127.1, 0x7f000001, 2130706433
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _unmapped(address):
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address
