"""The receiver process: owners' answers from Slack (Events API, Socket Mode) and SMS, checked and handed to the workflows (rooms and what each may import: docs/architecture.md)."""
