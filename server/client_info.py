"""Who is asking, through which scheme: believed from X-Forwarded-* only when a trusted proxy says so."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from fastapi import Request


@lru_cache(maxsize=64)
def _networks(trusted: tuple[str, ...]) -> tuple[list, frozenset[str]]:
    networks, names = [], set()
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)  # a host name as the ASGI server reports it (e.g. a unix socket peer)
    return networks, frozenset(names)


def is_trusted_proxy(host: str | None, trusted: list[str]) -> bool:
    if not host:
        return False
    networks, names = _networks(tuple(trusted))
    if host in names:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_is_https(request: Request) -> bool:
    """The request came over HTTPS: directly, or to a trusted proxy that says so (X-Forwarded-Proto)."""
    if request.url.scheme == "https":
        return True
    if is_trusted_proxy(_peer(request), request.app.state.settings.trusted_proxies):
        forwarded = request.headers.get("x-forwarded-proto", "")
        return forwarded.split(",")[0].strip().lower() == "https"
    return False


def client_address(request: Request) -> str:
    """The client's address: the peer, or, behind trusted proxies, the last untrusted X-Forwarded-For hop."""
    peer = _peer(request) or "unknown"
    trusted = request.app.state.settings.trusted_proxies
    if not is_trusted_proxy(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(hop, trusted):
            return hop[:64]
    return peer
