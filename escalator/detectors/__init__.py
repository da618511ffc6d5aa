"""The detectors room: event logs read, checked and judged against the exception rules, and breaches predicted (rooms and what each may import: docs/architecture.md)."""
