"""Alembic migrations of the records schema, shipped inside the package."""
