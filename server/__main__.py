"""`python -m server ...`: the same as `custody server ...` without the gateway's CLI around it."""

from __future__ import annotations

import argparse
import sys

from server import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description="the central custody server")
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
