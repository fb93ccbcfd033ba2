"""The `custody` command: one entry point, subcommands imported lazily.

Each subcommand lives in its own module and exposes `add_arguments(parser)` and
`run(args) -> int`; this file only maps names to modules so that `custody --help`
stays fast and a missing optional part never breaks the others.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "replay": ("gateway.commands.replay", "run the engine over a JSON Lines event log"),
    "scenario": ("gateway.commands.scenario", "generate a realistic event log for a site"),
    "check-site": ("gateway.commands.check_site", "validate a site config and print its summary"),
    "server": ("server.cli", "the central server (run, create-admin, migrate)"),
    "gateway": ("gateway.commands.run", "run the edge gateway for one site"),
    "journal": ("gateway.commands.journal", "inspect and verify a gateway journal"),
    "demo": ("gateway.commands.demo", "a complete live handling area and property room on loopback"),
}


def _version() -> str:
    from core_ext import engine_info

    return f"custody 0.1.0 (engine: {engine_info()})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custody", description="Custody gateway and central server")
    parser.add_argument("--version", action="store_true", help="print version and which engine runs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            p.set_defaults(_missing=f"'{name}' is not available in this build ({module_name} missing)")
            continue
        module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(_version())
        return 0
    if not args.command:
        parser.print_help()
        return 2
    missing = getattr(args, "_missing", None)
    if missing:
        print(f"custody: {missing}", file=sys.stderr)
        return 2
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
