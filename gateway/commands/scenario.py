"""`custody scenario`: write a generated day of events (DESIGN §6.2) as JSON Lines.

    custody scenario --site SITE.yaml [--subjects N] [--seed S] [--start ISO|ms] [--hours H]
                     [--inject RULE ...] [--scale K] [--out FILE] [--expected FILE]

Events go to standard output (or --out); a one-line summary, and the injected alerts with
their expected times, go to standard error; --expected writes those alerts as JSON Lines.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from functools import partial

from core_ext.i18n import cli_locale, gettext
from core_ext.i18n.formatting import format_ts
from core_ext.i18n.rules import rule_title
from core_ext.resources import site_argument
from core_ext.site import SiteConfigError, load_site
from gateway.scenario import INJECTABLE_RULES, ScenarioError, generate, parse_start
from gateway.scenario.route import scale_site


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, type=site_argument,
                        help="site config (YAML, DESIGN §6.1): a file, or a packaged site's name (e.g. demo-area)")
    parser.add_argument("--subjects", type=int, default=20,
                        help="subjects checked in (handling area) or cases with property (property room); default 20")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same arguments give the same bytes")
    parser.add_argument("--start", default=None,
                        help="start of the day: ISO 8601 (UTC without an offset) or ms since the epoch; "
                             "default 2026-03-02T08:00+08:00")
    parser.add_argument("--hours", type=float, default=24.0, help="length of the day in hours (default 24)")
    parser.add_argument("--inject", nargs="+", default=[], metavar="RULE",
                        help="rule ids to violate once each, or 'all' (" + ", ".join(INJECTABLE_RULES) + ")")
    parser.add_argument("--scale", type=int, default=1,
                        help="repeat every station of the site K times (benchmark-sized sites); default 1")
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    parser.add_argument("--expected", default=None, help="write the injected alerts as JSON Lines to this file")


def run(args: argparse.Namespace) -> int:
    rules = list(INJECTABLE_RULES) if "all" in args.inject else args.inject
    try:
        cfg = load_site(args.site)
        if args.scale != 1:
            cfg = scale_site(cfg, args.scale)
        start = parse_start(args.start) if args.start is not None else None
        scenario = generate(cfg, subjects=args.subjects, seed=args.seed, start_ms=start, hours=args.hours,
                            inject=rules)
    except (SiteConfigError, ScenarioError) as exc:
        print(f"custody scenario: {exc}", file=sys.stderr)
        return 2
    try:
        count = _write(scenario, args.out)
    except OSError as exc:
        print(f"custody scenario: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    # People read this summary: in the CLI's language ($CUSTODY_LOCALE / LANG, default zh-CN), times in
    # the site's zone; rule ids and epoch ms stay beside them for grepping and for --until.
    locale, zone = cli_locale(), cfg.site.timezone
    _ = partial(gettext, locale)
    print("custody scenario: " + _("%(events)d events, %(people)d people, site %(site)s, %(start)s .. %(end)s") % {
        "events": count, "people": len(scenario.people), "site": scenario.site_id,
        "start": format_ts(scenario.start_ms, zone), "end": format_ts(scenario.last_ts, zone)}, file=sys.stderr)
    for e in scenario.expected:
        line = _("expect %(rule)s %(subject)s at %(time)s (%(ts)d), %(title)s") % {
            "rule": e.rule, "subject": e.subject, "time": format_ts(e.ts, zone), "ts": e.ts,
            "title": rule_title(e.rule, locale)}
        if e.cleared_ts:
            line += _(", cleared at %(time)s (%(ts)d)") % {"time": format_ts(e.cleared_ts, zone), "ts": e.cleared_ts}
        print("  " + line, file=sys.stderr)
    if args.expected:
        with open(args.expected, "w", encoding="utf-8") as fh:
            for e in scenario.expected:
                fh.write(json.dumps({"rule": e.rule, "subject": e.subject, "ts": e.ts, "injected": e.injected,
                                     "cleared_ts": e.cleared_ts}) + "\n")
    return 0


def _write(scenario, out: str) -> int:
    """Write the log; a file is written to a temporary name and renamed when complete, so a
    failed run never leaves a truncated log behind under the requested name."""
    count = 0
    if out == "-":
        sink = sys.stdout.buffer
        for chunk in scenario.jsonl_chunks():
            sink.write(chunk)
            count += chunk.count(b"\n")
        sink.flush()
        return count
    directory = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".scenario-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in scenario.jsonl_chunks():
                fh.write(chunk)
                count += chunk.count(b"\n")
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return count
