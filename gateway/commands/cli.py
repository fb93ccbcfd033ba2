"""The `custody` command: one entry point, subcommands imported lazily.

Each subcommand lives in its own module and exposes `add_arguments(parser)` and
`run(args) -> int`; this file only maps names to modules. Only the module of the subcommand
being run is imported (`custody replay` never loads the server, SQLAlchemy or FastAPI), and
`custody --help` imports none, so start-up stays fast and a missing optional part never breaks
the others.
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


def chosen_subcommand(argv: list[str]) -> str | None:
    """The subcommand named on a command line: its first word that is not an option (the
    top-level options take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(load: str | None = None, *, load_all: bool = False) -> argparse.ArgumentParser:
    """The whole parser; subcommand `load` (or every one with `load_all`) gets its own arguments,
    the others only their name and help."""
    parser = argparse.ArgumentParser(prog="custody", description="Custody gateway and central server")
    parser.add_argument("--version", action="store_true", help="print version and which engine runs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        if not load_all and name != load:
            continue
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
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(chosen_subcommand(argv))
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
