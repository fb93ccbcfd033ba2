"""`custody journal verify|show|status --data DIR`: inspect a gateway journal offline."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.journal import JOURNAL_FILE, Journal
from gateway.uplink import ACKED_KEY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="journal_command", metavar="SUBCOMMAND", required=True)
    verify = sub.add_parser("verify", help="recompute the hash chain; exit 1 on any edit, gap or reorder")
    verify.add_argument("--data", type=Path, required=True)
    show = sub.add_parser("show", help="print entries as JSON Lines")
    show.add_argument("--data", type=Path, required=True)
    show.add_argument("--after", type=int, default=0, help="entries after this seq")
    show.add_argument("--limit", type=int, default=100)
    status = sub.add_parser("status", help="last seq, uplink progress, size, rejected device events")
    status.add_argument("--data", type=Path, required=True)


def run(args: argparse.Namespace) -> int:
    path = args.data / JOURNAL_FILE
    if not path.is_file():
        print(f"custody journal: {path}: no journal here", file=sys.stderr)
        return 2
    journal = Journal(args.data)
    try:
        if args.journal_command == "verify":
            report = journal.verify()
            for fault in report.faults:
                print(f"{path}: {fault}", file=sys.stderr)
            if report.ok:
                print(f"{path}: {report.entries} entries, hash chain intact (last hash {journal.last_hash})")
                return 0
            print(f"{path}: {len(report.faults)} fault(s) in {report.entries} entries", file=sys.stderr)
            return 1
        if args.journal_command == "show":
            for e in journal.read_after(args.after, args.limit):
                print(f'{{"seq":{e.seq},"ts":{e.ts},"kind":"{e.kind}","hash":"{e.hash}","body":{e.body}}}')
            return 0
        acked = int(journal.get_meta(ACKED_KEY, "0") or 0)
        print(f"last seq {journal.last_seq}; uplink acknowledged up to {acked} "
              f"({journal.last_seq - acked} undelivered); {journal.size_bytes()} bytes; "
              f"{journal.count_rejected()} rejected device events")
        return 0
    finally:
        journal.close()
