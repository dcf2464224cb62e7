"""Backend-neutral SQL: the schema in SQLAlchemy Core and the type mapping."""
