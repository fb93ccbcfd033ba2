"""`custody gateway run|add-staff`: run the edge gateway for one site; manage desk staff."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from core_ext.resources import site_argument
from core_ext.site import SiteConfigError
from drivers.config import DeviceConfigError
from drivers.mqtt_link import MqttTls, check_tls_wiring, parse_mqtt_url
from gateway.desk.staff import ROLES, StaffError, StaffStore
from gateway.journal import JournalError
from gateway.logs import setup_logging
from gateway.settings import GatewaySettings
from gateway.signing import SigningKeyError

log = logging.getLogger("gateway")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="gateway_command", metavar="SUBCOMMAND", required=True)
    run = sub.add_parser("run", help="run the gateway (devices, engine, journal, uplink, MQTT, desk API)")
    run.add_argument("--site", required=True, type=site_argument,
                     help="site YAML (DESIGN §6.1) with its devices: wiring, or a packaged site's name")
    run.add_argument("--data", type=Path, default=Path("./gateway-data"), help="data directory (journal, staff)")
    run.add_argument("--server", metavar="URL", help="central server base URL, e.g. https://center.example")
    run.add_argument("--gateway-id", help="this gateway's id at the server (default: <site id>-gw)")
    run.add_argument("--credential-file", type=Path,
                     help="file holding the gateway credential (default: $CUSTODY_GATEWAY_CREDENTIAL, "
                          "else DATA/credential if present)")
    run.add_argument("--mqtt", metavar="URL",
                     help="local MQTT broker for outputs, e.g. mqtt://127.0.0.1:1883, mqtt://user:password@host:1883 "
                          "or mqtts://user:password@host:8883 (default: $CUSTODY_MQTT_URL)")
    run.add_argument("--mqtt-ca-file", type=Path, metavar="PEM", help="CA certificate(s) the mqtts:// broker's "
                     "certificate must chain to (default: the system CAs)")
    run.add_argument("--mqtt-cert-file", type=Path, metavar="PEM", help="client certificate for the broker")
    run.add_argument("--mqtt-key-file", type=Path, metavar="PEM", help="its private key")
    run.add_argument("--desk-host", default="127.0.0.1")
    run.add_argument("--desk-port", type=int, default=8780, help="desk API port (0: no desk API)")
    run.add_argument("--desk-cert", type=Path, metavar="PEM",
                     help="serve the desk API over HTTPS with this certificate (chain); required before exposing "
                          "it beyond loopback (docs/gateway.md)")
    run.add_argument("--desk-key", type=Path, metavar="PEM", help="the private key of --desk-cert")
    run.add_argument("--power-loss-safe", action="store_true",
                     help="fsync the journal on every commit (SQLite synchronous=FULL)")
    run.add_argument("--health-interval", type=float, default=30.0, metavar="S")
    run.add_argument("--tick-interval", type=float, default=0.1, metavar="S")
    run.add_argument("--journal-max-mb", type=int, default=8192)
    run.add_argument("--engine", choices=["compiled", "reference"])
    run.add_argument("--snapshot-every", type=int, default=100_000, metavar="N",
                     help="journal entries between engine snapshots, so a restart replays only the tail "
                          "(0: never snapshot)")
    run.add_argument("--sign-every", type=int, default=10_000, metavar="N",
                     help="journal entries between signed chain heads (0: sign only at a clean shutdown)")
    run.add_argument("--uplink-backoff-max", type=float, default=30.0, metavar="S",
                     help="the longest wait between uplink retries")
    run.add_argument("--log-level", default="INFO")

    staff = sub.add_parser("add-staff", help="create a desk staff account in the data directory")
    staff.add_argument("--data", type=Path, default=Path("./gateway-data"))
    staff.add_argument("--username", required=True)
    staff.add_argument("--role", choices=ROLES, default="desk")
    staff.add_argument("--password", help="default: $CUSTODY_STAFF_PASSWORD, else prompt")
    disable_help = ("disable a desk staff account, or enable it again with --enable "
                    "(a running gateway ends its sessions at once)")
    for name, text in (("remove-staff", "delete a desk staff account (a running gateway ends its sessions at once)"),
                       ("disable-staff", disable_help)):
        change = sub.add_parser(name, help=text)
        change.add_argument("--data", type=Path, default=Path("./gateway-data"))
        change.add_argument("--username", required=True)
        if name == "disable-staff":
            change.add_argument("--enable", action="store_true", help="enable the account again")


def run(args: argparse.Namespace) -> int:
    if args.gateway_command == "add-staff":
        return _add_staff(args)
    if args.gateway_command in ("remove-staff", "disable-staff"):
        return _change_staff(args)
    setup_logging(args.log_level)
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"custody gateway: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(settings))


def _settings(args: argparse.Namespace) -> GatewaySettings:
    credential = None
    if args.credential_file is not None:
        credential = args.credential_file.read_text(encoding="utf-8").strip()
    elif os.environ.get("CUSTODY_GATEWAY_CREDENTIAL"):
        credential = os.environ["CUSTODY_GATEWAY_CREDENTIAL"].strip()
    elif (args.data / "credential").is_file():
        credential = (args.data / "credential").read_text(encoding="utf-8").strip()
    if args.server and not credential:
        raise ValueError("--server needs the gateway credential: --credential-file FILE, "
                         "$CUSTODY_GATEWAY_CREDENTIAL or DATA/credential")
    # The URL may carry a password: an environment variable keeps it out of `ps`.
    mqtt_url = args.mqtt or os.environ.get("CUSTODY_MQTT_URL") or None
    mqtt_tls = None
    if args.mqtt_ca_file or args.mqtt_cert_file or args.mqtt_key_file:
        try:
            mqtt_tls = MqttTls(ca_file=args.mqtt_ca_file, cert_file=args.mqtt_cert_file, key_file=args.mqtt_key_file)
        except ValidationError as exc:
            raise ValueError("--mqtt-ca-file/--mqtt-cert-file/--mqtt-key-file: "
                             + "; ".join(e["msg"] for e in exc.errors())) from None
    if mqtt_url:
        check_tls_wiring(parse_mqtt_url(mqtt_url, "--mqtt"), mqtt_tls, "--mqtt")
    if (args.desk_cert is None) != (args.desk_key is None):
        raise ValueError("--desk-cert and --desk-key go together")
    for flag, path in (("--desk-cert", args.desk_cert), ("--desk-key", args.desk_key)):
        if path is not None and not path.is_file():
            raise ValueError(f"{flag} {path}: no such file")
    if args.sign_every < 0:
        raise ValueError(f"--sign-every must be 0 or more, got {args.sign_every}")
    return GatewaySettings(
        site_path=args.site, data_dir=args.data, server_url=args.server, gateway_id=args.gateway_id,
        credential=credential, mqtt_url=mqtt_url, mqtt_tls=mqtt_tls, desk_host=args.desk_host,
        desk_port=args.desk_port or None, power_loss_safe=args.power_loss_safe,
        health_interval_s=args.health_interval, tick_interval_s=args.tick_interval,
        journal_max_bytes=args.journal_max_mb * 1024 * 1024, engine=args.engine,
        snapshot_every=args.snapshot_every, sign_every=args.sign_every, desk_cert=args.desk_cert,
        desk_key=args.desk_key, uplink_backoff_max_s=args.uplink_backoff_max)


async def _run(settings: GatewaySettings) -> int:
    from gateway.supervisor import Gateway, GatewayConfigError

    try:
        gateway = Gateway(settings)
        gateway.open()
    except (SiteConfigError, DeviceConfigError, GatewayConfigError, JournalError, SigningKeyError) as exc:
        print(f"custody gateway: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await gateway.run(stop)
    except Exception:
        log.exception("gateway failed")
        return 1
    return 0


def _add_staff(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("CUSTODY_STAFF_PASSWORD")
    if not password:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("custody gateway add-staff: passwords differ", file=sys.stderr)
            return 1
    try:
        StaffStore(args.data).add(args.username, password, args.role)
    except StaffError as exc:
        print(f"custody gateway add-staff: {exc}", file=sys.stderr)
        return 1
    print(f"created {args.role} account {args.username!r} in {args.data}")
    return 0


def _change_staff(args: argparse.Namespace) -> int:
    store = StaffStore(args.data)
    try:
        if args.gateway_command == "remove-staff":
            store.remove(args.username)
            done = "removed"
        else:
            store.set_disabled(args.username, not args.enable)
            done = "enabled" if args.enable else "disabled"
    except StaffError as exc:
        print(f"custody gateway {args.gateway_command}: {exc}", file=sys.stderr)
        return 1
    print(f"{done} staff account {args.username!r} in {args.data}")
    return 0
