"""Migrations own the per-convention record tables: no schema change

Decision (issue 15, item 9; docs/architecture.md, "Schema"): a record table's shape is
the config's (its conventions' declared columns), not the code's, so record tables
stay created and evolved at run time (`adapters/sql/conventions.py`), and the
migrations own their removal: the base revision's downgrade drops every record table,
and `ingestry db downgrade base` also drops Alembic's version table, so it leaves no
table at all. No table changes shape here; the revision keeps the history linear.

Revision ID: 20261202_130000
Revises: 20261202_120000
"""

from __future__ import annotations

revision = "20261202_130000"
down_revision = "20261202_120000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
