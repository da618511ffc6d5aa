"""The analytics room: SLOs, error budgets, time to acknowledge and restore, rework, lead time, routing and process mining (rooms and what each may import: docs/architecture.md)."""
