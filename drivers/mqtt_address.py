"""The one reading of an MQTT broker URL (`mqtt://host:port` or `tcp://host:port`), shared by the
NVR drivers, their simulator and the gateway's MQTT outputs."""
from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORT = 1883


def mqtt_address(url: str, what: str = "MQTT URL") -> tuple[str, int]:
    """(host, port) of a broker URL; ValueError naming `what` when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"{what} must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or DEFAULT_PORT
