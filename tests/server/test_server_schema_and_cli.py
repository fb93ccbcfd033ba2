"""Migrations match the models on both databases; the CLI drives a fresh database end to end."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from server_process import REPO
from sqlalchemy import inspect

from server import migrate
from server.db import make_engine
from server.models import Base

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


def test_migrated_schema_matches_the_models(client, settings):
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_migrate_is_idempotent_and_reversible(tmp_path: Path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # second run is a no-op
    assert "journal_entries" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
        conn.commit()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def _custody(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    custody = Path(sys.executable).with_name("custody")
    return subprocess.run([str(custody), "server", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_custody_server_cli(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _custody("migrate", "--database", url).returncode == 0
    made = _custody("create-admin", "--database", url, "--username", "root", env={"CUSTODY_ADMIN_PASSWORD": "long password"})
    assert made.returncode == 0, made.stderr
    again = _custody("create-admin", "--database", url, "--username", "root", "--password", "long password")
    assert again.returncode == 1 and "taken" in again.stderr
    short = _custody("add-user", "--database", url, "--username", "x", "--role", "center_monitor", "--password", "short")
    assert short.returncode == 1 and "password" in short.stderr
    assert _custody("add-site", "--database", url, "--id", "demo-area", "--name", "Demo").returncode == 0
    no_site = _custody("add-gateway", "--database", url, "--id", "gw-x", "--site", "nowhere")
    assert no_site.returncode == 1 and "nowhere" in no_site.stderr
    gateway = _custody("add-gateway", "--database", url, "--id", "gw-demo-area", "--site", "demo-area")
    assert gateway.returncode == 0 and gateway.stdout.strip().startswith("cgw_")
    rotated = _custody("rotate-credential", "--database", url, "--id", "gw-demo-area")
    assert rotated.returncode == 0 and rotated.stdout.strip().startswith("cgw_") and rotated.stdout != gateway.stdout
    staff = _custody("add-user", "--database", url, "--username", "desk", "--role", "area_staff", "--password", "desk password")
    assert staff.returncode == 1 and "site_id is required" in staff.stderr


def _fresh_database(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    from server_databases import create_database, drop_database

    request.getfixturevalue("postgresql_url")  # skips or fails (CI) like every PostgreSQL test
    name, url = create_database("custody_race")
    request.addfinalizer(lambda: drop_database(name))
    return url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_starting_together_migrate_once(kind: str, tmp_path: Path, request: pytest.FixtureRequest):
    url = _fresh_database(kind, tmp_path, request)
    processes = [
        subprocess.Popen([sys.executable, "-m", "server", "migrate", "--database", url], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in processes]
    for p in processes:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0, 0, 0], results
    engine = make_engine(url)
    assert "journal_entries" in inspect(engine).get_table_names()
    engine.dispose()
