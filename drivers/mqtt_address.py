"""(host, port) of an MQTT broker URL; the full reading (credentials, TLS) is drivers.mqtt_link."""

from __future__ import annotations

from drivers.mqtt_link import DEFAULT_PORT, parse_mqtt_url

__all__ = ["DEFAULT_PORT", "mqtt_address"]


def mqtt_address(url: str, what: str = "MQTT URL") -> tuple[str, int]:
    """(host, port) of a broker URL; ValueError naming `what` when it is not one."""
    parsed = parse_mqtt_url(url, what)
    return parsed.host, parsed.port
