"""Everything the gateway's MQTT clients share: the broker URL, credentials, TLS, client ids, errors.

    url = parse_mqtt_url("mqtts://gw:s%40cret@10.0.0.5:8883")   # user "gw", password "s@cret"
    client = new_client(url, MqttTls(ca_file="/etc/custody/ca.pem"), unique_client_id("custody-rdr", "fx-1"))

- `mqtt://` (or `tcp://`) is clear text, default port 1883; `mqtts://` (or `ssl://`) is TLS,
  default port 8883. `user:password@` in the URL are percent-decoded and handed to the broker.
- The password is never logged and never shown: `url.safe` (and `redact(url)`) print it as `***`.
- TLS verifies the broker's certificate and host name, against `ca_file` when given (a private CA),
  else against the system's CAs; `cert_file` + `key_file` add a client certificate.
- Client ids carry a random suffix, so two gateways (or a gateway restarted while the broker still
  holds its old session) never take over each other's connection.
- `describe_connect_error` / `describe_refusal` turn socket, TLS and CONNACK failures into one line
  that says what to fix (trust, password, address).
"""

from __future__ import annotations

import secrets
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, model_validator

PLAIN_SCHEMES = ("mqtt", "tcp")
TLS_SCHEMES = ("mqtts", "ssl")
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


@dataclass(frozen=True)
class MqttUrl:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def safe(self) -> str:
        """The URL for logs, health and error messages: the password is `***`."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = ""
        if self.username is not None:
            user = self.username + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_mqtt_url(url: str, what: str = "MQTT URL") -> MqttUrl:
    """The broker URL's parts; ValueError naming `what` (and never showing the password) otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(
            f"{what} must look like mqtt://[user:password@]host:port or mqtts://..., got {redact(url)!r}: {exc}"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in PLAIN_SCHEMES + TLS_SCHEMES or not parts.hostname:
        raise ValueError(f"{what} must look like mqtt://[user:password@]host:port or mqtts://..., got {redact(url)!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{what}: a broker URL has no path, query or fragment, got {redact(url)!r}")
    tls = scheme in TLS_SCHEMES
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError(f"{what}: a password needs a user name (mqtt://user:password@host), got {redact(url)!r}")
    return MqttUrl(parts.hostname, port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT), tls, username, password)


def redact(url: str) -> str:
    """`url` with any password replaced by `***` (for text that may reach a log)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        return parts._replace(netloc=f"{user}:***@{hostport}").geturl()
    except ValueError:
        return "<unparsable URL>"


class MqttTls(BaseModel):
    """TLS material for an `mqtts://` broker (paths; relative ones are relative to the working directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = None  # PEM CA certificate(s) the broker's certificate must chain to; else the system CAs
    cert_file: Path | None = None  # PEM client certificate, for brokers that require one
    key_file: Path | None = None  # its private key (PEM, unencrypted)

    @model_validator(mode="after")
    def _files(self) -> MqttTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate needs its key)")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: no such file {str(path)!r}")
        return self

    def context(self) -> ssl.SSLContext:
        """A client context that verifies the broker's certificate and host name."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return ctx


def check_tls_wiring(url: MqttUrl, tls: MqttTls | None, what: str = "broker") -> None:
    """TLS settings for a clear-text URL would silently be ignored: refuse them."""
    if tls is not None and not url.tls and (tls.ca_file or tls.cert_file):
        raise ValueError(f"{what} is {url.safe} (clear text) but TLS files are set: use mqtts://")


def unique_client_id(prefix: str, name: str) -> str:
    """`prefix-name-<8 random hex>`: unique per process start, readable in the broker's log."""
    return f"{prefix}-{name}-{secrets.token_hex(4)}"


def new_client(url: MqttUrl, tls: MqttTls | None, client_id: str) -> Any:
    """A paho 2.x client (MQTT 3.1.1, clean session) set up with the URL's credentials and TLS."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    check_tls_wiring(url, tls)
    # paho's own Client, used only through its public API. (Measured: it receives ~7 k QoS 1
    # messages/s on this 2-core machine; a subclass that read 64 KiB at a time reached 12-20 k/s
    # but had to override paho's private _sock_recv/_packet_read, which a paho release may
    # change at any time: not worth it below the chain's other limits, docs/drivers.md.)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if url.username is not None:
        client.username_pw_set(url.username, url.password)
    if url.tls:
        client.tls_set_context((tls or MqttTls()).context())
    return client


def describe_connect_error(exc: BaseException, url: MqttUrl, tls: MqttTls | None) -> str:
    """One line saying why a connection attempt failed and what to check."""
    trust = f"CA file {tls.ca_file}" if tls is not None and tls.ca_file else "the system CAs"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{url.safe}: TLS: the broker's certificate is not trusted ({exc.verify_message}; checked against {trust})"
        )
    if isinstance(exc, ssl.SSLError):
        return f"{url.safe}: TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{url.safe}: connection refused (no broker listening there)"
    if isinstance(exc, TimeoutError):
        return f"{url.safe}: no answer (timeout)"
    return f"{url.safe}: {type(exc).__name__}: {exc}"


AUTH_REFUSALS = frozenset({"Bad user name or password", "Not authorized", "Bad username or password"})


def describe_refusal(reason_code: Any, url: MqttUrl) -> str:
    """A CONNACK refusal; bad credentials say so (without ever showing the password)."""
    text = str(reason_code)
    if text in AUTH_REFUSALS:
        who = f"user {url.username!r}" if url.username else "anonymous (no user in the URL)"
        return f"{url.safe}: the broker refused the credentials ({text}; {who})"
    return f"{url.safe}: the broker refused the connection ({text})"
