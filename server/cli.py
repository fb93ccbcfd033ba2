"""`custody server ...`: run, migrate, create-admin, add-site, add-user, add-gateway."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pydantic import ValidationError

from server.settings import ServerSettings

# Live streams never end on their own; on shutdown they get this long before being cut (browsers
# reconnect to another process by themselves).
_GRACEFUL_S = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="server_command", metavar="SUBCOMMAND", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--database",
            metavar="URL",
            help="SQLAlchemy URL (default: CUSTODY_SERVER_DATABASE_URL or sqlite:///./custody-server.db)",
        )
        return p

    run = with_db(sub.add_parser("run", help="serve the API and pages (applies migrations first)"))
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="worker processes (they share state through the database)")
    run.add_argument("--log-level", default="info")

    with_db(sub.add_parser("migrate", help="apply database migrations to head"))

    admin = with_db(sub.add_parser("create-admin", help="create the first admin user"))
    admin.add_argument("--username", default="admin")
    admin.add_argument("--password", help="default: $CUSTODY_ADMIN_PASSWORD, else prompt")

    site = with_db(sub.add_parser("add-site", help="register a site (handling area or property room)"))
    site.add_argument("--id", required=True)
    site.add_argument("--name", required=True)
    site.add_argument("--kind", default="handling_area", choices=["handling_area", "property_room"])
    site.add_argument("--timezone", default="Asia/Shanghai")

    user = with_db(sub.add_parser("add-user", help="create a user with a role"))
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=["admin", "center_monitor", "area_staff", "property_custodian"])
    user.add_argument("--site", help="site id (area_staff, property_custodian)")
    user.add_argument("--password", help="default: $CUSTODY_USER_PASSWORD, else prompt")

    gateway = with_db(sub.add_parser("add-gateway", help="register a gateway for a site and print its credential"))
    gateway.add_argument("--id", required=True)
    gateway.add_argument("--site", required=True)
    gateway.add_argument("--name", default="")
    gateway.add_argument(
        "--public-key",
        metavar="FILE",
        help="the gateway's Ed25519 chain-signing key (PEM SubjectPublicKeyInfo); see docs/uplink.md",
    )

    rotate = with_db(
        sub.add_parser("rotate-credential", help="give a gateway a new credential (the old one stops working)")
    )
    rotate.add_argument("--id", required=True)


def _settings(args: argparse.Namespace) -> ServerSettings:
    overrides = {"database_url": args.database} if getattr(args, "database", None) else {}
    return ServerSettings(**overrides)


def _password(given: str | None, env_name: str) -> str:
    if given:
        return given
    if os.environ.get(env_name):
        return os.environ[env_name]
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"custody server: bad setting: {exc}", file=sys.stderr)
        return 2
    command = args.server_command
    if command == "run":
        return _run_server(args, settings)

    from server import migrate
    from server.db import make_engine, make_session_factory
    from server.security import now_ms
    from server.services.errors import Conflict, NotFound
    from server.services.gateway_trust import BadPublicKey

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    if command == "migrate":
        print(f"database at head: {engine.url.render_as_string(hide_password=True)}")
        return 0
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            if command in ("create-admin", "add-user"):
                from server.schemas.users import UserCreate
                from server.services.users import create_user

                role = "admin" if command == "create-admin" else args.role
                site = None if command == "create-admin" else args.site
                data = UserCreate(
                    username=args.username,
                    role=role,
                    site_id=site,
                    password=_password(
                        args.password,
                        "CUSTODY_ADMIN_PASSWORD" if command == "create-admin" else "CUSTODY_USER_PASSWORD",
                    ),
                )
                user = create_user(session, data, now_ms())
                print(f"created {user.role} {user.username!r} (id {user.id})")
            elif command == "add-site":
                from server.schemas.sites import SiteCreate
                from server.services.sites import create_site

                site = create_site(
                    session, SiteCreate(id=args.id, name=args.name, kind=args.kind, timezone=args.timezone), now_ms()
                )
                print(f"created site {site.id!r}")
            elif command == "add-gateway":
                from server.schemas.sites import GatewayCreate
                from server.services.sites import register_gateway

                pem = None
                if args.public_key:
                    try:
                        with open(args.public_key, encoding="ascii") as handle:
                            pem = handle.read()
                    except (OSError, UnicodeDecodeError) as exc:
                        print(
                            f"custody server add-gateway: cannot read --public-key {args.public_key}: {exc}",
                            file=sys.stderr,
                        )
                        return 1
                gateway, credential = register_gateway(
                    session, args.site, GatewayCreate(id=args.id, name=args.name, public_key_pem=pem), now_ms()
                )
                if gateway.key_id:
                    print(f"chain-signing key {gateway.key_id} registered", file=sys.stderr)
                print(
                    f"registered gateway {gateway.id!r} for site {gateway.site_id!r}; its credential (shown once):",
                    file=sys.stderr,
                )
                print(credential)
            elif command == "rotate-credential":
                from server.services.sites import rotate_credential

                gateway, credential = rotate_credential(session, args.id)
                print(
                    f"new credential for gateway {gateway.id!r} (shown once; the old one no longer works):",
                    file=sys.stderr,
                )
                print(credential)
    except (ValidationError, Conflict, NotFound, BadPublicKey) as exc:
        print(f"custody server {command}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _run_server(args: argparse.Namespace, settings: ServerSettings) -> int:
    import uvicorn

    if args.workers > 1:
        # Workers are separate processes: hand the settings over through the environment.
        os.environ["CUSTODY_SERVER_DATABASE_URL"] = settings.database_url
        from server import migrate
        from server.db import make_engine

        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
        engine.dispose()
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            timeout_graceful_shutdown=_GRACEFUL_S,
        )
        return 0
    from server.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=_GRACEFUL_S,
    )
    return 0
