"""The one SQLAlchemy MetaData of the core schema and the column types its tables share.

`schema.py` (core tables) and `control_schema.py` (control tables) both define their
tables on it; this module imports neither, so neither imports the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

#: Auto-increment ids: INTEGER PRIMARY KEY is SQLite's rowid alias, BIGINT on PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
