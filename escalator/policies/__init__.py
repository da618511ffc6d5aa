"""The policies room: journeys, SLOs, exception rules, owner roles, escalation, playbooks and calendars, and their loader (rooms and what each may import: docs/architecture.md)."""
