"""The local stack: the dev server, the worker and the receiver under one supervisor, and `escalator demo` (rooms and what each may import: docs/architecture.md)."""
