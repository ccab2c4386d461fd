"""Alembic's environment: ``llmobserve.control.migrate`` hands over an open connection."""

from __future__ import annotations

from alembic import context

from llmobserve.control._schema import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
