"""Supervision figures benchmark; prints figures, never passes or fails on time.

  .venv/bin/python bench/stats.py [--database URL] [--sites 1000] [--days 30] [--subjects 30]
                                  [--alerts 6] [--runs 5]

Generates `sites` sites × `days` days of supervision data straight into PostgreSQL with bulk SQL
(generate_series, no per-row Python): per site and day `subjects` check-ins and check-outs with
their trails (a tenth not closed, some unrecorded time), a temporary exit every fifth subject,
intakes and withdraw orders, and `alerts` alerts over every rule, two thirds of them acknowledged;
and the per-day sums (stats_daily) the ingest keeps beside them.
Then times GET /api/v1/stats the way the route runs it (server/services/stats.py, one session):
the whole window for every site (the 30-day, all-sites figure the brief targets at under 1 s),
the same with group_by=day, one site, and one site by officer.

Without --database it creates a throw-away database on 127.0.0.1:5432 and drops it afterwards.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core_ext import vocab
from server import migrate
from server.db import make_engine, make_session_factory
from server.models import User
from server.services.stats import stats

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
START = 1_772_380_800_000  # 2026-03-02 00:00 in Beijing
DAY_MS = 86_400_000


def fresh_database() -> tuple[str, str]:
    name = f"custody_bench_stats_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate(conn, sites: int, days: int, subjects: int, alerts: int) -> dict[str, int]:
    """Every row by INSERT ... SELECT over generate_series: the database does the work."""
    p = {"sites": sites, "days": days, "subjects": subjects, "alerts": alerts, "start": START, "day": DAY_MS,
         "rules": list(vocab.RULES), "nrules": len(vocab.RULES)}
    conn.execute(text("""
        INSERT INTO sites (id, name, kind, timezone, lockers, doors, created_ts, live_version)
        SELECT 'site-' || lpad(s::text, 4, '0'), '办案区 ' || s, 'handling_area', 'Asia/Shanghai', '[]', '[]', :start, 0
        FROM generate_series(1, :sites) s
    """), p)
    conn.execute(text("""
        INSERT INTO gateways (id, site_id, name, credential_hash, last_seq, active, created_ts)
        SELECT 'gw-' || lpad(s::text, 4, '0'), 'site-' || lpad(s::text, 4, '0'), '', md5(s::text) || md5('x' || s), 0, true, :start
        FROM generate_series(1, :sites) s
    """), p)
    # One subject k of day d at site s: checked in at 08:00 + k * 15 min, out 3 h later.
    conn.execute(text("""
        INSERT INTO stats_facts (gateway_id, seq, site_id, ts, fact, subject)
        SELECT 'gw-' || lpad(s::text, 4, '0'), (d * :subjects + k) * 8 + f.n,
               'site-' || lpad(s::text, 4, '0'),
               :start + d::bigint * :day + 28800000 + k * 900000 + f.offset_ms, f.fact, 'sub-' || d || '-' || k
        FROM generate_series(1, :sites) s, generate_series(0, :days - 1) d, generate_series(0, :subjects - 1) k,
             (VALUES (0, 'checkin', 0), (1, 'checkout', 10800000), (2, 'leave', 3600000),
                     (3, 'intake', 600000), (4, 'withdraw', 7200000)) AS f(n, fact, offset_ms)
        WHERE f.n < 2 OR (f.n = 2 AND k % 5 = 0) OR (f.n >= 3 AND k % 3 = 0)
    """), p)
    conn.execute(text("""
        INSERT INTO stats_trails (site_id, person, checkout_ts, checkin_ts, closed, recording_ms, unrecorded_ms,
                                  steps_missing, officers)
        SELECT 'site-' || lpad(s::text, 4, '0'), 'sub-' || d || '-' || k,
               :start + d::bigint * :day + 28800000 + k * 900000 + 10800000, :start + d::bigint * :day + 28800000 + k * 900000,
               k % 10 <> 0, 10800000, CASE WHEN k % 10 = 0 THEN 60000 ELSE 0 END, 0,
               json_build_array('off-' || (k % 7), 'off-' || ((k + 3) % 7))
        FROM generate_series(1, :sites) s, generate_series(0, :days - 1) d, generate_series(0, :subjects - 1) k
    """), p)
    conn.execute(text("""
        INSERT INTO alerts (site_id, rule, subject, zone, severity, detail, raised_ts, cleared_ts, status,
                            acknowledged_by, acknowledged_ts, gateway_id, raised_seq)
        SELECT 'site-' || lpad(s::text, 4, '0'), (CAST(:rules AS text[]))[1 + ((a + d * 7 + s) % :nrules)],
               'sub-' || d || '-' || a, 'int1', 'high', '{}',
               :start + d::bigint * :day + 32400000 + a * 1800000, :start + d::bigint * :day + 32400000 + a * 1800000 + 90000,
               CASE a % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
               CASE WHEN a % 3 > 0 THEN 'monitor' END,
               CASE WHEN a % 3 > 0 THEN :start + d::bigint * :day + 32400000 + a * 1800000 + 60000 + (s * 7919 + a * 104729) % 900000 END,
               'gw-' || lpad(s::text, 4, '0'), d * 100 + a
        FROM generate_series(1, :sites) s, generate_series(0, :days - 1) d, generate_series(0, :alerts - 1) a
    """), p)
    # The day sums the ingest keeps (server/services/stats_record.py), here in one pass per table;
    # every generated site is in Beijing time (UTC+8 all year).
    conn.execute(text("""
        INSERT INTO stats_daily (site_id, day, checkin, checkout, leave, intake, withdraw, trails, closed,
                                 recording_ms, unrecorded_ms)
        SELECT COALESCE(f.site_id, t.site_id), COALESCE(f.day, t.day), COALESCE(checkin, 0), COALESCE(checkout, 0),
               COALESCE(leave, 0), COALESCE(intake, 0), COALESCE(withdraw, 0), COALESCE(trails, 0),
               COALESCE(closed, 0), COALESCE(recording, 0), COALESCE(unrecorded, 0)
        FROM (SELECT site_id, (ts + 28800000) / 86400000 AS day,
                     count(*) FILTER (WHERE fact = 'checkin') AS checkin, count(*) FILTER (WHERE fact = 'checkout') AS checkout,
                     count(*) FILTER (WHERE fact = 'leave') AS leave, count(*) FILTER (WHERE fact = 'intake') AS intake,
                     count(*) FILTER (WHERE fact = 'withdraw') AS withdraw
              FROM stats_facts GROUP BY 1, 2) f
        FULL JOIN (SELECT site_id, (checkout_ts + 28800000) / 86400000 AS day, count(*) AS trails,
                          sum(CASE WHEN closed THEN 1 ELSE 0 END) AS closed, sum(recording_ms) AS recording,
                          sum(unrecorded_ms) AS unrecorded
                   FROM stats_trails GROUP BY 1, 2) t ON f.site_id = t.site_id AND f.day = t.day
    """))
    counts = {}
    for table in ("stats_facts", "stats_trails", "stats_daily", "alerts"):
        counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return counts


def timed(sessions, user: User, runs: int, **kwargs) -> tuple[list[float], dict]:
    times, body = [], {}
    for _ in range(runs):
        with sessions() as session:
            t = time.perf_counter()
            body = stats(session, user, now=START + 400 * DAY_MS, **kwargs)
            times.append(time.perf_counter() - t)
    return times, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="PostgreSQL URL (default: a throw-away database on 127.0.0.1)")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--subjects", type=int, default=30, help="check-ins per site and day")
    parser.add_argument("--alerts", type=int, default=6, help="alerts per site and day")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    dropped, url = (None, args.database) if args.database else fresh_database()
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            counts = generate(conn, args.sites, args.days, args.subjects, args.alerts)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        print(f"generated {args.sites} sites x {args.days} days in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
        admin = User(id=0, username="bench", role="admin", site_id=None)
        lo, hi = START, START + args.days * DAY_MS

        def report(label: str, **kwargs) -> dict:
            times, body = timed(sessions, admin, args.runs, **kwargs)
            print(f"{label}: median {1000 * statistics.median(times):.0f} ms, best {1000 * min(times):.0f} ms, "
                  f"worst {1000 * max(times):.0f} ms over {len(times)} runs ({len(body['sites'])} rows)")
            return body

        body = report(f"stats, {args.days} days, all {args.sites} sites", lo=lo, hi=hi)
        totals = body["totals"]
        print(f"  totals: {totals['subjects_checked_in']:,} in, {totals['subjects_checked_out']:,} out, "
              f"closed-loop rate {totals['closed_loop_rate']:.3f}, recorded {totals['recorded_ratio']:.5f}, "
              f"{totals['alerts_raised']:,} alerts, {totals['alerts_unhandled']:,} unhandled")
        report(f"stats, {args.days} days, all sites, group_by=day", lo=lo, hi=hi, group_by="day")
        report(f"stats, {args.days} days, one site", lo=lo, hi=hi, site_id="site-0001")
        report(f"stats, {args.days} days, one site, group_by=officer", lo=lo, hi=hi, site_id="site-0001",
               group_by="officer")
        report("stats, 1 day, all sites", lo=lo, hi=lo + DAY_MS)
    finally:
        engine.dispose()
        if dropped:
            drop_database(dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
