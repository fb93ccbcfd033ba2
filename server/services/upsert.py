"""INSERT ... ON CONFLICT DO UPDATE for the two dialects the server runs on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, replacing every non-key column of rows whose primary key exists.

    The rows must have distinct primary keys and the same columns.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        _upsert_unnest(session, table, rows)
        return
    statement = sqlite.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys and c.name in rows[0]}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _upsert_unnest(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One statement whatever the row count: each column sent as one array, unnested by the server.

    executemany sent one INSERT per row, and a multi-row VALUES is compiled anew by SQLAlchemy for
    every row count; this text is the same for every batch.
    """
    dialect = session.get_bind().dialect
    columns = [c for c in table.columns if c.name in rows[0]]
    keys = [c.name for c in table.primary_key.columns]
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in columns)
    updates = ", ".join(f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns if c.name not in keys)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    )
    session.execute(text(sql), {c.name: [row[c.name] for row in rows] for c in columns})


def insert_ignoring_duplicates(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Insert a row unless one with the same primary key or unique constraint exists."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).values(**row).on_conflict_do_nothing())
