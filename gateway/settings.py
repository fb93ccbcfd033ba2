"""Settings of one gateway process (from the command line; see gateway/commands/run.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drivers.mqtt_link import MqttTls


@dataclass(frozen=True)
class GatewaySettings:
    site_path: Path
    data_dir: Path
    server_url: str | None = None
    gateway_id: str | None = None  # default: "<site id>-gw"
    credential: str | None = None  # the server's per-gateway bearer credential
    mqtt_url: str | None = None  # local outputs; None = no MQTT outputs (may hold user:password@, mqtts://)
    mqtt_tls: MqttTls | None = None  # CA file, client certificate and key for an mqtts:// broker
    desk_host: str = "127.0.0.1"
    desk_port: int | None = 8780  # None = no desk API
    desk_cert: Path | None = None  # with desk_key: the desk API serves HTTPS
    desk_key: Path | None = None
    power_loss_safe: bool = False  # synchronous=FULL: fsync the journal on every commit
    batch_max: int = 2000  # events per engine batch
    tick_interval_s: float = 0.1  # idle engine tick: how late a timer alert may be published
    health_interval_s: float = 30.0  # health journaled, uplinked and published this often
    uplink_batch_max: int = 2000
    journal_max_bytes: int = 8 * 1024**3  # over this: loud warning and a health flag, never a drop
    engine: str | None = None  # "compiled" | "reference" | None (default core)
    snapshot_every: int = 100_000  # journal entries between engine snapshots (0: never; restart replays all)
    sign_every: int = 10_000  # journal entries between signed chain heads (0: only at shutdown)
    uplink_backoff_max_s: float = 30.0  # the uplink's retry delay grows to this
