"""The worker process: the Temporal worker with the workflows, the activities and their wiring (rooms and what each may import: docs/architecture.md)."""
