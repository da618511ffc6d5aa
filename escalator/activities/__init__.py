"""The activities room: the workflows' side effects (delivery to Slack, SMS and voice, routing facts, records, playbook steps) (rooms and what each may import: docs/architecture.md)."""
