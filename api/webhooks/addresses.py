"""Which receiver URLs a webhook may be sent to.

The rule: an ``http`` or ``https`` URL with a host, whose host is not this server. "This server" is any address
that reaches the machine Corral runs on or its neighbours' metadata services: loopback (127.0.0.0/8, ::1, and
names such as ``localhost`` that resolve there), the unspecified address (0.0.0.0, ::, which Linux routes to
loopback) and link-local addresses (169.254.0.0/16 with the clouds' metadata endpoints, fe80::/10); and the
site's own host names (ALLOWED_HOSTS, and the host the manager is using). Every address a name resolves to is
checked, when the URL is registered and again before each delivery (a name may point elsewhere later).
WEBHOOK_ALLOW_LOOPBACK (off by default) lets loopback receivers through, for tests and one-machine setups.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

SCHEMES = ("http", "https")


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        addresses.append(mapped or address)
    return addresses


def _own_host(host: str, *, site_host: str | None) -> bool:
    patterns = [pattern for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    if site_host:
        patterns.append(split_domain_port(site_host)[0])
    return validate_host(host, patterns)


def receiver_url_problem(url: str, *, site_host: str | None = None) -> str | None:
    """Why a webhook may not be sent to ``url`` (one sentence naming the part that is wrong), or None."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        return f"The URL must start with http:// or https:// (it starts with {parts.scheme or 'no scheme'!r})."
    host = (parts.hostname or "").lower()
    if not host:
        return "The URL has no host name."
    if parts.username or parts.password:
        return "The URL must not carry a user name or password; the signature authenticates the sender."
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return "The URL's port is not a number between 0 and 65535."
    own_host = _own_host(host, site_host=site_host)
    try:
        addresses = _addresses(host, port)
    except (socket.gaierror, UnicodeError):
        if own_host:
            return f"The host {host!r} is this site itself."
        return f"The host {host!r} could not be resolved to an address."
    allow_loopback = settings.WEBHOOK_ALLOW_LOOPBACK
    for address in addresses:
        if address.is_loopback and not allow_loopback:
            return f"The host {host!r} is this server ({address} is a loopback address)."
        if address.is_unspecified:
            return f"The host {host!r} is this server ({address} is the unspecified address)."
        if address.is_link_local:
            return f"The host {host!r} is a link-local address ({address}), which stays on this server's network."
    if own_host and not (allow_loopback and all(address.is_loopback for address in addresses)):
        return f"The host {host!r} is this site itself."
    return None
