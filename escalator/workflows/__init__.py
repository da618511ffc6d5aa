"""The workflows room: one EscalationWorkflow per exception, the storm and digest workflows; deterministic, no I/O (rooms and what each may import: docs/architecture.md)."""
