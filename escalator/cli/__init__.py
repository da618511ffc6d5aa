"""The CLI process: the `escalator` command, one module per area of commands (rooms and what each may import: docs/architecture.md)."""
