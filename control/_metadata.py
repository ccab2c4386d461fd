"""The one ``MetaData`` every control table is declared on, with fixed constraint names (so
migrations name them alike on SQLite and PostgreSQL), and the column shapes the tables share."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, MetaData, String

__all__ = ["METADATA", "when", "workspace_column"]

METADATA = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def when(name: str, nullable: bool = False) -> Column[object]:
    """An aware UTC time."""
    return Column(name, DateTime(timezone=True), nullable=nullable)


def workspace_column(primary_key: bool = False) -> Column[object]:
    return Column(
        "workspace",
        String(64),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )
