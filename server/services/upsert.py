"""INSERT ... ON CONFLICT DO UPDATE for the two dialects the server runs on."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, replacing every non-key column of rows whose primary key exists."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys and c.name in rows[0]}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def insert_ignoring_duplicates(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Insert a row unless one with the same primary key or unique constraint exists."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).values(**row).on_conflict_do_nothing())
