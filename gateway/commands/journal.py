"""`custody journal verify|show|status --data DIR`: inspect a gateway journal offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core_ext.chain import KeyProblem, load_public_key
from gateway.journal import GATEWAY_ID_KEY, JOURNAL_FILE, Journal
from gateway.uplink import ACKED_KEY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="journal_command", metavar="SUBCOMMAND", required=True)
    verify = sub.add_parser(
        "verify",
        help="recompute the hash chain (and check its signatures); exit 1 on any edit, gap, reorder or bad signature",
    )
    verify.add_argument("--data", type=Path, required=True)
    verify.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the gateway's chain-signing key (PEM, e.g. DATA/chain-key.pub.pem as registered at "
        "the center): verify every signature entry and say how far the chain is signed",
    )
    verify.add_argument(
        "--gateway-id", help="the gateway id the signatures name (default: the one the gateway recorded in the journal)"
    )
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
            return _verify(args, journal, path)
        if args.journal_command == "show":
            for e in journal.read_after(args.after, args.limit):
                print(f'{{"seq":{e.seq},"ts":{e.ts},"kind":"{e.kind}","hash":"{e.hash}","body":{e.body}}}')
            return 0
        acked = int(journal.get_meta(ACKED_KEY, "0") or 0)
        print(
            f"last seq {journal.last_seq}; uplink acknowledged up to {acked} "
            f"({journal.last_seq - acked} undelivered); {journal.size_bytes()} bytes; "
            f"{journal.count_rejected()} rejected device events"
        )
        return 0
    finally:
        journal.close()


def _verify(args: argparse.Namespace, journal: Journal, path: Path) -> int:
    public_key = None
    gateway_id = args.gateway_id or journal.get_meta(GATEWAY_ID_KEY)
    if args.public_key is not None:
        try:
            public_key = load_public_key(args.public_key.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError, KeyProblem) as exc:
            print(f"custody journal verify: --public-key {args.public_key}: {exc}", file=sys.stderr)
            return 2
        if gateway_id is None:
            print(f"custody journal verify: {path} does not record its gateway id; pass --gateway-id", file=sys.stderr)
            return 2
    report = journal.verify(public_key=public_key, gateway_id=gateway_id)
    for fault in report.faults:
        print(f"{path}: {fault}", file=sys.stderr)
    if public_key is None:
        signed = f"{report.signatures} signature entries not checked (no --public-key)"
    elif report.covered_seq:
        signed = (
            f"{report.valid_signatures} of {report.signatures} signatures valid; entries 1-{report.covered_seq} "
            f"of {report.last_seq} covered by a valid signature"
            + (
                f", entries {report.covered_seq + 1}-{report.last_seq} not yet signed"
                if report.covered_seq < report.last_seq
                else ""
            )
        )
    else:
        signed = (
            f"{report.valid_signatures} of {report.signatures} signatures valid; no entry covered by a valid signature"
        )
    if report.ok:
        print(f"{path}: {report.entries} entries, hash chain intact (last hash {journal.last_hash}); {signed}")
        return 0
    print(f"{path}: {len(report.faults)} fault(s) in {report.entries} entries; {signed}", file=sys.stderr)
    return 1
