"""The records room: every step of every exception in SQLite or PostgreSQL, its migrations, and the frames reports read (rooms and what each may import: docs/architecture.md)."""
