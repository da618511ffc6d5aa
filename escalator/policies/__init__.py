"""Policy models (journeys, SLOs, rules, roles, escalation, playbooks, calendars) and their loader."""
