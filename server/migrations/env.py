"""Alembic environment: runs on the connection handed over by server.migrate (never at import)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from server.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: no connection given and no sqlalchemy.url set")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
